// automigrate test-connection <domain> [--user u@d] [--json]
import type { Command } from "commander";
import { vaultOf } from "../storage/vault.ts";
import { loadConfig } from "../config/store.ts";
import { EXIT, homeOf, json, out } from "./common.ts";
import { requireDomain } from "../config/change.ts";

export function addTestConnectionCommand(program: Command): void {
  program
    .command("test-connection")
    .description("check the old IMAP and SMTP servers and the new server: reachability, TLS, capabilities, login")
    .argument("<domain>")
    .option("--user <user@domain>", "also log in (with the configured identity) acting as this user")
    .option("--timeout <seconds>", "per connection", "10")
    .option("--json", "JSON: { domain, user, ok, checks: [{ name, status, server, detail, hint }] }")
    .addHelpText("after", "\nExamples:\n  automigrate test-connection example.com\n  automigrate test-connection example.com --user alice@example.com --json\n\nExit status: 0 when no check failed, 1 otherwise.")
    .action(async (domain: string, o: { user?: string; timeout: string; json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const config = await loadConfig(home);
      const name = requireDomain(config, domain);
      const { testConnection, formatConnectionReport } = await import("../diagnose/test-connection.ts");
      // captured and imported passwords: the same vault migrate reads
      const secrets = await vaultOf(home).sourceFor(...(o.user ? [o.user.toLowerCase()] : []));
      const report = await testConnection(config, name, { user: o.user?.toLowerCase(), timeoutMs: Math.max(1, Number(o.timeout) || 10) * 1000, secrets });
      if (o.json) json(report);
      else out(formatConnectionReport(report));
      process.exitCode = report.ok ? EXIT.ok : EXIT.failed;
    });
}
