// Text the console shows, as pure functions (tested without a terminal).
import { formatBytes } from "../src/migrate/report.ts";
import { inWords } from "../src/status/status-view.ts";

export function bar(done: number, total: number, width = 10): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const fill = Math.round(frac * width);
  return `[${"#".repeat(fill)}${".".repeat(width - fill)}]`;
}

export interface JobView {
  user: string;
  domain: string;
  state: string;
  /** Cluster mode: the node that runs it. */
  node?: string;
  attempts?: number;
  lastError?: string;
  notBefore?: number;
  /** Finished runs: messages copied by that pass. */
  messages?: number;
  /** Finished runs: messages migrated into the account over all its passes. */
  totalMessages?: number;
  finishedAt?: string;
  failedAt?: number;
  /** Live and failed jobs: when they were queued (ms). */
  enqueuedAt?: number;
  /** A finished account whose catch-up pass is scheduled: when (ms). */
  catchUpAt?: number;
  progress?: { messagesDone: number; messagesTotal: number; bytesDone: number; bytesTotal: number; rateMsgPerSec: number; etaSec: number | null; folder?: string };
}

/** One queue row, fitted to `width` columns. */
export function jobRow(j: JobView, width: number, now = Date.now(), userWidth = 24): string {
  const p = j.progress;
  const state = j.state === "waiting" ? `retry ${j.attempts ?? 0}` : j.state;
  let detail = "";
  if (p) detail = `${bar(p.messagesDone, p.messagesTotal)} ${p.messagesDone}/${p.messagesTotal} ${formatBytes(p.bytesDone)} ${p.rateMsgPerSec}/s${p.etaSec !== null ? ` ETA ${p.etaSec}s` : ""}`;
  else if (j.state === "running" && j.node) detail = `on node ${j.node}`;
  else if (j.state === "waiting" && j.notBefore) detail = `in ${Math.max(0, Math.round((j.notBefore - now) / 1000))}s: ${j.lastError ?? ""}`;
  else if (j.state === "scheduled") detail = `catch-up pass ${j.notBefore ? inWords(j.notBefore - now) : "now"}`;
  else if (j.state === "failed" && j.lastError) detail = j.lastError;
  else if (j.messages !== undefined) detail = `${finishedCounts(j.messages, j.totalMessages)}${j.lastError ? ` — ${j.lastError}` : ""}`;
  else if (j.lastError) detail = j.lastError;
  if (j.catchUpAt !== undefined && j.state !== "scheduled") detail += ` · catch-up ${inWords(j.catchUpAt - now)}`;
  // 80 columns hold: user 24, state 8, bar 12, "2600/8000 22.6 MB 994/s ETA 5s"; a cut
  // address ends with "…"
  const user = j.user.length > userWidth ? `${j.user.slice(0, userWidth - 1)}…` : j.user.padEnd(userWidth);
  const line = `${user} ${state.padEnd(8)} ${detail.replace(/\s+/g, " ")}`;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/** The user column: as wide as the longest address shown, at least 24, and at most what the terminal leaves (48 at most). */
export function userColumn(users: string[], width: number): number {
  const longest = users.reduce((n, u) => Math.max(n, u.length), 0);
  return Math.max(24, Math.min(longest, 48, width - 56));
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** A finished run: the mailbox's total when known ("40 messages, 2 new"), else the pass's count. */
export function finishedCounts(pass: number, total?: number): string {
  if (total === undefined) return plural(pass, "message");
  return `${plural(total, "message")}${pass > 0 && pass !== total ? `, ${pass} new` : ""}`;
}

/**
 * One row per account (pure): its live job if it has one, else whichever came last of its
 * failure and its latest finished run. A user whose latest run succeeded is not "failed".
 */
export function accountRows(live: JobView[], failed: JobView[], recent: JobView[]): JobView[] {
  // a catch-up pass scheduled for later is not what the account is doing now: its row is its
  // latest outcome, with when the catch-up comes
  const active = live.filter((j) => j.state !== "scheduled");
  const rows = new Map<string, JobView>(active.map((j) => [j.user, j]));
  const when = (j: JobView) => (j.failedAt ?? (j.finishedAt ? Date.parse(j.finishedAt) : 0));
  // the failed list after the runs: a failure recorded in the same moment as its run wins
  for (const j of [...recent, ...failed.map((f) => ({ ...f, state: "failed" }))]) {
    if (rows.get(j.user) && active.some((l) => l.user === j.user)) continue;
    const had = rows.get(j.user);
    if (!had || when(j) >= when(had)) rows.set(j.user, j);
  }
  for (const s of live.filter((j) => j.state === "scheduled")) {
    const outcome = rows.get(s.user);
    rows.set(s.user, outcome ? { ...outcome, catchUpAt: s.notBefore } : s);
  }
  return [...rows.values()];
}

export type SortKey = "state" | "age" | "size";
export const SORT_KEYS: SortKey[] = ["state", "age", "size"];

const STATE_RANK: Record<string, number> = { failed: 0, running: 1, waiting: 2, queued: 3, partial: 4, scheduled: 5, done: 6 };
/** When a row's job was queued, or its run ended (ms). */
const since = (j: JobView) => j.enqueuedAt ?? j.failedAt ?? (j.finishedAt ? Date.parse(j.finishedAt) : Number.MAX_SAFE_INTEGER);
/** A row's mailbox size in messages, as far as known. */
const size = (j: JobView) => j.progress?.messagesTotal ?? j.totalMessages ?? j.messages ?? 0;

/**
 * The queue's order (pure). state (the default): what needs the admin first — failed, then
 * running, waiting, queued, then finished runs; age: the longest waiting first; size: the
 * largest mailbox first. By user within equal keys.
 */
export function sortJobs<T extends JobView>(jobs: T[], by: SortKey = "state"): T[] {
  const rank = (s: string) => STATE_RANK[s] ?? 6;
  const key: Record<SortKey, (a: T, b: T) => number> = {
    state: (a, b) => rank(a.state) - rank(b.state),
    age: (a, b) => since(a) - since(b),
    size: (a, b) => size(b) - size(a),
  };
  return [...jobs].sort((a, b) => key[by](a, b) || (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
}

export function matchesFilter(j: { user: string; domain: string; state: string }, filter: string): boolean {
  if (!filter) return true;
  const f = filter.toLowerCase();
  return j.domain.includes(f) || j.state === f || j.user.includes(f);
}

/** A domain's accounts by outcome: "12/40 done (30%), 1 partial, 2 failed, 25 not started". */
export function progressText(p: { accounts: number; done: number; partial: number; failed: number; notStarted?: number; perHour?: number; etaHours?: number } | undefined): string {
  if (!p || p.accounts === 0) return "";
  const eta = p.etaHours === undefined ? "" : p.etaHours < 1 ? `, ETA ${Math.ceil(p.etaHours * 60)} min` : `, ETA ${p.etaHours.toFixed(1)} h`;
  const rate = p.perHour ? `, ${p.perHour}/h${eta}` : "";
  return [`${p.done}/${p.accounts} done (${Math.floor((100 * p.done) / p.accounts)}%)`, ...(p.partial ? [`${p.partial} partial`] : []), ...(p.failed ? [`${p.failed} failed`] : []), ...(p.notStarted ? [`${p.notStarted} not started`] : [])].join(", ") + rate;
}

/** blessed tags: text shown as is ("{" and "}" escaped). */
const esc = (t: string) => t.replace(/[{}]/g, (c) => (c === "{" ? "{open}" : "{close}"));
/** A row with one part coloured. */
const tagged = (row: string, at: number, len: number, colour: string) => `${esc(row.slice(0, at))}{${colour}-fg}${esc(row.slice(at, at + len))}{/${colour}-fg}${esc(row.slice(at + len))}`;

const STATE_COLOUR: Record<string, string> = { failed: "red", partial: "yellow", retry: "yellow", running: "cyan", done: "green" };

/** A queue row with its state word coloured (failed red, partial and retry yellow, running cyan, done green). */
export function colourJobRow(row: string): string {
  const m = /^(\S+\s+)(failed|partial|done|running|queued|retry)\b/.exec(row);
  const colour = m ? STATE_COLOUR[m[2]!] : undefined;
  return m && colour ? tagged(row, m[1]!.length, m[2]!.length, colour) : esc(row);
}

/** A domain row with "Migration Enabled" green and its problem ("! ...") red. */
export function colourDomainRow(row: string): string {
  const bang = row.indexOf("  ! ");
  const base = bang >= 0 ? row.slice(0, bang) : row;
  const on = base.indexOf("Migration Enabled");
  const head = on >= 0 ? tagged(base, on, "Migration Enabled".length, "green") : esc(base);
  return bang >= 0 ? `${head}  {red-fg}${esc(row.slice(bang + 2))}{/red-fg}` : head;
}

/** One domain row, cut with "…" to `width` (the whole problem is shown below the list). */
export function domainRow(name: string, enabled: boolean, problem?: string, width = Infinity, progress = ""): string {
  const line = `${name.padEnd(34)} ${enabled ? "Migration Enabled " : "Migration Disabled"}${progress ? `  ${progress}` : ""}${problem ? `  ! ${problem}` : ""}`;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/**
 * The key bar: the view's keys, cut with "…" where the terminal is too narrow, and
 * "? help  q quit" always visible at the end (help lists every key).
 */
export function keyBar(viewKeys: string, width: number): string {
  const always = "  ? help  q quit ";
  const room = Math.max(0, width - always.length - 1);
  const keys = viewKeys.length > room ? `${viewKeys.slice(0, Math.max(0, room - 1))}…` : viewKeys.padEnd(room);
  return ` ${keys}${always}`;
}
