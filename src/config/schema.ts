// config.json, schema version 1 (DESIGN.md "Settings"). The single source of truth for what
// an admin may set; the CLI, the TUI and the daemon all validate through it.
import { NOTICE_PLACEHOLDERS, templateProblem, type NoticeKind } from "../migrate/notices.ts";
import { validate as validCron } from "node-cron";
import { z } from "zod";
import { patternProblem } from "../events/login-event.ts";
import { refuseControlCharacters } from "./plain-text.ts";
import { ownRecord } from "../own-record.ts";
import { DEFAULT_CATCH_UP, parseDelay } from "../queue/catch-up.ts";
import { PROFILE_NAMES } from "../migrate/source-profiles.ts";
import { postgresUrlIssue } from "../storage/postgres-url.ts";

const cronExpression = z.string().refine((v) => validCron(v), { error: (i) => `${JSON.stringify(i.input)} is not a cron expression (e.g. "0 2 * * *" for 02:00 daily)` });

export const CONFIG_VERSION = 1;

export const port = z
  .number({ error: (i) => `${JSON.stringify(i.input)} is not a port (1-65535)` })
  .int({ error: (i) => `${JSON.stringify(i.input)} is not a port (1-65535)` })
  .min(1, { error: (i) => `${i.input} is not a port (1-65535)` })
  .max(65535, { error: (i) => `${i.input} is not a port (1-65535)` });

export const tlsMode = z.enum(["none", "starttls", "implicit"], {
  error: (i) => `${JSON.stringify(i.input)} is not a TLS mode (none, starttls, implicit)`,
});
export type TlsMode = z.infer<typeof tlsMode>;

const hostname = z
  .string()
  .min(1, "must not be empty")
  .regex(/^[A-Za-z0-9.:_\-\[\]]+$/, "is not a host name or IP address");

const absolutePath = z.string().regex(/^\/[^\x00-\x1f\x7f]*$/, "must be an absolute file path");

/**
 * OAuth2 admin access (SASL OAUTHBEARER or XOAUTH2) for a server that offers no master user:
 * microsoft (an app registration, client-credentials grant, one token for every mailbox),
 * google (a service account with domain-wide delegation, one token per user), or command
 * (any other identity provider: an argv that prints a token for {user}).
 */
export const oauth2Auth = z
  .strictObject({
    mode: z.literal("oauth2"),
    provider: z.enum(["microsoft", "google", "command"], { error: (i) => (i.input === undefined ? "required: microsoft, google or command" : `${JSON.stringify(i.input)} is not an OAuth2 provider (microsoft, google, command)`) }).describe("oauth2: microsoft (app registration, client credentials), google (service account, domain-wide delegation) or command (an argv that prints a token)"),
    tenant: z.string().regex(/^[A-Za-z0-9.-]{1,128}$/, "is not a tenant (its domain, e.g. contoso.onmicrosoft.com, or its id)").optional().describe("provider=microsoft: the directory (tenant) id or domain"),
    clientId: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, "is not an application (client) id").optional().describe("provider=microsoft: the app registration's application (client) id"),
    clientSecretFile: absolutePath.optional().describe("provider=microsoft: file holding the client secret (one line, readable by automigrate only); or certificateFile + keyFile"),
    certificateFile: absolutePath.optional().describe("provider=microsoft: the app's certificate (PEM), for a signed client assertion (what Microsoft recommends over a secret)"),
    keyFile: absolutePath.optional().describe("provider=microsoft: the certificate's private key (PEM, readable by automigrate only)"),
    serviceAccountKeyFile: absolutePath.optional().describe("provider=google: the service account's JSON key file, as Google issues it"),
    scope: z.string().regex(/^[\x21-\x7e]+( [\x21-\x7e]+)*$/, "is not an OAuth2 scope").optional().describe("the scope asked for (default https://outlook.office365.com/.default for microsoft, https://mail.google.com/ for google)"),
    tokenUrl: z.url({ protocol: /^https?$/, error: "is not an http(s) URL" }).optional().describe("the token endpoint (default: Microsoft's login.microsoftonline.com for the tenant, or the key file's token_uri); override for national clouds and tests"),
    command: z.array(z.string().min(1)).min(1).optional().describe('provider=command: its argv, JSON list, no shell; {user}, {localpart} and {domain} are replaced; it prints the access token (or {"access_token","expires_in"}) on stdout'),
    timeoutSec: z.number().int().min(1).max(300).default(30).describe("seconds allowed to the token endpoint or command"),
  })
  .superRefine((v, ctx) => {
    const need = (key: keyof typeof v, example: string) => {
      if (v[key] === undefined) ctx.addIssue({ code: "custom", path: [key], message: `provider ${v.provider} needs ${key}, e.g. ${example}` });
    };
    if (v.provider === "microsoft") {
      need("tenant", "contoso.onmicrosoft.com");
      need("clientId", "the app registration's application id");
      const cert = v.certificateFile !== undefined || v.keyFile !== undefined;
      if (cert) {
        need("certificateFile", "/etc/automigrate/app-cert.pem");
        need("keyFile", "/etc/automigrate/app-key.pem");
      } else need("clientSecretFile", "/etc/automigrate/client-secret (or certificateFile + keyFile)");
      if (cert && v.clientSecretFile !== undefined) ctx.addIssue({ code: "custom", path: ["clientSecretFile"], message: "set either clientSecretFile or certificateFile + keyFile, not both" });
    } else if (v.provider === "google") need("serviceAccountKeyFile", "/etc/automigrate/service-account.json");
    else need("command", '["/usr/local/bin/get-token","{user}"]');
  });
export type OAuth2Auth = z.infer<typeof oauth2Auth>;

/**
 * How automigrate authenticates on a server for a given user.
 * master: one admin identity acting for every user, as "user*master" (separator) or SASL PLAIN authzid.
 * captured: the user's own password, captured at first login (vault).
 * csv: passwords imported with import-users (vault).
 * oauth2: an access token from an identity provider (no master user: Microsoft 365, Google).
 */
export const serverAuth = z.discriminatedUnion("mode", [
  z.strictObject({
    mode: z.literal("master").describe("master: one admin identity acts for every user; captured: the user's password captured at the first login; csv: passwords imported with import-users; oauth2: a token from an identity provider (Microsoft 365, Google)"),
    user: z.string().min(1, "must not be empty").describe("the master (admin) user name"),
    passwordFile: z.string().min(1, "must not be empty").describe("file holding the master password (one line, readable by automigrate only)"),
    method: z.enum(["authzid", "separator"]).default("authzid").describe("authzid: SASL PLAIN with the user as authorisation identity (Dovecot, Cyrus); separator: the login \"user<separator>master\" (Dovecot's auth_master_user_separator)"),
    separator: z.string().min(1).max(4).default("*").describe("the separator for method=separator"),
  }),
  z.strictObject({ mode: z.literal("captured") }),
  z.strictObject({ mode: z.literal("csv") }),
  oauth2Auth,
]);
export type ServerAuth = z.infer<typeof serverAuth>;

/** Whether a way of logging in uses users' own passwords (captured or imported, in the vault). */
export function usesUserPasswords(auth: ServerAuth | undefined): boolean {
  return auth?.mode === "captured" || auth?.mode === "csv";
}

/**
 * The login name on a server for an address: {user} (the whole address), {localpart} or
 * {domain}, e.g. "{localpart}" for a Cyrus or Courier whose logins are bare names.
 */
export const loginTemplate = z
  .string()
  .min(1, "must not be empty")
  .max(200)
  .refine((s) => /\{(user|localpart)\}/.test(s), "must contain {user} or {localpart} (e.g. {localpart} for bare login names)")
  .refine((s) => !/[\s\x00-\x1f\x7f"\\]/.test(s), "must not contain spaces, quotes, backslashes or control characters")
  .refine((s) => !/\{(?!user\}|localpart\}|domain\})[^}]*\}/.test(s), "knows only the placeholders {user}, {localpart} and {domain}");

export const targetSchema = z.strictObject({
  host: hostname.default("127.0.0.1").describe("the new server's IMAP host name or IP address"),
  port: port.optional().describe("its IMAP port (default 143, or 993 with tls=implicit)"),
  tls: tlsMode.default("starttls").describe("none, starttls or implicit (port 993)"),
  tlsVerify: z.boolean().default(true).describe("check the server's certificate; false only for a self-signed server on a trusted network"),
  auth: serverAuth.optional(),
  /** The login name on the new server, when it is not the address. */
  login: loginTemplate.default("{user}").describe("the login name on the new server: {user} (the address), {localpart} or {domain}"),
});

export const oldServerSchema = z.strictObject({
  host: hostname.optional().describe("the old server's IMAP host name or IP address"),
  imapPort: port.optional().describe("its IMAP port (default 143, or 993 with imapTls=implicit)"),
  imapTls: tlsMode.default("starttls").describe("none, starttls or implicit (port 993)"),
  smtpHost: hostname.optional().describe("its SMTP host, where mail for users not yet migrated is routed (default: the IMAP host)"),
  smtpPort: port.default(25).describe("its SMTP port"),
  tlsVerify: z.boolean().default(true).describe("check the server's certificate; false only for a self-signed server on a trusted network"),
  auth: serverAuth.optional(),
  /** The login name on the old server, when it is not the address. */
  login: loginTemplate.default("{user}").describe("the login name on the old server: {user} (the address), {localpart} (bare names: classic Cyrus, Courier) or {domain}"),
  maxBytesPerSec: z.number().int().min(1024).optional().describe("bandwidth read from this old server across all of its jobs on this host, bytes per second (unset: no cap)"),
  dailyDownloadMB: z.number().int().min(1).optional().describe("MB a user may download from the old server per UTC day; a job that reaches it waits until the next day (default: the profile's, 2500 for gmail; else none)"),
  maxConnectionsPerUser: z.number().int().min(1).max(8).optional().describe("connections to the old server per mailbox at most (default: the profile's, 2 for exchange; else migration.parallelFolders)"),
  /** What kind of server it is: which folders are no mail of their own, role names, limits (src/migrate/source-profiles.ts). */
  profile: z.enum(PROFILE_NAMES, { error: (i) => `${JSON.stringify(i.input)} is not a source profile (${PROFILE_NAMES.join(", ")})` }).default("generic").describe("generic, exchange (skips Calendar, Contacts, Tasks, Notes, Journal, Sync Issues...; at most 2 connections per mailbox) or gmail (skips All Mail, Important, Starred; labels stay folders; a daily download budget)"),
});

export const folderOptionsSchema = z.strictObject({
  separatorReplacement: z
    .string()
    .max(8)
    .refine((s) => !/[/.]/.test(s), "must not contain a hierarchy separator (\"/\" or \".\")")
    .default("_")
    .describe("replaces a hierarchy separator inside an old folder's name (\"a/b\" on a \".\" server) on the new server"),
  exclude: z.array(z.string().min(1)).default([]).describe('old folders not copied, JSON list of names or patterns, e.g. ["Spam*","Trash"]'),
  maxNameBytes: z.number().int().min(32).max(1024).default(200).describe("longest folder name segment sent to the new server, in bytes of its wire form (modified UTF-7: é takes 5); longer ones are cut and renamed with a hash of the name (Dovecot's maildir takes about 250 for a whole path)"),
  rename: ownRecord(z.string().min(1), z.string().min(1)).prefault({}).describe('old folder → new folder, JSON object, e.g. {"Sent Items":"Sent"}; a rule naming a folder the profile skips copies it after all'),
  includeAll: z.boolean().default(false).describe("copy a folder that holds every message again (special-use \\All: Gmail's All Mail, Dovecot's virtual all) instead of skipping it: each message then arrives twice"),
});

/** A Dovecot quota size: it is written into passwd-file lines as userdb_quota_rule=*:storage=<quota>. */
export const quotaSize = z.string().regex(/^(\d+(\.\d+)?[BkKMGT]?|\d{1,3}%)$/, 'is not a quota size like "2G", "500M", "1024k" or "10%" (digits, then B, k, M, G, T or %)');

/** An account class name: written into passwd-file lines and shown in lists. */
export const className = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "is not a class name (up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)")
  .refine((n) => n !== "constructor" && n !== "prototype", "is reserved (it would reach the prototype of every object): choose another name");

export const accountClassSchema = z.strictObject({
  autoMigration: z.boolean().default(true).describe("accounts of this class are migrated automatically at login"),
  quota: quotaSize.optional().describe('mailbox quota of new accounts, e.g. "2G"'),
  services: z.array(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, "is not a service name like imap, pop3, sieve")).optional().describe('services of new accounts, JSON list, e.g. ["imap","sieve"]'),
});

/** A notice template, checked as the message it will make (RFC 5322 headers, the kind's placeholders). */
const noticeTemplate = (kind: NoticeKind) =>
  z
    .string()
    .max(65_536)
    .superRefine((v, ctx) => {
      const problem = templateProblem(kind, v);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

const migrationSchema = z.strictObject({
  enabled: z.boolean().default(false).describe("automatic migration at login for this domain (domain enable/disable)"),
  accountClass: className.default("domain-default").describe("the account class of accounts created for this domain"),
  old: oldServerSchema.default(() => oldServerSchema.parse({})),
  premiumByLicense: z.boolean().default(false).describe("new accounts are premium while the licence has seats, else basic"),
  continuous: z.boolean().default(false).describe("every later login also copies what arrived on the old server since"),
  /** Passes after the switch that pick up mail still reaching the old server (in flight, an old MX's deferred queue). */
  catchUp: z
    .array(z.string().refine((d) => parseDelay(d) !== undefined, { error: (i) => `${JSON.stringify(i.input)} is not a delay like "15m", "1d", "36h" or "90s"` }))
    .max(20)
    .default(DEFAULT_CATCH_UP)
    .describe('catch-up passes after the user\'s mail is switched to the new server, as delays, JSON list, e.g. ["15m","1d","6d"] (they pick up mail that still reaches the old server: in flight, or deferred on an old MX); [] for none'),
  /** The external application run per user after the mail (PIM data: events, contacts, ...). */
  pim: z
    .strictObject({
      mode: z.enum(["none", "command"], { error: (i) => `${JSON.stringify(i.input)} is not a mode (none, command)` }).default("none").describe("command: run an external application per user after the mail (events, contacts, tasks, notes)"),
      /** argv; {user}, {domain} and {localpart} are replaced. */
      command: z.array(z.string().min(1)).min(1).optional().describe('its argv, JSON list; {user}, {domain} and {localpart} are replaced, e.g. ["/usr/local/bin/migrate-pim","{user}"]'),
      timeoutSec: z.number().int().positive().default(600).describe("seconds before it is stopped"),
      /** Run again on every continuous pass, not only until it has succeeded once. */
      everyPass: z.boolean().default(false).describe("run it on every continuous pass, not only until it has succeeded once"),
    })
    .superRefine((v, ctx) => {
      if (v.mode === "command" && !v.command) ctx.addIssue({ code: "custom", path: ["command"], message: 'mode command needs migration.pim.command, e.g. ["/usr/local/bin/migrate-pim","{user}"]' });
    })
    .default(() => ({ mode: "none" as const, timeoutSec: 600, everyPass: false })),
  folders: folderOptionsSchema.default(() => folderOptionsSchema.parse({})),
  /** Messages put once into each user's INBOX on the new server (not sent by SMTP). */
  notice: z
    .strictObject({
      started: noticeTemplate("started").optional().describe(`the "migration started" notice, put into the user's INBOX when the first run reaches the new account: headers (From and Subject required), an empty line, the body; placeholders ${NOTICE_PLACEHOLDERS.started.map((p) => `{${p}}`).join(" ")}`),
      completed: noticeTemplate("completed").optional().describe(`the "migration completed" notice, put into the INBOX after the first run that ends done or partial; placeholders ${NOTICE_PLACEHOLDERS.completed.map((p) => `{${p}}`).join(" ")} ({skippedList}: what did not come across, in words; body only)`),
    })
    .prefault({}),
  /** Larger messages are not fetched; a FETCH literal larger than a message's size (or this) is refused as announced. */
  maxMessageBytes: z.number().int().min(1024 * 1024).default(200 * 1024 * 1024).describe("messages larger than this many bytes are skipped (TOO_LARGE) instead of fetched; a server that announces a literal larger than the message (or this) is cut off (OVERSIZED). Default 209715200 (200 MB)"),
  /** Folders copied in parallel for one user (one old and one new connection each). */
  parallelFolders: z.number().int().min(1).max(8).default(2).describe("folders copied in parallel for one user (one old and one new connection each), 1-8"),
});

/**
 * LDAP per domain. sync: accounts are managed by LDAP synchronisation (migration cannot be
 * enabled). authCreate: a first login is checked against LDAP (search, then bind as the
 * entry) and creates the account.
 */
export const ldapSchema = z
  .strictObject({
    sync: z.boolean().default(false).describe("accounts are managed by LDAP synchronisation: migration cannot be enabled"),
    authCreate: z.boolean().default(false).describe("a first login is checked against LDAP (search, then bind as the entry) and creates the account"),
    /** ldap://host[:port] or ldaps://host[:port]. */
    url: z.string().regex(/^ldaps?:\/\/[^/\s]+\/?$/i, 'is not an LDAP URL like "ldaps://ldap.example.com" or "ldap://ldap.example.com:389"').optional().describe("ldaps://host[:port] or ldap://host[:port]"),
    /** Upgrade an ldap:// connection with StartTLS before anything is sent. */
    startTls: z.boolean().default(false).describe("upgrade an ldap:// connection with StartTLS before anything is sent"),
    /** Check the server's certificate (ldaps and StartTLS). */
    tlsVerify: z.boolean().default(true).describe("check the LDAP server's certificate (ldaps and StartTLS)"),
    /** PEM file of the CA that signed the LDAP server's certificate (else the system's CAs). */
    caFile: z.string().min(1).optional().describe("PEM file of the CA that signed the LDAP server's certificate (else the system's CAs)"),
    /** DN for the search, e.g. "cn=automigrate,ou=services,dc=example,dc=com"; unset: anonymous search. */
    bindDn: z.string().min(1).optional().describe('DN for the search, e.g. "cn=automigrate,ou=services,dc=example,dc=com"; unset: anonymous search'),
    bindPasswordFile: z.string().min(1).optional().describe("file holding the bindDn's password"),
    baseDn: z.string().min(1).optional().describe('where to search, e.g. "ou=people,dc=example,dc=com"'),
    /** {user} (user@domain), {localpart} and {domain} are replaced, escaped (RFC 4515). */
    filter: z.string().min(1).default("(&(objectClass=inetOrgPerson)(mail={user}))").describe("search filter; {user}, {localpart} and {domain} are replaced, escaped (RFC 4515)"),
    timeoutSec: z.number().positive().max(120).default(10).describe("seconds before an LDAP operation fails"),
  })
  .superRefine((v, ctx) => {
    if (v.authCreate && !v.url) ctx.addIssue({ code: "custom", path: ["url"], message: 'authCreate needs the LDAP server: ldap.url=ldaps://ldap.example.com' });
    if (v.authCreate && !v.baseDn) ctx.addIssue({ code: "custom", path: ["baseDn"], message: 'authCreate needs where to search: ldap.baseDn="ou=people,dc=example,dc=com"' });
    if (v.bindDn && !v.bindPasswordFile) ctx.addIssue({ code: "custom", path: ["bindPasswordFile"], message: "a bindDn needs its password in a file: ldap.bindPasswordFile=/etc/automigrate/ldap.pw" });
    if (v.startTls && v.url?.toLowerCase().startsWith("ldaps:")) ctx.addIssue({ code: "custom", path: ["startTls"], message: "ldaps:// is TLS from the start; StartTLS is for ldap:// URLs" });
    if (!/\{(user|localpart)\}/.test(v.filter)) ctx.addIssue({ code: "custom", path: ["filter"], message: 'must contain {user} or {localpart}, e.g. "(mail={user})" or "(uid={localpart})"' });
  });
export type LdapSettings = z.infer<typeof ldapSchema>;

export const domainName = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, "is not a domain name (like example.com)");

export const domainSchema = z
  .strictObject({
  migration: migrationSchema.default(() => migrationSchema.parse({})),
  accountDefaults: accountClassSchema.default(() => accountClassSchema.parse({})),
  classes: ownRecord(className, accountClassSchema).prefault({}),
  ldap: ldapSchema.default(() => ldapSchema.parse({})),
  })
  .superRefine((v, ctx) => refuseControlCharacters(v, ctx));
export type DomainSettings = z.infer<typeof domainSchema>;

/** Coexistence mail routing (Postfix transport lookups): created accounts → local, others → the old server. */
export const routingSchema = z.strictObject({
  /** Where the daemon answers Postfix socketmap lookups (unset: no socket), e.g. /run/automigrate/routing.sock. */
  socket: z.string().startsWith("/", "must be an absolute path").optional().describe("where the daemon answers Postfix socketmap lookups, e.g. /run/automigrate/routing.sock (unset: no socket)"),
  /** The socket's mode, octal, e.g. "0660" (Postfix's trivial-rewrite must be able to connect). */
  socketMode: z.string().regex(/^0?[0-7]{3}$/, 'is not an octal file mode like "0660"').default("0660").describe("the socket's mode, octal (Postfix must be able to connect)"),
  /** Group that owns the socket, e.g. "postfix". */
  socketGroup: z.string().min(1).optional().describe('group that owns the socket, e.g. "postfix"'),
  /** Postfix transport for accounts that exist on the new server, e.g. "lmtp:unix:private/dovecot-lmtp". */
  localTransport: z
    .string()
    .regex(/^[A-Za-z0-9_-]+:\S*$/, 'is not a Postfix transport like "lmtp:unix:private/dovecot-lmtp" (transport:nexthop)')
    .optional()
    .describe('Postfix transport for accounts on the new server, e.g. "lmtp:unix:private/dovecot-lmtp"'),
  /** Postfix's recipient_delimiter: "alice+news@d" is routed like "alice@d". "" for none. */
  recipientDelimiter: z.string().max(8).default("+").describe('Postfix\'s recipient_delimiter: "alice+news@d" is routed like "alice@d"; "" for none'),
});

/** First logins (Dovecot's checkpassword helper or Lua passdb ask the daemon over this socket). */
export const firstLoginSchema = z.strictObject({
  /** Where the daemon answers first-login checks (unset: no socket; the helpers then answer "temporary failure"), e.g. /run/automigrate/auth.socket. */
  socket: z.string().startsWith("/", "must be an absolute path").optional().describe("where the daemon answers first-login checks from Dovecot's helper, e.g. /run/automigrate/auth.socket (unset: first logins get a temporary failure)"),
  /** The socket's mode, octal, e.g. "0660" (Dovecot's auth process must be able to connect). */
  socketMode: z
    .string()
    .regex(/^0?[0-7]{3}$/, 'is not an octal file mode like "0660"')
    // whoever can connect may ask the daemon to try passwords on the old server: never every local user
    .refine((m) => (parseInt(m, 8) & 0o007) === 0, { error: (i) => `${JSON.stringify(i.input)} lets every local user connect, and so test passwords against the old server: use 0660 with firstLogin.socketGroup=dovecot` })
    .default("0660")
    .describe("the socket's mode, octal (Dovecot's auth process must be able to connect; no access for others)"),
  /** Group that owns the socket, e.g. "dovecot" (the user Dovecot's auth service runs as). */
  socketGroup: z.string().min(1).optional().describe('group that owns the socket, e.g. "dovecot" (the user Dovecot\'s auth service runs as)'),
  /** Wrong passwords for one user within the window before the old server is no longer asked. */
  failuresPerUser: z.number().int().min(1).default(5).describe("wrong passwords for one user within the window before its checks are slowed down (temporary failures, one check per limitedCheckEverySec per source)"),
  /** Wrong passwords from one remote address (any users) within the window before it is refused. */
  failuresPerAddress: z.number().int().min(1).default(20).describe("wrong passwords from one remote address (any users) within the window before its checks are slowed down likewise"),
  windowMin: z.number().int().min(1).default(15).describe("the window of both limits, minutes"),
  limitedCheckEverySec: z.number().int().min(1).max(3600).default(60).describe("while a user or a source is over its limit, one check per this many seconds still goes through for each user and source (the others get a temporary failure, never \"wrong password\")"),
});

/**
 * Where the settings live (src/storage): this host's files (the default) or a PostgreSQL database that
 * several nodes share. A per-node key: it stays in config.json in either mode.
 */
export const storageSchema = z
  .strictObject({
    driver: z.enum(["files", "postgres"], { error: (i) => `${JSON.stringify(i.input)} is not a storage driver (files, postgres)` }).default("files").describe("files (this host's home, the default) or postgres (settings shared by several nodes through storage.url)"),
    url: z
      .string()
      .optional()
      .describe("the database, postgres://user@host:port/dbname (no password in it: storage.passwordFile holds it)"),
    passwordFile: z.string().startsWith("/", "must be an absolute path").optional().describe("a file (mode 0600, the daemon's) that holds the database password on its first line; unset: no password (peer or trust authentication)"),
  })
  .superRefine((v, ctx) => {
    const problem = v.url === undefined ? undefined : postgresUrlIssue(v.url);
    if (problem) ctx.addIssue({ code: "custom", path: ["url"], message: problem });
    if (v.driver === "postgres" && !v.url) ctx.addIssue({ code: "custom", path: ["url"], message: "storage.driver postgres needs storage.url, e.g. postgres://automigrate@db.example.com:5432/automigrate" });
  })
  .default({ driver: "files" });

const configObject = z.strictObject({
  version: z.literal(CONFIG_VERSION).default(CONFIG_VERSION),
  storage: storageSchema,
  node: z
    .strictObject({
      name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "is not a node name (letters, digits, dot, dash, underscore; at most 63)").optional().describe("this node's name in a cluster (storage.driver postgres); default: the host name"),
    })
    .default({}),
  target: targetSchema.default(() => targetSchema.parse({})),
  logins: z
    .array(
      z
        .strictObject({
          path: z.string().min(1, "must not be empty").describe("a log file of the new server that shows logins, e.g. /var/log/dovecot.log"),
          format: z.enum(["dovecot", "jsonl", "regex"], { error: (i) => `${JSON.stringify(i.input)} is not a log format (dovecot, jsonl, regex)` }).default("dovecot").describe("how its lines read: Dovecot's log, one JSON object per line, or your regex"),
          pattern: z.string().optional().describe("for format regex: a pattern with a named group (?<user>...)"),
        })
        .superRefine((v, ctx) => {
          const problem = v.format === "regex" ? patternProblem(v.pattern) : undefined;
          if (problem) ctx.addIssue({ code: "custom", path: ["pattern"], message: problem });
        }),
    )
    .default([]),
  provisioning: z
    .strictObject({
      /** none: accounts exist already; passwd-file: Dovecot passwd-file; command: your program. */
      driver: z.enum(["none", "passwd-file", "command"], { error: (i) => `${JSON.stringify(i.input)} is not a provisioning driver (none, passwd-file, command)` }).default("none").describe("how accounts are created: none (they exist already), passwd-file (Dovecot's), command (your program)"),
      passwdFile: z.string().min(1).optional().describe("the new server's Dovecot passwd-file, for driver passwd-file"),
      /** argv of the command driver (JSON on stdin: user, domain, class, tier, passwordHash). */
      command: z.array(z.string().min(1)).min(1).optional().describe("argv of the command driver, JSON list (it reads JSON on stdin: user, domain, class, tier, passwordHash)"),
      timeoutSec: z.number().int().positive().default(30).describe("seconds before the command is stopped"),
    })
    .superRefine((v, ctx) => {
      if (v.driver === "passwd-file" && !v.passwdFile) ctx.addIssue({ code: "custom", path: ["passwdFile"], message: "the passwd-file driver needs provisioning.passwdFile (the new server's passwd-file)" });
      if (v.driver === "command" && !v.command) ctx.addIssue({ code: "custom", path: ["command"], message: 'the command driver needs provisioning.command, e.g. ["/usr/local/bin/create-account"]' });
    })
    .default({ driver: "none", timeoutSec: 30 }),
  license: z.strictObject({ premiumSeats: z.number().int().min(0).default(0).describe("premium accounts the licence allows") }).default({ premiumSeats: 0 }),
  workers: z
    .strictObject({
      total: z.number().int().min(1).default(4).describe("users migrated at once"),
      perOldServer: z.number().int().min(1).default(2).describe("users migrated at once from one old server"),
      /** Runs of one job that may fail transiently before it is marked failed. */
      maxAttempts: z.number().int().min(1).default(6).describe("runs of one job that may fail temporarily before it is marked failed"),
      retryBaseSec: z.number().positive().default(30).describe("first wait before a retry, seconds (doubled each time, with jitter)"),
      retryMaxSec: z.number().positive().default(3600).describe("longest wait before a retry, seconds"),
    })
    .default({ total: 4, perOldServer: 2, maxAttempts: 6, retryBaseSec: 30, retryMaxSec: 3600 }),
  schedules: z
    .strictObject({
      // Requeue failed jobs, e.g. every 15 minutes: "0,15,30,45 * * * *"
      retryFailed: cronExpression.optional().describe('cron expression: requeue failed jobs, e.g. "0,15,30,45 * * * *"'),
      /** Incremental pass over every known account, e.g. "0 2 * * *" (nightly). */
      sweep: cronExpression.optional().describe('cron expression: an incremental pass over every known account, e.g. "0 2 * * *"'),
      /** Sweeps start only inside these hours, e.g. "22:00-06:00". */
      quietHours: z
        .string()
        .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/, "is not a time range like 22:00-06:00")
        .optional()
        .describe('sweeps start only inside these hours, e.g. "22:00-06:00"'),
    })
    .default({}),
  routing: routingSchema.default(() => routingSchema.parse({})),
  /** Prometheus metrics of the daemon (off unless listen is set). */
  metrics: z
    .strictObject({
      listen: z
        .string()
        .refine((v) => /^\/[^\x00-\x1f\x7f]+$/.test(v) || /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(v), 'is neither host:port (e.g. "127.0.0.1:9464") nor an absolute Unix socket path')
        .optional()
        .describe('where the daemon serves Prometheus metrics at /metrics: "127.0.0.1:9464" or a Unix socket path; unset: no metrics'),
    })
    .default({}),
  /** Alerts: the daemon runs alerts.command with each event as JSON on stdin (src/alerts). */
  alerts: z
    .strictObject({
      command: z.array(z.string().min(1)).min(1).optional().describe('the program run for each alert (firing or cleared), JSON list (an argv, no shell); the event as one JSON document on stdin, e.g. ["/usr/local/bin/page-admin"]; unset: alerts are only logged'),
      timeoutSec: z.number().int().positive().max(3600).default(30).describe("seconds before the alert command is stopped"),
      loginFailuresInRow: z.number().int().min(0).default(5).describe("alert when the old server refuses the logins of this many accounts of a domain in a row; 0: off"),
      quotaFailuresInRow: z.number().int().min(0).default(3).describe("alert when the new server refuses appends for quota to this many accounts of a domain in a row; 0: off"),
      silentLogMinutes: z.number().min(0).default(0).describe("alert when a login log has no new line for this many minutes (e.g. 30; fractions allowed); 0: off"),
      stuckMinutes: z.number().min(0).default(60).describe("alert when the queue has not shrunk for this many minutes while not paused; 0: off"),
    })
    .prefault({}),
  firstLogin: firstLoginSchema.default(() => firstLoginSchema.parse({})),
  domains: ownRecord(domainName, domainSchema).prefault({}),
});

/** config.json. Its texts hold no control characters (the domains' are checked by domainSchema). */
export const configSchema = configObject.superRefine((v, ctx) => refuseControlCharacters(v, ctx, ["domains"]));
export type Config = z.infer<typeof configSchema>;

/** Everything but the domains (`config set`). */
export const globalsSchema = configObject.omit({ domains: true }).superRefine((v, ctx) => refuseControlCharacters(v, ctx));

export function emptyConfig(): Config {
  return configSchema.parse({});
}

