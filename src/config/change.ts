// Changing one domain's settings the way every door does it (CLI, console): under the
// settings lock, through the cross-field rules; a refusal changes nothing.
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
  let result!: DomainSettings;
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
  });
  return result;
}

/** Turns a domain's automatic migration on or off, through the rules; returns the domain's name. */
export function setMigrationEnabled(home: string, name: string, enabled: boolean): string {
  const d = normalizeDomain(name);
  changeDomain(home, d, (s) => ({ ...s, migration: { ...s.migration, enabled } }));
  return d;
}
