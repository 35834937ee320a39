// automigrate migrate <user@domain> [--json] [--queue]
import type { Command } from "commander";
import { domainProblems } from "../config/rules.ts";
import { loadConfig } from "../config/store.ts";
import { AutomigrateError, classify, errorText, inputError } from "../errors.ts";
import { EXIT, err, homeOf, json, out } from "./common.ts";
import { askDaemon } from "./queue-commands.ts";
import { canonicalUser } from "../address.ts";
import { daemonPost } from "../control-client.ts";
import { printable } from "../status/status-view.ts";

const QUEUED: Record<string, string> = {
  queued: "queued: it runs next, before logins and bulk work",
  merged: "already in the queue: moved to the front",
  again: "being migrated now: one more pass follows",
};

/** --queue: the daemon's answer, and a warning when the queue is paused. */
async function queueNow(cmd: Command, user: string, asJson: boolean): Promise<void> {
  const r = await askDaemon(cmd, "/migrate", { user }, {
    user,
    refusedExit: EXIT.usage,
    notRunning: () => new AutomigrateError("the daemon is not running: nothing was queued", { user, hint: "start it (systemctl start automigrate), or run without --queue to migrate in the foreground" }, { code: "DAEMON_DOWN" }),
  });
  if (asJson) return json({ user, ...r });
  out(`${user}: ${QUEUED[r.result] ?? r.result}`);
  if (r.paused) err(`warning: the queue is paused for ${user.slice(user.lastIndexOf("@") + 1)}: it starts after automigrate resume`);
}

export function addMigrateCommands(program: Command): void {
  program
    .command("migrate")
    .description("migrate one user now, in the foreground (incremental: reruns copy only what is new)")
    .argument("<user@domain>")
    .option("--json", "print the report as one JSON object")
    .option("--queue", "hand it to the running daemon instead: it runs next, before logins and bulk work")
    .option("--dry-run", "log in and print the folder plan (old folder, new folder, messages, size, skipped folders and why) without creating, copying or writing anything")
    .addHelpText(
      "after",
      "\nExamples:\n  automigrate migrate alice@example.com\n  automigrate migrate alice@example.com --json\n  automigrate migrate alice@example.com --dry-run\n  automigrate migrate alice@example.com --queue\n\nExit status: 0 done (with --queue: queued), 1 failed, 2 bad usage, 3 partial (see skipped/errors; rerun to retry).",
    )
    .action(async (user: string, o: { json?: boolean; queue?: boolean; dryRun?: boolean }, cmd: Command) => {
      if (o.queue && o.dryRun) throw inputError("--dry-run and --queue do not go together (a dry run happens here, now)");
      if (o.dryRun && !o.json) return dryRunNow(cmd, user, false);
      if (o.dryRun) {
        try {
          return await dryRunNow(cmd, user, true);
        } catch (e) {
          const c = classify(e, { user });
          json({ user, dryRun: true, error: { message: errorText(c), code: c.code, transient: c.transient } });
          process.exitCode = c.exitCode === 2 ? EXIT.usage : EXIT.failed;
          return;
        }
      }
      if (o.queue) return queueNow(cmd, user, Boolean(o.json));
      if (!o.json) return migrateNow(cmd, user, false);
      // --json: one JSON object whatever happens (locked, bad settings, disk full, a bug)
      const started = Date.now();
      try {
        await migrateNow(cmd, user, true);
      } catch (e) {
        const c = classify(e, { user });
        json({ user, status: "failed", folders: 0, messages: 0, bytes: 0, skipped: [], renamed: [], skippedFolders: [], errors: [{ message: errorText(c), transient: c.transient, code: c.code }], durationMs: Date.now() - started });
        process.exitCode = c.exitCode === 2 ? EXIT.usage : EXIT.failed;
      }
    });

  program
    .command("verify")
    .description("compare the old and the new mailbox folder by folder (the migration's plan): counts, or every message with --deep")
    .argument("<user@domain>")
    .option("--deep", "hash every message's bytes on both sides and compare (with INTERNALDATE); reads every message")
    .option("--json", "print the result as one JSON object")
    .addHelpText(
      "after",
      "\nExamples:\n  automigrate verify alice@example.com\n  automigrate verify alice@example.com --deep --json\n\nExit status: 0 exact, 1 differences or failure, 2 bad usage. Messages skipped with a reason are not missing;\nmessages only on the new server (the user's new mail) are listed, not counted as a difference.",
    )
    .action(async (user: string, o: { deep?: boolean; json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const { verifyUser, formatVerify } = await import("../migrate/verify.ts");
      const { vaultOf } = await import("../storage/vault.ts");
      try {
        const config = await loadConfig(home);
        const { resolveSides } = await import("../mailstore/endpoints.ts");
        const { imapOpener } = await import("../mailstore/imap/opener.ts");
        const u = canonicalUser(user);
        const r = await verifyUser(home, config, user, imapOpener(resolveSides(config, u, await vaultOf(home).sourceFor(u))), { deep: o.deep });
        // a running daemon reads the result for its metrics (no daemon: nothing to tell)
        await daemonPost(home, "/account-changed", { user: canonicalUser(user) }, { timeoutMs: 2000 });
        if (o.json) json(r);
        else out(formatVerify(r).split("\n").map(printable).join("\n"));
        process.exitCode = r.exact ? EXIT.ok : EXIT.failed;
      } catch (e) {
        if (!o.json) throw e;
        const c = classify(e, { user });
        json({ user, exact: false, error: { message: errorText(c), code: c.code } });
        process.exitCode = c.exitCode === 2 ? EXIT.usage : EXIT.failed;
      }
    });
}

/** A dry run in the foreground: the plan on stdout (text, or JSON with `asJson`); nothing written. */
async function dryRunNow(cmd: Command, user: string, asJson: boolean): Promise<void> {
  const home = homeOf(cmd);
  const config = await loadConfig(home);
  const { dryRun } = await import("../migrate/dry-run.ts");
  const { formatDryRun } = await import("../migrate/report.ts");
  const { resolveSides } = await import("../mailstore/endpoints.ts");
  const { imapOpener } = await import("../mailstore/imap/opener.ts");
  const { vaultOf } = await import("../storage/vault.ts");
  const u = canonicalUser(user);
  const r = await dryRun({ home, config, user: u, opener: imapOpener(resolveSides(config, u, await vaultOf(home).sourceFor(u))) });
  if (asJson) json(r);
  else out(formatDryRun(r));
}

/** One migration in the foreground, its report on stdout (text, or JSON with `asJson`). */
async function migrateNow(cmd: Command, user: string, asJson: boolean): Promise<void> {
  const home = homeOf(cmd);
  const config = await loadConfig(home);
  const domain = user.slice(user.lastIndexOf("@") + 1).toLowerCase();
  const d = config.domains[domain];
  const problems = d ? domainProblems(domain, d) : [];
  if (problems.length) throw inputError(`${domain} cannot be migrated:\n${problems.map((p) => `  ${p}`).join("\n")}`, { user });
  // the engine and the IMAP adapter load only for commands that talk IMAP: settings commands start faster
  const { migrateUser } = await import("../migrate/migrate-user.ts");
  const { formatSummary, ProgressBar } = await import("../migrate/report.ts");
  const bar = !asJson && process.stderr.isTTY ? new ProgressBar((s) => process.stderr.write(s)) : undefined;
  const { resolveSides } = await import("../mailstore/endpoints.ts");
  const { imapOpener } = await import("../mailstore/imap/opener.ts");
  const { vaultOf } = await import("../storage/vault.ts");
  const opener = imapOpener(resolveSides(config, canonicalUser(user), await vaultOf(home).sourceFor(canonicalUser(user))));
  const { routeLocalFor } = await import("../storage/local-routes.ts");
  const report = await migrateUser({ home, config, user, opener, onProgress: bar ? (e) => bar.onEvent(e) : undefined, routeLocal: await routeLocalFor(home, config) });
  bar?.clear();
  // a running daemon schedules this user's catch-up passes (mail still reaching the old server);
  // without one they are scheduled when it starts
  if (report.status !== "failed") await daemonPost(home, "/catch-up", { user: report.user }, { timeoutMs: 2000 });
  if (asJson) json(report);
  else out(formatSummary(report));
  process.exitCode = report.status === "done" ? EXIT.ok : report.status === "partial" ? EXIT.partial : EXIT.failed;
}
