// automigrate class list|add|set|remove — a domain's account classes: its "domain default"
// (accountDefaults) and named classes.
import type { Command } from "commander";
import { applyAssignments, parseAssignment } from "../config/dotted.ts";
import { classNames, classOf, DEFAULT_CLASS } from "../config/rules.ts";
import { accountClassSchema, type DomainSettings } from "../config/schema.ts";
import { loadConfig } from "../config/store.ts";
import { inputError } from "../errors.ts";
import { homeOf, json, out } from "./common.ts";
import { addClass, changeDomain, normalizeDomain, requireDomain } from "../config/change.ts";

function requireClass(d: DomainSettings, domain: string, name: string): void {
  if (name !== DEFAULT_CLASS && !d.classes[name]) {
    throw inputError(`no class "${name}" in ${domain} (classes: ${classNames(d).join(", ")})`, { hint: `automigrate class add ${domain} ${name}` });
  }
}

export function addClassCommands(program: Command): void {
  const cls = program.command("class").description(`account classes per domain: "${DEFAULT_CLASS}" and named classes`);

  cls
    .command("list")
    .description("a domain's classes; the one used for new accounts is marked")
    .argument("<domain>")
    .option("--json", "JSON: [{ name, autoMigration, quota, services, usedForNewAccounts }]")
    .addHelpText("after", "\nExample:\n  automigrate class list example.com --json")
    .action(async (domain: string, o: { json?: boolean }, cmd: Command) => {
      const c = await loadConfig(homeOf(cmd));
      const name = requireDomain(c, domain);
      const d = c.domains[name]!;
      const rows = classNames(d).map((n) => {
        const k = classOf(d, n)!;
        return { name: n, autoMigration: k.autoMigration, quota: k.quota ?? null, services: k.services ?? null, usedForNewAccounts: d.migration.accountClass === n };
      });
      if (o.json) return json(rows);
      for (const r of rows) {
        out(`${r.usedForNewAccounts ? "*" : " "} ${r.name.padEnd(20)} automatic migration ${r.autoMigration ? "on " : "off"}${r.quota ? `  quota ${r.quota}` : ""}${r.services ? `  services ${r.services.join(",")}` : ""}`);
      }
    });

  cls
    .command("add")
    .description("add a named class")
    .argument("<domain>")
    .argument("<class>")
    .argument("[key=value...]", "autoMigration=true|false, quota=10G, services=[\"imap\",\"pop3\"]")
    .addHelpText("after", "\nExample:\n  automigrate class add example.com staff quota=20G autoMigration=true")
    .action(async (domain: string, name: string, pairs: string[], _o, cmd: Command) => {
      await addClass(homeOf(cmd), domain, name, pairs.map(parseAssignment));
      out(`added class ${name} to ${normalizeDomain(domain)}`);
    });

  cls
    .command("set")
    .description(`change a class ("${DEFAULT_CLASS}" is the domain default)`)
    .argument("<domain>")
    .argument("<class>")
    .argument("<key=value...>")
    .addHelpText("after", `\nExamples:\n  automigrate class set example.com ${DEFAULT_CLASS} autoMigration=false\n  automigrate class set example.com staff quota=50G`)
    .action(async (domain: string, name: string, pairs: string[], _o, cmd: Command) => {
      const assignments = pairs.map(parseAssignment);
      const dn = normalizeDomain(domain);
      await changeDomain(homeOf(cmd), dn, (d) => {
        requireClass(d, dn, name);
        if (name === DEFAULT_CLASS) d.accountDefaults = applyAssignments(accountClassSchema, d.accountDefaults, assignments);
        else d.classes[name] = applyAssignments(accountClassSchema, d.classes[name], assignments);
        return d;
      });
    });

  cls
    .command("remove")
    .description("remove a named class (refused while the domain creates accounts with it)")
    .argument("<domain>")
    .argument("<class>")
    .addHelpText("after", "\nExample:\n  automigrate class remove example.com interns")
    .action(async (domain: string, name: string, _o, cmd: Command) => {
      const dn = normalizeDomain(domain);
      await changeDomain(homeOf(cmd), dn, (d) => {
        if (name === DEFAULT_CLASS) throw inputError(`"${DEFAULT_CLASS}" cannot be removed`);
        requireClass(d, dn, name);
        if (d.migration.accountClass === name) {
          throw inputError(`class "${name}" is used for new accounts of ${dn}`, { hint: `automigrate domain set ${dn} migration.accountClass=${DEFAULT_CLASS} first` });
        }
        delete d.classes[name];
        return d;
      });
      out(`removed class ${name} from ${dn}`);
    });
}
