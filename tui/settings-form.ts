// The Configure screen as an admin reads it: a domain's settings in sections, each with a
// label in plain words and its dotted key shown small; lists and folder maps as items; the
// format a refused value should have, in words. Pure: tested without a terminal.

export type FieldKind = "bool" | "enum" | "class" | "text" | "list" | "map";

export interface FormField {
  key: string;
  label: string;
  kind: FieldKind;
  choices?: string[];
  /** Shown only while another setting has one of these values (the settings of one auth mode, of one provider). */
  when?: { key: string; is: string[] };
}

export interface FormSection {
  title: string;
  fields: FormField[];
}

const f = (key: string, label: string, kind: FieldKind = "text", choices?: string[]): FormField => ({ key, label, kind, ...(choices ? { choices } : {}) });
/** A field shown only while `key` is one of `is`. */
const only = (key: string, is: string[], field: FormField): FormField => ({ ...field, when: { key, is } });
const MODE = "migration.old.auth.mode";
const PROVIDER = "migration.old.auth.provider";

/** The sections and fields of a domain's Configure screen, in order. */
export const FORM: FormSection[] = [
  {
    title: "Migration",
    fields: [
      f("migration.enabled", "Migrate at login", "bool"),
      f("migration.continuous", "Continuous (every later login)", "bool"),
      f("migration.parallelFolders", "Folders copied in parallel"),
    ],
  },
  {
    title: "Old server",
    fields: [
      f("migration.old.host", "IMAP host"),
      f("migration.old.imapPort", "IMAP port"),
      f("migration.old.imapTls", "IMAP TLS", "enum", ["none", "starttls", "implicit"]),
      f("migration.old.tlsVerify", "Check its certificate", "bool"),
      f("migration.old.smtpHost", "SMTP host"),
      f("migration.old.smtpPort", "SMTP port"),
      f("migration.old.login", "Login name there"),
      f("migration.old.profile", "Kind of server", "enum", ["generic", "exchange", "gmail"]),
      f("migration.old.maxConnectionsPerUser", "Connections per mailbox at most"),
      f("migration.old.maxBytesPerSec", "Bandwidth cap (bytes/s, all jobs)"),
      f("migration.old.dailyDownloadMB", "Daily download per user (MB)"),
      f("migration.old.auth.mode", "Log in with", "enum", ["master", "captured", "csv", "oauth2"]),
      only(MODE, ["master"], f("migration.old.auth.user", "Master user")),
      only(MODE, ["master"], f("migration.old.auth.passwordFile", "Master password file")),
      only(MODE, ["master"], f("migration.old.auth.method", "Master login method", "enum", ["authzid", "separator"])),
      only(MODE, ["master"], f("migration.old.auth.separator", "Master login separator")),
      only(MODE, ["oauth2"], f("migration.old.auth.provider", "OAuth2 provider", "enum", ["microsoft", "google", "command"])),
      only(PROVIDER, ["microsoft"], f("migration.old.auth.tenant", "Microsoft tenant")),
      only(PROVIDER, ["microsoft"], f("migration.old.auth.clientId", "Microsoft app (client) id")),
      only(PROVIDER, ["microsoft"], f("migration.old.auth.clientSecretFile", "Microsoft client secret file")),
      only(PROVIDER, ["microsoft"], f("migration.old.auth.certificateFile", "Microsoft app certificate file")),
      only(PROVIDER, ["microsoft"], f("migration.old.auth.keyFile", "Microsoft certificate key file")),
      only(PROVIDER, ["google"], f("migration.old.auth.serviceAccountKeyFile", "Google service account key file")),
      only(PROVIDER, ["command"], f("migration.old.auth.command", "Token command and arguments", "list")),
      only(MODE, ["oauth2"], f("migration.old.auth.scope", "OAuth2 scope")),
      only(MODE, ["oauth2"], f("migration.old.auth.tokenUrl", "OAuth2 token URL")),
      only(MODE, ["oauth2"], f("migration.old.auth.timeoutSec", "Token time limit (seconds)")),
    ],
  },
  {
    title: "Accounts",
    fields: [
      f("migration.accountClass", "Class of new accounts", "class"),
      f("migration.premiumByLicense", "Premium while seats are free", "bool"),
    ],
  },
  {
    title: "Folders",
    fields: [
      f("migration.folders.separatorReplacement", "Replace \"/\" in names with"),
      f("migration.folders.exclude", "Folders not copied", "list"),
      f("migration.folders.rename", "Folders renamed", "map"),
      f("migration.folders.includeAll", "Copy an \"all mail\" folder too", "bool"),
    ],
  },
  {
    title: "External application",
    fields: [
      f("migration.pim.mode", "Run per user", "enum", ["none", "command"]),
      f("migration.pim.command", "Command and arguments", "list"),
      f("migration.pim.timeoutSec", "Time limit (seconds)"),
      f("migration.pim.everyPass", "Run on every pass", "bool"),
    ],
  },
  {
    title: "LDAP",
    fields: [
      f("ldap.sync", "Accounts synced from LDAP", "bool"),
      f("ldap.authCreate", "First login checked in LDAP", "bool"),
      f("ldap.url", "Server URL"),
      f("ldap.startTls", "StartTLS", "bool"),
      f("ldap.tlsVerify", "Check its certificate", "bool"),
      f("ldap.caFile", "CA file"),
      f("ldap.bindDn", "Bind DN"),
      f("ldap.bindPasswordFile", "Bind password file"),
      f("ldap.baseDn", "Search base DN"),
      f("ldap.filter", "Search filter"),
      f("ldap.timeoutSec", "Time limit (seconds)"),
    ],
  },
];

export const FORM_FIELDS: FormField[] = FORM.flatMap((s) => s.fields);

/** One row of the form: a section's title, or a field. */
export type FormRow = { section: string } | { field: FormField };

export const FORM_ROWS: FormRow[] = FORM.flatMap((s) => [{ section: s.title }, ...s.fields.map((field) => ({ field }))]);

/** The rows shown for these values: a field whose `when` does not hold is left out (another auth mode's settings). */
export function formRows(get: (key: string) => unknown): FormRow[] {
  return FORM_ROWS.filter((r) => !("field" in r) || !r.field.when || r.field.when.is.includes(String(get(r.field.when.key))));
}

/** An item of a folder map: "old → new". */
const ARROW = " → ";

/** The items a list or map field holds (a map's as "old → new"). */
export function itemsOf(value: unknown, kind: "list" | "map"): string[] {
  if (kind === "list") return Array.isArray(value) ? value.map(String) : [];
  return value && typeof value === "object" ? Object.entries(value as Record<string, string>).map(([k, v]) => `${k}${ARROW}${v}`) : [];
}

/** A map item split into its two names; undefined when it has no arrow. */
export function splitMapItem(item: string): [string, string] | undefined {
  const i = item.indexOf(ARROW);
  return i < 0 ? undefined : [item.slice(0, i), item.slice(i + ARROW.length)];
}

export function mapItem(from: string, to: string): string {
  return `${from}${ARROW}${to}`;
}

/** The value a list or map field is set to from its items (JSON, as `domain set` takes it). */
export function valueFromItems(items: string[], kind: "list" | "map"): string {
  if (kind === "list") return JSON.stringify(items);
  return JSON.stringify(Object.fromEntries(items.map((i) => splitMapItem(i) ?? [i, i])));
}

/** A value as the form shows it: lists as "a, b", maps as "a → b, c → d", unset as "(not set)". */
export function valueText(value: unknown, kind: FieldKind): string {
  if (value === undefined) return "(not set)";
  if (kind === "list" || kind === "map") {
    const items = itemsOf(value, kind);
    return items.length ? items.join(", ") : "(none)";
  }
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The accepted values (settings help's "true|false", "number", "a|b|c", "JSON list") in words. */
export function expectedText(values: string | undefined): string {
  if (!values || values === "text") return "";
  if (values === "true|false") return "true or false";
  if (values === "number") return "a number";
  if (values === "JSON list") return "a list";
  if (values === "JSON object") return "old folder → new folder pairs";
  return `one of ${values.split("|").join(", ")}`;
}

const LABEL = 30;

/**
 * The form's rows fitted to `width` columns, as blessed-tagged text: a section's title, or
 * "label  value  key" with the key dimmed at the right when there is room for it.
 */
export function formLines(get: (key: string) => unknown, width: number): string[] {
  const esc = (t: string) => t.replace(/[{}]/g, (c) => (c === "{" ? "{open}" : "{close}"));
  return formRows(get).map((r) => {
    if ("section" in r) return `{bold}── ${esc(r.section)} ${"─".repeat(Math.max(0, Math.min(40, width) - r.section.length - 4))}{/bold}`;
    const { field } = r;
    const label = `  ${field.label}`.padEnd(LABEL + 2);
    const room = width - label.length - 1;
    const keyRoom = field.key.length + 2;
    const withKey = room - keyRoom >= 16;
    const valueRoom = withKey ? room - keyRoom : room;
    let value = valueText(get(field.key), field.kind);
    if (value.length > valueRoom) value = `${value.slice(0, Math.max(0, valueRoom - 1))}…`;
    return `${esc(label)} ${esc(value.padEnd(valueRoom))}${withKey ? `  {gray-fg}${esc(field.key)}{/gray-fg}` : ""}`;
  });
}
