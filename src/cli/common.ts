// Shared pieces of the CLI commands: output, settings changes with the rules applied.
import type { Command } from "commander";
import { domainName, type Config, type DomainSettings } from "../config/schema.ts";
import { refuseChange, ENABLE_REFUSED, LDAP_SYNC_REFUSED } from "../config/rules.ts";
import { updateConfig } from "../config/store.ts";
import { AutomigrateError, inputError } from "../errors.ts";
import { resolveHome } from "../home.ts";

export const EXIT = { ok: 0, failed: 1, usage: 2, partial: 3 } as const;

export function out(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : text + "\n");
}

export function json(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** Settings with secrets left out (password files are paths, not secrets, and stay). */
export function redact<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (k, v) => (/^(pass|password|secret|token|key)$/i.test(k) ? undefined : v)));
}

export function homeOf(cmd: Command): string {
  return resolveHome({ home: cmd.optsWithGlobals().home });
}

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
 * other rule problems → exit 2.
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
