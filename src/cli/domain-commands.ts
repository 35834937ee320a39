// automigrate domain list|add|show|set|enable|disable|remove
import type { Command } from "commander";
import { parseAssignment } from "../config/dotted.ts";
import { domainProblems, whyNobodyMigrates } from "../config/rules.ts";
import { domainSchema } from "../config/schema.ts";
import { changeLines, renderSettings, settingsOf } from "../config/settings-help.ts";
import { loadConfig } from "../config/store.ts";
import { err, homeOf, json, out, redact } from "./common.ts";
import { addDomain, removeDomain, requireDomain, setDomain, setMigrationEnabled } from "../config/change.ts";

const status = (enabled: boolean) => (enabled ? "Migration Enabled" : "Migration Disabled");


export function addDomainCommands(program: Command): void {
  const domain = program.command("domain").description("domains and their automatic-migration settings");

  domain
    .command("list")
    .description("domains in alphabetical order with their migration status")
    .option("--json", "JSON: [{ name, enabled, status, oldHost, accountClass, problems, notMigrating? }]")
    .addHelpText("after", "\nExample:\n  automigrate domain list --json")
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const c = await loadConfig(homeOf(cmd));
      const rows = Object.keys(c.domains)
        .sort()
        .map((name) => {
          const d = c.domains[name]!;
          const idle = whyNobodyMigrates(name, d);
          return { name, enabled: d.migration.enabled, status: status(d.migration.enabled), oldHost: d.migration.old.host ?? null, accountClass: d.migration.accountClass, problems: domainProblems(name, d), ...(idle ? { notMigrating: idle } : {}) };
        });
      if (o.json) return json(rows);
      if (rows.length === 0) return out("no domains yet: automigrate domain add <domain>");
      for (const r of rows) out(`${r.name.padEnd(32)} ${r.status}${r.notMigrating ? `  (not migrated: ${r.notMigrating})` : ""}`);
    });

  domain
    .command("add")
    .description("add a domain (migration stays disabled until `domain enable`)")
    .argument("<domain>")
    .argument("[key=value...]", "initial settings, as for `domain set`")
    .addHelpText("after", "\nExample:\n  automigrate domain add example.com migration.old.host=old.example.com")
    .action(async (name: string, pairs: string[], _o, cmd: Command) => {
      out(`added ${await addDomain(homeOf(cmd), name, pairs.map(parseAssignment))} (${status(false)})`);
    });

  domain
    .command("show")
    .description("print a domain's settings as JSON (secrets left out)")
    .argument("<domain>")
    .option("--json", "JSON output (the default for this command)")
    .addHelpText("after", "\nExample:\n  automigrate domain show example.com --json")
    .action(async (name: string, _o, cmd: Command) => {
      const c = await loadConfig(homeOf(cmd));
      const d = requireDomain(c, name);
      for (const p of domainProblems(d, c.domains[d]!)) err(`warning: ${p}`);
      json(redact(c.domains[d]));
    });

  domain
    .command("set")
    .description("change a domain's settings with dotted keys")
    .argument("<domain>")
    .argument("<key=value...>")
    .addHelpText(
      "after",
      `
Examples:
  automigrate domain set example.com migration.old.host=old.example.com migration.old.imapPort=993 migration.old.imapTls=implicit
  automigrate domain set example.com migration.old.auth.mode=master migration.old.auth.user=admin migration.old.auth.passwordFile=/etc/automigrate/old-master.pw
  automigrate domain set example.com migration.continuous=true migration.premiumByLicense=true migration.accountClass=staff
  automigrate domain set example.com 'migration.folders.exclude=["Spam*"]' migration.folders.separatorReplacement=-

Each change is printed as "key: before → after".

${renderSettings("Settings (key=value; lists and objects as JSON):", settingsOf(domainSchema))}`,
    )
    .action(async (name: string, pairs: string[], _o, cmd: Command) => {
      const { domain: d, changes, wiped } = await setDomain(homeOf(cmd), name, pairs.map(parseAssignment));
      out(changes.length ? changeLines(changes).map((l) => `${d}: ${l}`).join("\n") : `${d}: nothing changed (the settings already had these values)`);
      if (wiped) out(`${d}: migration switched off (${wiped} captured password${wiped === 1 ? "" : "s"} wiped)`);
    });

  domain
    .command("enable")
    .description("enable automatic migration (refused for LDAP-synced or incomplete domains)")
    .argument("<domain>")
    .addHelpText("after", "\nExample:\n  automigrate domain enable example.com\n\nRefused (exit 1, nothing changed) with \"Domain migration couldn't be enabled!\" and the reasons when\nLDAP synchronisation is on or the old server or its credentials are not set.")
    .action(async (name: string, _o, cmd: Command) => {
      out(`${(await setMigrationEnabled(homeOf(cmd), name, true)).domain}: ${status(true)}`);
    });

  domain
    .command("disable")
    .description("disable automatic migration (nothing already migrated is touched; captured passwords are wiped)")
    .argument("<domain>")
    .addHelpText("after", "\nExample:\n  automigrate domain disable example.com")
    .action(async (name: string, _o, cmd: Command) => {
      const { domain: d, wiped } = await setMigrationEnabled(homeOf(cmd), name, false);
      out(`${d}: ${status(false)}${wiped ? ` (${wiped} captured password${wiped === 1 ? "" : "s"} wiped)` : ""}`);
    });

  domain
    .command("remove")
    .description("remove a domain's settings (no mail and no migration state is deleted)")
    .argument("<domain>")
    .option("--yes", "confirm removing a domain whose migration is enabled")
    .addHelpText("after", "\nExample:\n  automigrate domain remove old-brand.example --yes")
    .action(async (name: string, o: { yes?: boolean }, cmd: Command) => {
      const { domain: d, wiped } = await removeDomain(homeOf(cmd), name, Boolean(o.yes));
      out(`removed ${d}${wiped ? ` (${wiped} captured password${wiped === 1 ? "" : "s"} wiped)` : ""}`);
    });
}
