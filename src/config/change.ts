// Changing one domain's settings the way every door does it (CLI, console): under the
// settings lock, through the cross-field rules; a refusal changes nothing.
import { vaultOf } from "../storage/vault.ts";
import { AutomigrateError, inputError } from "../errors.ts";
import { applyAssignments, type Assignment } from "./dotted.ts";
import { DEFAULT_CLASS, refuseChange, type Refusal } from "./rules.ts";
import { accountClassSchema, className, domainName, domainSchema, globalsSchema, type Config, type DomainSettings } from "./schema.ts";
import { diffSettings, type SettingChange } from "./settings-help.ts";
import { updateConfig } from "./store.ts";
import { domainChangeWipes } from "../accounts/retention.ts";

/** A rules refusal as the error every door shows: the headline, then one line per reason; the product's rules exit 1, a setting to fix 2. */
function refused(refusal: Refusal): AutomigrateError {
  return new AutomigrateError(`${refusal.headline}\n${refusal.reasons.map((r) => `  reason: ${r}`).join("\n")}`, {}, { exitCode: refusal.code === "INPUT" ? 2 : 1, code: refusal.code });
}

/** `name` when the schema accepts it as a name, else an input error in the schema's words. */
function validName(schema: typeof domainName | typeof className, name: string): string {
  const r = schema.safeParse(name);
  if (!r.success) throw inputError(`"${name}" ${r.error.issues[0]?.message}`);
  return name;
}

export function normalizeDomain(name: string): string {
  return validName(domainName, name).toLowerCase();
}

export function requireDomain(config: Config, name: string): string {
  const d = normalizeDomain(name);
  if (!config.domains[d]) throw new AutomigrateError(`domain ${d} is not configured`, { hint: `automigrate domain add ${d}` }, { exitCode: 2, code: "NOT_FOUND" });
  return d;
}

/**
 * Removes a domain's settings (its mail and migration state stay). One whose migration is on
 * needs `force`; its captured passwords are wiped, as when it is switched off.
 */
export async function removeDomain(home: string, name: string, force = false): Promise<{ domain: string; wiped: number }> {
  let d = "";
  let wipes = false;
  await updateConfig(home, (c) => {
    d = requireDomain(c, name);
    const before = c.domains[d]!;
    if (before.migration.enabled && !force) throw inputError(`migration is enabled for ${d}`, { hint: `automigrate domain disable ${d} first, or add --yes` });
    wipes = domainChangeWipes(before, undefined);
    delete c.domains[d];
  });
  return { domain: d, wiped: wipes ? await vaultOf(home).removeDomain(d) : 0 };
}

/**
 * Changes one domain's settings under the settings lock, applying the cross-field rules
 * (LDAP-sync guard, class references). A refusal changes nothing: enabling refused → exit 1,
 * other rule problems → exit 2 (for the CLI; the console shows the message).
 */
export async function changeDomain(home: string, name: string, change: (d: DomainSettings, config: Config) => DomainSettings): Promise<DomainSettings> {
  return (await applyDomainChange(home, name, change)).settings;
}

/**
 * changeDomain, and what the change did beyond the settings: a change that switches the
 * domain's migration off wipes its captured passwords (the vault), whichever door it came
 * through (domain disable, domain set, the console's e key or its Configure form).
 */
async function applyDomainChange(home: string, name: string, change: (d: DomainSettings, config: Config) => DomainSettings): Promise<{ settings: DomainSettings; wiped: number }> {
  let result!: DomainSettings;
  let switchedOff = false;
  await updateConfig(home, (c) => {
    const d = requireDomain(c, name);
    const before = c.domains[d]!;
    const after = change(structuredClone(before), c);
    const refusal = refuseChange(d, before, after);
    if (refusal) throw refused(refusal);
    c.domains[d] = after;
    result = after;
    switchedOff = domainChangeWipes(before, after);
  });
  return { settings: result, wiped: switchedOff ? await vaultOf(home).removeDomain(normalizeDomain(name)) : 0 };
}

/**
 * Sets a domain's settings from "key=value" assignments (`domain set`, the control socket's
 * POST /domains/<domain>): validated by the schema, through the rules; what changed, and the
 * captured passwords wiped when it switched migration off.
 */
export async function setDomain(home: string, name: string, assignments: Assignment[]): Promise<{ domain: string; changes: SettingChange[]; wiped: number }> {
  const d = normalizeDomain(name);
  let changes: SettingChange[] = [];
  const { wiped } = await applyDomainChange(home, d, (before) => {
    const next = applyAssignments(domainSchema, before, assignments);
    changes = diffSettings(before, next);
    return next;
  });
  return { domain: d, changes, wiped };
}

/** Turns a domain's automatic migration on or off, through the rules (off wipes captured passwords). */
export async function setMigrationEnabled(home: string, name: string, enabled: boolean): Promise<{ domain: string; wiped: number }> {
  const d = normalizeDomain(name);
  return { domain: d, wiped: (await applyDomainChange(home, d, (s) => ({ ...s, migration: { ...s.migration, enabled } }))).wiped };
}

/** Adds a domain (migration off until enabled), with initial settings; the same rules as any change. */
export async function addDomain(home: string, name: string, assignments: Assignment[] = []): Promise<string> {
  const d = normalizeDomain(name);
  await updateConfig(home, (c) => {
    if (c.domains[d]) throw inputError(`domain ${d} already exists`, { hint: `automigrate domain set ${d} key=value` });
    const created = applyAssignments(domainSchema, {}, assignments);
    const refusal = refuseChange(d, undefined, created);
    if (refusal) throw refused({ ...refusal, code: "INPUT" });
    c.domains[d] = created;
  });
  return d;
}

/** Adds a named account class to a domain. */
export async function addClass(home: string, domain: string, name: string, assignments: Assignment[] = []): Promise<void> {
  validName(className, name);
  if (name === DEFAULT_CLASS) throw inputError(`"${DEFAULT_CLASS}" always exists; change it with: automigrate class set ${domain} ${DEFAULT_CLASS} key=value`);
  await changeDomain(home, normalizeDomain(domain), (d) => {
    if (d.classes[name]) throw inputError(`class "${name}" already exists in ${domain}`);
    d.classes[name] = applyAssignments(accountClassSchema, {}, assignments);
    return d;
  });
}

/** Changes global settings (everything but domains) with dotted assignments; returns what changed. */
export async function changeGlobals(home: string, assignments: Assignment[]): Promise<SettingChange[]> {
  for (const a of assignments) {
    if (a.path[0] === "domains") throw inputError(`${a.key}: use \`automigrate domain set\` for domain settings`);
    if (a.path[0] === "version") throw inputError(`${a.key}: the schema version is not a setting`);
  }
  let changes: SettingChange[] = [];
  await updateConfig(home, (c) => {
    const { domains, ...globals } = c;
    const next = applyAssignments(globalsSchema, globals, assignments);
    changes = diffSettings(globals, next);
    return { ...next, domains } as Config;
  });
  return changes;
}
