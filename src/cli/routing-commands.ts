// automigrate routing export|lookup — coexistence mail routing without (or next to) the
// daemon's socketmap server.
import { resolve } from "node:path";
import type { Command } from "commander";
import { loadConfig, usesDatabase } from "../config/store.ts";
import type { Config } from "../config/schema.ts";
import { withDatabase } from "../storage/open.ts";
import { localAccountsIn } from "../storage/postgres/local-accounts.ts";
import { inputError } from "../errors.ts";
import { LocalAccounts } from "../routing/local-accounts.ts";
import { routeAddress, transportTable } from "../routing/transport-map.ts";
import { writeFileAtomic } from "../store/json-file.ts";
import { err, homeOf, json, out } from "./common.ts";

/** Cluster mode: the accounts on the new server as the database's routing table has them (what every MX and daemon routes by). */
async function clusterLocalAccounts(home: string, config: Config): Promise<Set<string> | undefined> {
  if (!usesDatabase(config)) return undefined;
  return withDatabase(home, config, async (db) => new Set(await localAccountsIn(db.sql)));
}

export function addRoutingCommands(program: Command): void {
  const routing = program
    .command("routing")
    .description("mail routing while domains migrate: accounts on the new server get local delivery, the others still reach the old server")
    .addHelpText(
      "after",
      `
Postfix (main.cf), live from the daemon (set routing.socket first):
  transport_maps = socketmap:unix:/run/automigrate/routing.sock:transport
or from a file written by \`routing export\` (rerun it after accounts are created):
  transport_maps = texthash:/etc/postfix/automigrate-transport`,
    );
  routing
    .command("export")
    .description("write the routing table as a Postfix transport(5) file (atomically)")
    .option("--format <format>", "table format (postfix)", "postfix")
    .option("-o, --output <file>", "file to write (temp file + rename); without it, standard output")
    .addHelpText("after", "\nExamples:\n  automigrate routing export --format postfix --output /etc/postfix/automigrate-transport\n  automigrate routing export   # print it")
    .action(async (opts: { format: string; output?: string }, cmd: Command) => {
      if (opts.format !== "postfix") throw inputError(`--format ${opts.format}: the only format is "postfix"`);
      const home = homeOf(cmd);
      const config = await loadConfig(home);
      const cluster = await clusterLocalAccounts(home, config);
      const { lines, problems } = transportTable(config, cluster ?? new LocalAccounts(home, () => config).all());
      for (const p of problems) process.stderr.write(`automigrate: routing: ${p.domain === "*" ? "" : `${p.domain}: `}${p.problem}\n`);
      const text = [
        "# automigrate coexistence routing (Postfix transport(5) table), generated " + new Date().toISOString(),
        "# accounts on the new server -> routing.localTransport; other users of migrating domains -> their old SMTP host.",
        "# Regenerate with: automigrate routing export --format postfix --output <this file>",
        ...lines,
        "",
      ].join("\n");
      if (!opts.output) return out(text);
      // Postfix (an unprivileged user) reads it; it holds addresses, no secrets
      writeFileAtomic(resolve(opts.output), text, { mode: 0o644 });
      err(`automigrate: wrote ${lines.length} routing entries to ${opts.output}`);
    });
  routing
    .command("lookup")
    .description("where mail for an address goes now, and why (the daemon's socketmap answer)")
    .argument("<address>", "a recipient, e.g. alice@example.com")
    .option("--json", "JSON output")
    .action(async (address: string, opts: { json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const config = await loadConfig(home);
      const cluster = await clusterLocalAccounts(home, config);
      const local = new LocalAccounts(home, () => config);
      const a = routeAddress(config, address, (u) => (cluster ? cluster.has(u) : local.has(u)));
      if (opts.json) return json({ address, ...a });
      out(a.kind === "found" ? `${address} → ${a.transport}  (${a.why})` : `${address}: ${a.kind === "temp" ? "deferred" : "not found (Postfix's own routing)"}  (${a.why})`);
    });
}
