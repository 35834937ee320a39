// What the daemon answers on its control socket (GET /status, GET /accounts/<user>), typed
// (the daemon builds these types; the CLI and the console read them), and their one
// rendering in words: `automigrate status [user]` prints these lines and the console's
// account screen shows them. Pure: no I/O.
import { noticesText } from "../report/account-rows.ts";
import type { DomainProgress, Job, Paused } from "../queue/policy.ts";
import type { AccountState } from "../store/account-state.ts";
import { formatBytes } from "../migrate/report.ts";
import { printable } from "../text.ts";

export interface JobProgress {
  folder?: string;
  messagesDone: number;
  messagesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  rateMsgPerSec: number;
  etaSec: number | null;
  /** Its reads are being paced by the old server's bandwidth cap. */
  waitingForBandwidth?: boolean;
}

export type LiveJob = Job & { progress?: JobProgress };
export type FailedJobView = Job & { failedAt: number };

/** A run the daemon finished for the account (its recent history). */
export interface RunRecord {
  user: string;
  domain: string;
  state: string;
  finishedAt: string;
  messages: number;
  totalMessages?: number;
  lastError?: string;
}

export interface IgnoredLogin {
  at: string;
  user: string;
  reason: string;
}

export interface AccountAnswer {
  user: string;
  job: LiveJob | null;
  failed: FailedJobView | null;
  ignored: IgnoredLogin[];
  /** The daemon's recent log lines about the account. */
  log?: string[];
  runs?: RunRecord[];
  /** The account's state document, when it has one. */
  state: AccountState | null;
}

/** GET /status: the daemon, its queue and its sockets. */
export interface DaemonStatus {
  pid: number;
  startedAt: string;
  paused: Paused;
  counts: { queued: number; running: number; waiting: number; scheduled?: number; failed: number };
  jobs: LiveJob[];
  failed: FailedJobView[];
  ignored: IgnoredLogin[];
  recent: RunRecord[];
  logs: { path: string; current?: { ino: number; offset: number }; previous?: { ino: number; offset: number } }[];
  logsRefused: { path: string; reason: string }[];
  eventsSeen: number;
  domains: Record<string, DomainProgress>;
  routing: { socket: string; lookups: number } | null;
  firstLogin: { socket: string; checks: number; accepted: number; refused: number; temporary: number } | null;
}

export { printable } from "../text.ts";

/** `head`, then `text` (an error, a reason) whole: its first line after " — ", the others below, indented. */
export function withText(head: string, text: string | undefined, indent: string, sep = " — "): string[] {
  if (!text) return [head];
  const [first, ...rest] = text.split(/\r?\n/);
  return [`${head}${sep}${first}`, ...rest.filter((l) => l.trim()).map((l) => `${indent}${l.trim()}`)];
}

/** The daemon's status in words (`automigrate status`), every line printable. */
export function statusLines(s: DaemonStatus, now = Date.now()): string[] {
  return statusText(s, now).map(printable);
}

function statusText(s: DaemonStatus, now: number): string[] {
  const lines = [`daemon pid ${s.pid}, up since ${s.startedAt}${s.paused.all ? ", PAUSED" : ""}${s.paused.domains.length ? `, paused domains: ${s.paused.domains.join(" ")}` : ""}`];
  lines.push(`queued ${s.counts.queued}, running ${s.counts.running}, waiting to retry ${s.counts.waiting}, catch-up passes scheduled ${s.counts.scheduled ?? 0}, failed ${s.counts.failed}`);
  if (s.routing) lines.push(`mail routing: socketmap:unix:${s.routing.socket}:transport, ${s.routing.lookups} lookups`);
  if (s.firstLogin) lines.push(`first logins: ${s.firstLogin.socket}, ${s.firstLogin.checks} checks (${s.firstLogin.accepted} accepted, ${s.firstLogin.refused} refused, ${s.firstLogin.temporary} temporary failures)`);
  for (const l of s.logsRefused) lines.push(`LOGIN LOG NOT TAILED: ${l.reason}`);
  for (const j of s.jobs) {
    const prog = j.progress ? `  ${progressText(j.progress)}` : "";
    if (j.state === "waiting" && j.lastErrorCode === "BUDGET") lines.push(...withText(`  waiting  ${j.user}  for its download budget: continues ${whenText(j.notBefore, now)}`, codeAndText(j), "             ", ": "));
    else if (j.state === "waiting") lines.push(...withText(`  waiting  ${j.user}${prog}  retry ${j.attempts} in ${Math.max(0, Math.round(((j.notBefore ?? now) - now) / 1000))}s`, codeAndText(j), "             ", ": "));
    else if (j.state === "scheduled") lines.push(`  ${j.state.padEnd(8)} ${j.user}  catch-up pass ${whenText(j.notBefore, now)}`);
    else lines.push(`  ${j.state.padEnd(8)} ${j.user}${prog}${j.reason === "catch-up" ? "  (catch-up pass)" : ""}${j.state === "running" && j.node && !j.progress ? `  on node ${j.node}` : ""}`);
  }
  for (const f of s.failed) lines.push(...withText(`  failed   ${f.user}`, codeAndText(f), "             ", "  "));
  for (const i of s.ignored.slice(-5)) lines.push(`  ignored  ${i.user}  ${i.reason}`);
  return lines;
}

/** Nothing known of the account: never queued, never migrated, no login seen. */
export function unknownAccount(a: AccountAnswer): boolean {
  return !a.job && !a.failed && !a.state && !a.ignored.length;
}

/** "2600/8000 messages, 22.6 MB/40 MB, 994 msg/s, ETA 5s, in "INBOX"". */
export function progressText(p: JobProgress): string {
  return `${p.messagesDone}/${p.messagesTotal} messages, ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}, ${p.rateMsgPerSec} msg/s${p.etaSec !== null ? `, ETA ${p.etaSec}s` : ""}${p.folder ? `, in "${p.folder}"` : ""}${p.waitingForBandwidth ? ", paced by the old server's bandwidth cap (migration.old.maxBytesPerSec)" : ""}`;
}

/** The last `automigrate verify`, in words. */
export function verifiedText(v: { at: string; deep: boolean; exact: boolean; missing: number }): string {
  return `verified ${v.exact ? "EXACT" : `with differences (${v.missing} missing)`} at ${v.at} (${v.deep ? "every message" : "counts"})`;
}

/** "[CODE] text" of a job's last error. */
function codeAndText(j: { lastError?: string; lastErrorCode?: string }): string | undefined {
  return j.lastError ? `${j.lastErrorCode ? `[${j.lastErrorCode}] ` : ""}${j.lastError}` : undefined;
}

/** "in 14m", "in 3h", "in 6d"; "now" when it is due. */
export function inWords(ms: number): string {
  const s = Math.round(ms / 1000);
  return s <= 0 ? "now" : s < 120 ? `in ${s}s` : s < 7200 ? `in ${Math.round(s / 60)}m` : s < 172_800 ? `in ${Math.round(s / 3600)}h` : `in ${Math.round(s / 86_400)}d`;
}

/** "at 2026-12-05T10:15:00Z (in 14m)" */
function whenText(at: number | undefined, now: number): string {
  if (at === undefined) return "now";
  return `at ${new Date(at).toISOString().replace(/\.\d+Z$/, "Z")} (${inWords(at - now)})`;
}

/** The account's job in one line: live state with its progress, its failure, or none (an error's first line). */
export function jobText(a: AccountAnswer, now = Date.now()): string {
  if (a.job) {
    const wait = a.job.state === "waiting" && a.job.lastError ? ` (retry ${a.job.attempts}: ${codeAndText(a.job)!.split("\n")[0]})` : "";
    const scheduled = a.job.state === "scheduled" ? ` (catch-up pass ${whenText(a.job.notBefore, now)})` : "";
    return `${a.job.state}${a.job.progress ? `, ${progressText(a.job.progress)}` : ""}${wait}${scheduled}`;
  }
  return a.failed ? `failed: ${(codeAndText(a.failed) ?? "no reason recorded").split("\n")[0]}` : "none";
}

/**
 * The account in words, line by line: job, account, last run, history, verify, external
 * application, folders with their skipped messages, the daemon's log lines, logins not
 * acted on. `history` and `log` limit how many of each are shown.
 */
export function accountLines(a: AccountAnswer, opts: { history?: number; log?: number; ignored?: number } = {}): string[] {
  return accountText(a, opts).map(printable);
}

function accountText(a: AccountAnswer, opts: { history?: number; log?: number; ignored?: number }): string[] {
  const { history = 10, log = 8, ignored = 5 } = opts;
  const lines = [`${a.user}: job ${jobText(a)}`];
  const st = a.state;
  if (st?.account) lines.push(`  account: class ${st.account.className}, ${st.account.tier}, created ${st.account.createdAt} (${st.account.via})`);
  if (st?.routedLocalAt) lines.push(`  mail routed to the new server since ${st.routedLocalAt}`);
  if (st?.lastRun) lines.push(...withText(`  last run: ${st.lastRun.status} at ${st.lastRun.finishedAt}, ${st.lastRun.messages} messages`, st.lastRun.error, "    "));
  // the runs this daemon has seen for the account, newest first
  const runs = a.runs ?? [];
  if (runs.length > 1) lines.push("  history:", ...runs.slice(-history).reverse().map((r) => `    ${r.finishedAt} ${r.state} ${r.messages} new${r.lastError ? ` — ${firstLine(r.lastError)}` : ""}`));
  if (st?.verified) lines.push(`  ${verifiedText(st.verified)}`);
  if (st?.notices) lines.push(`  notices: ${noticesText(st)}`);
  if (st?.pim) lines.push(`  external application: ${st.pim.status} at ${st.pim.at} (exit ${st.pim.exitCode ?? "none"})${st.pim.stderrTail ? ` — ${st.pim.stderrTail.trim().split("\n").pop()}` : ""}`);
  const folders = Object.entries(st?.folders ?? {});
  if (folders.length) lines.push("  folders:");
  for (const [name, f] of folders) {
    lines.push(`    ${name} → ${f.target}: ${f.messages} messages, up to UID ${f.lastUid}${f.skipped.length ? `, ${f.skipped.length} skipped` : ""}`);
    for (const s of f.skipped) lines.push(`      skipped UID ${s.uid}: ${s.reason}`);
  }
  // what the daemon did comes before the logins it ignored (mostly its own sessions)
  if (a.log?.length) lines.push("  recent log lines:", ...a.log.slice(-log).map((l) => `    ${l}`));
  if (a.ignored.length) lines.push("  logins not acted on:", ...a.ignored.slice(-ignored).map((i) => `    ${i.at} ${i.reason}`));
  return lines;
}

const firstLine = (t: string) => t.split("\n")[0]!;
