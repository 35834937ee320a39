// Changing one domain's settings the way every door does it (CLI, console): under the
// settings lock, through the cross-field rules; a refusal changes nothing.
import { Vault } from "../accounts/vault.ts";
import { AutomigrateError, inputError } from "../errors.ts";
import { ENABLE_REFUSED, LDAP_SYNC_REFUSED, refuseChange } from "./rules.ts";
import { domainName, type Config, type DomainSettings } from "./schema.ts";
import { updateConfig } from "./store.ts";

export function normalizeDomain(name: string): string {
  const r = domainName.safeParse(name);
  if (!r.success) throw inputError(`"${name}" ${r.error.issues[0]?.message}`);
  return name.toLowerCase();
}

export function requireDomain(config: Config, name: string): string {
  const d = normalizeDomain(name);
  if (!config.domains[d]) throw inputError(`domain ${d} is not configured`, { hint: `automigrate domain add ${d}` });
  return d;
}

/**
 * Changes one domain's settings under the settings lock, applying the cross-field rules
 * (LDAP-sync guard, class references). A refusal changes nothing: enabling refused → exit 1,
 * other rule problems → exit 2 (for the CLI; the console shows the message).
 */
export function changeDomain(home: string, name: string, change: (d: DomainSettings, config: Config) => DomainSettings): DomainSettings {
  return applyDomainChange(home, name, change).settings;
}

/**
 * changeDomain, and what the change did beyond the settings: a change that switches the
 * domain's migration off wipes its captured passwords (the vault), whichever door it came
 * through (domain disable, domain set, the console's e key or its Configure form).
 */
export function applyDomainChange(home: string, name: string, change: (d: DomainSettings, config: Config) => DomainSettings): { settings: DomainSettings; wiped: number } {
  let result!: DomainSettings;
  let switchedOff = false;
  updateConfig(home, (c) => {
    const d = requireDomain(c, name);
    const before = c.domains[d]!;
    const after = change(structuredClone(before), c);
    const refusal = refuseChange(d, before, after);
    if (refusal) {
      const text = `${refusal.headline}\n${refusal.reasons.map((r) => `  reason: ${r}`).join("\n")}`;
      const policy = refusal.headline === ENABLE_REFUSED || refusal.headline === LDAP_SYNC_REFUSED;
      throw new AutomigrateError(text, {}, { exitCode: policy ? 1 : 2 });
    }
    c.domains[d] = after;
    result = after;
    switchedOff = before.migration.enabled && !after.migration.enabled;
  });
  return { settings: result, wiped: switchedOff ? new Vault(home).removeDomain(normalizeDomain(name)) : 0 };
}

/** Turns a domain's automatic migration on or off, through the rules (off wipes captured passwords). */
export function setMigrationEnabled(home: string, name: string, enabled: boolean): { domain: string; wiped: number } {
  const d = normalizeDomain(name);
  return { domain: d, wiped: applyDomainChange(home, d, (s) => ({ ...s, migration: { ...s.migration, enabled } })).wiped };
}
