// automigrate migrate <user@domain> [--json]
import type { Command } from "commander";
import { domainProblems } from "../config/rules.ts";
import { loadConfig } from "../config/store.ts";
import { inputError } from "../errors.ts";
import { EXIT, homeOf, json, out } from "./common.ts";

export function addMigrateCommands(program: Command): void {
  program
    .command("migrate")
    .description("migrate one user now, in the foreground (incremental: reruns copy only what is new)")
    .argument("<user@domain>")
    .option("--json", "print the report as one JSON object")
    .addHelpText(
      "after",
      "\nExamples:\n  automigrate migrate alice@example.com\n  automigrate migrate alice@example.com --json\n\nExit status: 0 done, 1 failed, 2 bad usage, 3 partial (see skipped/errors; rerun to retry).",
    )
    .action(async (user: string, o: { json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const config = loadConfig(home);
      const domain = user.slice(user.lastIndexOf("@") + 1).toLowerCase();
      const d = config.domains[domain];
      const problems = d ? domainProblems(domain, d) : [];
      if (problems.length) throw inputError(`${domain} cannot be migrated:\n${problems.map((p) => `  ${p}`).join("\n")}`, { user });
      // imapflow is loaded only for commands that talk IMAP: settings commands start faster
      const { migrateUser } = await import("../migrate/migrate-user.ts");
      const { formatSummary, ProgressBar } = await import("../migrate/report.ts");
      const bar = !o.json && process.stderr.isTTY ? new ProgressBar((s) => process.stderr.write(s)) : undefined;
      const report = await migrateUser({ home, config, user, onProgress: bar ? (e) => bar.onEvent(e) : undefined });
      bar?.clear();
      if (o.json) json(report);
      else out(formatSummary(report));
      process.exitCode = report.status === "done" ? EXIT.ok : report.status === "partial" ? EXIT.partial : EXIT.failed;
    });
}
