// automigrate status [user]
import type { Command } from "commander";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { daemonGet } from "../control-client.ts";
import { homePaths } from "../home.ts";
import { accountFileName } from "../store/account-state.ts";
import { readJsonFile } from "../store/json-file.ts";
import { formatBytes } from "../migrate/report.ts";
import { EXIT, homeOf, json, out } from "./common.ts";
import { addressProblem } from "../address.ts";
import { loadConfig } from "../config/store.ts";
import { AutomigrateError, inputError } from "../errors.ts";


function jsonFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
}

function readAll(dir: string, only?: string): any[] {
  return (only ? [accountFileName(only)] : jsonFiles(dir)).map((f) => readJsonFile(join(dir, f))).filter(Boolean);
}

/** What the state files say (the daemon's queue and failed jobs, the accounts' last runs). */
function offlineStatus(home: string, user?: string): any {
  const paths = homePaths(home);
  const accounts = readAll(paths.accounts, user).map((a) => ({ user: a.user, runs: a.runs ?? 0, lastRun: a.lastRun ?? null, pim: a.pim ?? null, verified: a.verified ?? null }));
  return { daemon: null, jobs: readAll(join(paths.state, "queue"), user), failed: readAll(join(paths.state, "failed"), user), accounts };
}

/** The last `automigrate verify`, in words. */
export function verifiedText(v: { at: string; deep: boolean; exact: boolean; missing: number }): string {
  return `verified ${v.exact ? "EXACT" : `with differences (${v.missing} missing)`} at ${v.at} (${v.deep ? "every message" : "counts"})`;
}

function formatLive(s: any): string {
  const lines = [`daemon pid ${s.pid}, up since ${s.startedAt}${s.paused.all ? ", PAUSED" : ""}${s.paused.domains.length ? `, paused domains: ${s.paused.domains.join(" ")}` : ""}`];
  lines.push(`queued ${s.counts.queued}, running ${s.counts.running}, waiting to retry ${s.counts.waiting}, failed ${s.counts.failed}`);
  if (s.routing) lines.push(`mail routing: socketmap:unix:${s.routing.socket}:transport, ${s.routing.lookups} lookups`);
  if (s.firstLogin) lines.push(`first logins: ${s.firstLogin.socket}, ${s.firstLogin.checks} checks (${s.firstLogin.accepted} accepted, ${s.firstLogin.refused} refused, ${s.firstLogin.temporary} temporary failures)`);
  for (const l of s.logsRefused ?? []) lines.push(`LOGIN LOG NOT TAILED: ${l.reason}`);
  for (const j of s.jobs) {
    const p = j.progress;
    const prog = p ? `  ${p.messagesDone}/${p.messagesTotal} msgs, ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}, ${p.rateMsgPerSec} msg/s${p.etaSec !== null ? `, ETA ${p.etaSec}s` : ""}${p.folder ? `, in "${p.folder}"` : ""}` : "";
    const wait = j.state === "waiting" ? `  retry ${j.attempts} in ${Math.max(0, Math.round((j.notBefore - Date.now()) / 1000))}s: ${j.lastError}` : "";
    lines.push(`  ${j.state.padEnd(8)} ${j.user}${prog}${wait}`);
  }
  for (const f of s.failed) lines.push(`  failed   ${f.user}  ${f.lastError}`);
  for (const i of s.ignored.slice(-5)) lines.push(`  ignored  ${i.user}  ${i.reason}`);
  return lines.join("\n");
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
      const u = user?.toLowerCase();
      if (u) {
        // a typo or an unknown domain is said as such, not answered with "no job"
        const bad = addressProblem(u);
        if (bad) throw inputError(bad, { user: u });
        const domain = u.slice(u.lastIndexOf("@") + 1);
        if (!loadConfig(home).domains[domain]) throw new AutomigrateError(`domain ${domain} is not configured`, { user: u, hint: "automigrate domain list shows the configured domains" });
      }
      const live = await daemonGet(home, u ? `/accounts/${encodeURIComponent(u)}` : "/status");
      if (o.json) return json(live ? { daemon: "running", ...live } : { ...offlineStatus(home, u), daemon: "not running" });
      if (!live) {
        const s = offlineStatus(home, u);
        out("the daemon is not running: live status is unavailable; from the state files:");
        for (const j of s.jobs) out(`  ${j.state.padEnd(8)} ${j.user}${j.lastError ? `  ${j.lastError}` : ""}`);
        for (const f of s.failed) out(`  failed   ${f.user}  ${f.lastError}`);
        for (const a of s.accounts) {
          out(`  account  ${a.user}  ${a.lastRun ? `${a.lastRun.status} at ${a.lastRun.finishedAt}, ${a.lastRun.messages} messages` : "never migrated"}`);
          if (a.pim) out(`           external application: ${a.pim.status} at ${a.pim.at} (exit ${a.pim.exitCode ?? "none"})`);
          if (a.verified) out(`           ${verifiedText(a.verified)}`);
        }
        return;
      }
      if (u) {
        if (!live.job && !live.failed && !live.state && !live.ignored?.length) {
          out(`${u}: unknown to automigrate: never queued, never migrated, no login seen`);
          process.exitCode = EXIT.failed;
          return;
        }
        out(`${u}: ${live.job ? `${live.job.state}${live.job.progress ? `, ${live.job.progress.messagesDone}/${live.job.progress.messagesTotal} messages` : ""}` : live.failed ? `failed: ${live.failed.lastError}` : "no job"}`);
        const st = live.state;
        if (st?.lastRun) out(`  last run: ${st.lastRun.status} at ${st.lastRun.finishedAt}, ${st.lastRun.messages} messages${st.lastRun.error ? `, ${st.lastRun.error}` : ""}`);
        if (st?.verified) out(`  ${verifiedText(st.verified)}`);
        if (st?.pim) out(`  external application: ${st.pim.status} at ${st.pim.at} (exit ${st.pim.exitCode ?? "none"})${st.pim.stderrTail ? `: ${st.pim.stderrTail.replace(/\n/g, " | ")}` : ""}`);
        for (const [folder, f] of Object.entries<any>(st?.folders ?? {})) out(`  ${folder} → ${f.target}: ${f.messages} messages, up to UID ${f.lastUid}${f.skipped.length ? `, ${f.skipped.length} skipped` : ""}`);
        for (const i of live.ignored) out(`  login ignored at ${i.at}: ${i.reason}`);
        return;
      }
      out(formatLive(live));
      process.exitCode = EXIT.ok;
    });
}
