// automigrate status [user]
import type { Command } from "commander";
import { daemonAccount, daemonStatus, refusedBy } from "../control-client.ts";
import { accountStatesOf } from "../storage/account-states.ts";
import { storedQueue, storedQueueEntry } from "../storage/queue.ts";
import { accountLines, printable, statusLines, unknownAccount, verifiedText, withText, type AccountAnswer, type DaemonStatus } from "../status/status-view.ts";
import { EXIT, homeOf, json, out } from "./common.ts";
import { addressProblem, canonicalUser } from "../address.ts";
import { loadConfig, loadLocalConfig, usesDatabase } from "../config/store.ts";
import { clusterLines, clusterView } from "../storage/check.ts";
import { AutomigrateError, inputError } from "../errors.ts";


/** What the state files say (the daemon's queue and failed jobs, the accounts' last runs). */
async function offlineStatus(home: string) {
  const states = accountStatesOf(home);
  const accounts = (await Promise.all((await states.users()).map((u) => states.read(u)))).flatMap((a) => (a ? [{ user: a.user, runs: a.runs, lastRun: a.lastRun ?? null, pim: a.pim ?? null, verified: a.verified ?? null }] : []));
  const { jobs, failed, paused } = await storedQueue(home);
  return { daemon: null, jobs, failed, paused, accounts };
}

/** One account from the state files, as the daemon would answer it (without its live parts). */
async function offlineAccount(home: string, user: string): Promise<AccountAnswer> {
  return { user, ...(await storedQueueEntry(home, user)), ignored: [], state: await accountStatesOf(home).read(user) };
}

export function addStatusCommand(program: Command): void {
  program
    .command("status")
    .description("the queue and accounts: live from the daemon, or from the state files when it is not running")
    .argument("[user@domain]", "one account in detail")
    .option("--json", "JSON output")
    .addHelpText("after", "\nExamples:\n  automigrate status\n  automigrate status alice@example.com --json")
    .action(async (user: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const u = user === undefined ? undefined : canonicalUser(user);
      if (u) {
        // a typo or an unknown domain is said as such, not answered with "no job"
        const bad = addressProblem(u);
        if (bad) throw inputError(bad, { user: u });
        const domain = u.slice(u.lastIndexOf("@") + 1);
        if (!(await loadConfig(home)).domains[domain]) throw new AutomigrateError(`domain ${domain} is not configured`, { user: u, hint: "automigrate domain list shows the configured domains" }, { code: "NOT_FOUND" });
      }
      const answer = u ? await daemonAccount(home, u) : await daemonStatus(home);
      if (refusedBy(answer)) throw new AutomigrateError(`the daemon refused: ${answer.error}`, u ? { user: u } : {}, { code: answer.code });
      const live = answer;
      // cluster mode: the nodes and which of them runs which user, from the database
      const local = loadLocalConfig(home);
      const cluster = !u && usesDatabase(local) ? await clusterView(home, local) : undefined;
      // one account: the same shape live and from the state files
      if (o.json) return json(live ? { daemon: "running", ...live, ...(cluster ? { cluster } : {}) } : { ...(u ? await offlineAccount(home, u) : await offlineStatus(home)), daemon: "not running", ...(cluster ? { cluster } : {}) });
      if (cluster) for (const line of clusterLines(cluster)) out(line);
      if (!live && u) {
        out("the daemon is not running: live status is unavailable; from the state files:");
        for (const line of accountLines(await offlineAccount(home, u))) out(line);
        return;
      }
      if (!live) {
        const s = await offlineStatus(home);
        out("the daemon is not running: live status is unavailable; from the state files:");
        for (const j of s.jobs) for (const l of withText(`  ${j.state.padEnd(8)} ${j.user}`, j.lastError, "             ", "  ")) out(printable(l));
        for (const f of s.failed) for (const l of withText(`  failed   ${f.user}`, f.lastError, "             ", "  ")) out(printable(l));
        for (const a of s.accounts) {
          out(`  account  ${a.user}  ${a.lastRun ? `${a.lastRun.status} at ${a.lastRun.finishedAt}, ${a.lastRun.messages} messages` : "never migrated"}`);
          if (a.pim) out(`           external application: ${a.pim.status} at ${a.pim.at} (exit ${a.pim.exitCode ?? "none"})`);
          if (a.verified) out(`           ${verifiedText(a.verified)}`);
        }
        return;
      }
      if (u) {
        const answer = live as AccountAnswer;
        if (unknownAccount(answer)) {
          out(`${u}: unknown to automigrate: never queued, never migrated, no login seen`);
          process.exitCode = EXIT.failed;
          return;
        }
        for (const line of accountLines(answer)) out(line);
        return;
      }
      for (const line of statusLines(live as DaemonStatus)) out(line);
      process.exitCode = EXIT.ok;
    });
}
