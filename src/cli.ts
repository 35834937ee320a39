#!/usr/bin/env bun
// The `automigrate` command (DESIGN.md "CLI contract"). Exit codes: 0 ok, 1 failed,
// 2 bad usage or input, 3 migration partial (some messages skipped or folders failed).
import { Command, CommanderError } from "commander";
import { applyAssignments, getPath, parseAssignment } from "./config/dotted.ts";
import { domainName, domainSchema, targetSchema, configSchema, type Config } from "./config/schema.ts";
import { loadConfig, updateConfig } from "./config/store.ts";
import { AutomigrateError, errorText, inputError } from "./errors.ts";
import { resolveHome } from "./home.ts";
import { migrateUser } from "./migrate/migrate-user.ts";
import { formatSummary, ProgressBar } from "./migrate/report.ts";

export const EXIT = { ok: 0, failed: 1, usage: 2, partial: 3 } as const;

function out(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : text + "\n");
}

function json(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** Settings with secrets left out (password files are paths, not secrets, and stay). */
export function redact<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (k, v) => (/^(pass|password|secret|token)$/i.test(k) ? undefined : v)));
}

function normalizeDomain(name: string): string {
  const r = domainName.safeParse(name);
  if (!r.success) throw inputError(`"${name}" ${r.error.issues[0]?.message}`);
  return name.toLowerCase();
}

function requireDomain(config: Config, name: string): string {
  const d = normalizeDomain(name);
  if (!config.domains[d]) throw inputError(`domain ${d} is not configured`, { hint: `automigrate domain add ${d}` });
  return d;
}

export function buildProgram(): Command {
  const program = new Command("automigrate")
    .description("Automatic, on-login mailbox migration from an old IMAP server to a new one")
    .option("--home <dir>", "home directory (default $AUTOMIGRATE_HOME, /var/lib/automigrate for root)")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  const home = () => resolveHome({ home: program.opts().home });

  const config = program.command("config").description("global settings: target server, log sources, workers, ...");
  config
    .command("set")
    .description("set global settings with dotted keys")
    .argument("<key=value...>", "assignments")
    .addHelpText("after", "\nExamples:\n  automigrate config set target.host=mail.new.example target.port=143 target.tls=starttls\n  automigrate config set target.auth.mode=master target.auth.user=admin target.auth.passwordFile=/etc/automigrate/new-master.pw")
    .action((pairs: string[]) => {
      const assignments = pairs.map(parseAssignment);
      updateConfig(home(), (c) => {
        const { domains, ...globals } = c;
        for (const a of assignments) if (a.path[0] === "domains" || a.path[0] === "version") throw inputError(`${a.key}: use \`automigrate domain set\` for domain settings`);
        const next = applyAssignments(configSchema.omit({ domains: true }), globals, assignments);
        return { ...next, domains } as Config;
      });
    });
  config
    .command("get")
    .description("print global settings (or one dotted key), secrets left out")
    .argument("[key]", "dotted key, e.g. target.host")
    .option("--json", "JSON output")
    .action((key: string | undefined) => {
      const c = loadConfig(home());
      const { domains: _d, ...globals } = c;
      const value = key ? getPath(globals, parseAssignment(`${key}=`).path) : globals;
      if (value === undefined) throw inputError(`${key}: no such setting`);
      json(redact(value));
    });

  const domain = program.command("domain").description("domains and their migration settings");
  domain
    .command("add")
    .description("add a domain (migration disabled until `domain enable`)")
    .argument("<domain>")
    .argument("[key=value...]", "initial settings")
    .action((name: string, pairs: string[]) => {
      const d = normalizeDomain(name);
      const assignments = pairs.map(parseAssignment);
      updateConfig(home(), (c) => {
        if (c.domains[d]) throw inputError(`domain ${d} already exists`, { hint: `automigrate domain set ${d} key=value` });
        c.domains[d] = applyAssignments(domainSchema, {}, assignments);
      });
      out(`added ${d}`);
    });
  domain
    .command("set")
    .description("change a domain's settings with dotted keys")
    .argument("<domain>")
    .argument("<key=value...>")
    .addHelpText(
      "after",
      "\nExamples:\n  automigrate domain set example.com migration.old.host=old.example.com migration.old.imapPort=993 migration.old.imapTls=implicit\n  automigrate domain set example.com migration.old.auth.mode=master migration.old.auth.user=admin migration.old.auth.passwordFile=/etc/automigrate/old-master.pw",
    )
    .action((name: string, pairs: string[]) => {
      const assignments = pairs.map(parseAssignment);
      updateConfig(home(), (c) => {
        const d = requireDomain(c, name);
        c.domains[d] = applyAssignments(domainSchema, c.domains[d], assignments);
      });
    });
  domain
    .command("show")
    .description("print a domain's settings, secrets left out")
    .argument("<domain>")
    .option("--json", "JSON output")
    .action((name: string) => {
      const c = loadConfig(home());
      json(redact(c.domains[requireDomain(c, name)]));
    });
  domain
    .command("list")
    .description("domains in alphabetical order with their migration status")
    .option("--json", "JSON output")
    .action((o: { json?: boolean }) => {
      const c = loadConfig(home());
      const rows = Object.keys(c.domains)
        .sort()
        .map((name) => ({ name, enabled: c.domains[name]!.migration.enabled, oldHost: c.domains[name]!.migration.old.host ?? null }));
      if (o.json) return json(rows);
      for (const r of rows) out(`${r.name.padEnd(32)} ${r.enabled ? "Migration Enabled" : "Migration Disabled"}`);
    });

  program
    .command("migrate")
    .description("migrate one user now, in the foreground (incremental: reruns copy only what is new)")
    .argument("<user@domain>")
    .option("--json", "print the report as one JSON object")
    .addHelpText("after", "\nExit status: 0 done, 1 failed, 2 bad usage, 3 partial (see skipped/errors; rerun to retry).")
    .action(async (user: string, o: { json?: boolean }) => {
      const c = loadConfig(home());
      const bar = !o.json && process.stderr.isTTY ? new ProgressBar((s) => process.stderr.write(s)) : undefined;
      const report = await migrateUser({ home: home(), config: c, user, onProgress: bar ? (e) => bar.onEvent(e) : undefined });
      bar?.clear();
      if (o.json) json(report);
      else out(formatSummary(report));
      process.exitCode = report.status === "done" ? EXIT.ok : report.status === "partial" ? EXIT.partial : EXIT.failed;
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      return EXIT.usage;
    }
    process.stderr.write(`automigrate: ${errorText(e)}\n`);
    return e instanceof AutomigrateError ? e.exitCode : EXIT.failed;
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
