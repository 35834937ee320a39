// What `automigrate report` says about each account, and the totals per domain: built from an
// account's state document (and its queue entry) alone, one account at a time, so that
// 100,000 accounts stream in bounded memory (only the per-domain totals are kept). Pure.
import type { AccountState } from "../store/account-state.ts";

export interface ReportRow {
  user: string;
  domain: string;
  /** The account class automigrate created the account with (empty: it did not create it). */
  class: string;
  tier: string;
  /** not_started, done, partial or failed: the latest run's status (a job failed for good is failed). */
  state: string;
  /** When a run first reached the account on the new server. */
  firstRun: string;
  /** When the latest run ended. */
  lastRun: string;
  /** Messages the old folders held when their last pass began. */
  oldMessages: number;
  /** Their size on the old server, as the passes read it. */
  oldBytes: number;
  messagesCopied: number;
  bytesCopied: number;
  messagesSkipped: number;
  /** Skipped messages by code, "CODE:n" joined by spaces, most first. */
  skippedByCode: string;
  /** Folders the new server holds under another name: "old → new", joined by "; ". */
  renamedFolders: string;
  /** exact, differences (N missing), or empty when never verified. */
  verified: string;
  verifiedAt: string;
  lastErrorCode: string;
  /** The latest error's first line. */
  lastError: string;
  /** Notices to the user: "started delivered 2026-12-06T…; completed failed: …", empty when none. */
  notices: string;
}

export const REPORT_COLUMNS: (keyof ReportRow)[] = ["user", "domain", "class", "tier", "state", "firstRun", "lastRun", "oldMessages", "oldBytes", "messagesCopied", "bytesCopied", "messagesSkipped", "skippedByCode", "renamedFolders", "verified", "verifiedAt", "lastErrorCode", "lastError", "notices"];

export const NUMERIC_COLUMNS: ReadonlySet<keyof ReportRow> = new Set(["oldMessages", "oldBytes", "messagesCopied", "bytesCopied", "messagesSkipped"]);

export const REPORT_STATES = ["not_started", "done", "partial", "failed"] as const;
export type ReportState = (typeof REPORT_STATES)[number];

/** A job that failed for good, as the queue keeps it. */
export interface FailedEntry {
  failedAt: number;
  lastError?: string;
  lastErrorCode?: string;
}

const firstLine = (s: string | undefined) => (s ?? "").split(/\r?\n/)[0]!;

/** The account's notices in one field. */
export function noticesText(state: AccountState | null): string {
  const n = state?.notices;
  if (!n) return "";
  return (["started", "completed"] as const)
    .flatMap((kind) => {
      const r = n[kind];
      if (!r) return [];
      return [`${kind} ${r.state === "appending" && !r.error ? "being delivered" : r.state === "appending" ? "failed" : r.state} ${r.at}${r.error ? `: ${firstLine(r.error)}` : ""}`];
    })
    .join("; ");
}

/** One account's row: its state document (null: no run has reached it yet) and its failed-for-good entry. */
export function reportRow(user: string, state: AccountState | null, failed?: FailedEntry): ReportRow {
  const folders = Object.values(state?.folders ?? {});
  const codes = new Map<string, number>();
  for (const f of folders) for (const s of f.skipped) codes.set(s.code ?? "UNKNOWN", (codes.get(s.code ?? "UNKNOWN") ?? 0) + 1);
  const v = state?.verified;
  const last = state?.lastRun;
  // a job that failed for good after the last recorded run says how the account stands now
  const failedLater = failed && (!last || failed.failedAt > Date.parse(last.finishedAt));
  return {
    user,
    domain: user.slice(user.lastIndexOf("@") + 1),
    class: state?.account?.className ?? "",
    tier: state?.account?.tier ?? "",
    state: failedLater ? "failed" : (last?.status ?? "not_started"),
    firstRun: state?.routedLocalAt ?? "",
    lastRun: failedLater ? new Date(failed.failedAt).toISOString() : (last?.finishedAt ?? ""),
    oldMessages: folders.reduce((n, f) => n + (f.oldMessages ?? 0), 0),
    oldBytes: folders.reduce((n, f) => n + (f.oldBytes ?? 0), 0),
    messagesCopied: folders.reduce((n, f) => n + f.messages, 0),
    bytesCopied: folders.reduce((n, f) => n + f.bytes, 0),
    messagesSkipped: folders.reduce((n, f) => n + f.skipped.length, 0),
    skippedByCode: [...codes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([c, n]) => `${c}:${n}`).join(" "),
    renamedFolders: (state?.renamed ?? []).map((r) => `${r.from} → ${r.to}`).join("; "),
    verified: v ? (v.exact ? "exact" : `differences (${v.missing} missing)`) : "",
    verifiedAt: v?.at ?? "",
    lastErrorCode: failedLater ? (failed.lastErrorCode ?? "") : (last?.errorCode ?? ""),
    lastError: failedLater ? firstLine(failed.lastError) : firstLine(last?.error),
    notices: noticesText(state),
  };
}

export interface DomainTotals {
  domain: string;
  accounts: number;
  byState: Record<ReportState, number>;
  oldMessages: number;
  oldBytes: number;
  messagesCopied: number;
  bytesCopied: number;
  messagesSkipped: number;
}

export interface OverallTotals extends Omit<DomainTotals, "domain"> {
  /** Accounts that reached done in the last `windowDays`, per day. */
  donePerDay: number;
  windowDays: number;
  /** Days until every account is done at that pace; 0 when all are; null when none finished lately. */
  etaDays: number | null;
}

const DAY_MS = 86_400_000;
const zeroStates = () => Object.fromEntries(REPORT_STATES.map((s) => [s, 0])) as Record<ReportState, number>;

/** Per-domain totals, kept while the rows stream by; then the overall pace and ETA. */
export class ReportTotals {
  private readonly byDomain = new Map<string, DomainTotals>();
  private recentDone = 0;

  constructor(
    private readonly now: number,
    private readonly windowDays = 7,
  ) {}

  add(r: ReportRow): void {
    let d = this.byDomain.get(r.domain);
    if (!d) this.byDomain.set(r.domain, (d = { domain: r.domain, accounts: 0, byState: zeroStates(), oldMessages: 0, oldBytes: 0, messagesCopied: 0, bytesCopied: 0, messagesSkipped: 0 }));
    d.accounts++;
    d.byState[r.state as ReportState]++;
    d.oldMessages += r.oldMessages;
    d.oldBytes += r.oldBytes;
    d.messagesCopied += r.messagesCopied;
    d.bytesCopied += r.bytesCopied;
    d.messagesSkipped += r.messagesSkipped;
    if (r.state === "done" && r.lastRun && this.now - Date.parse(r.lastRun) <= this.windowDays * DAY_MS) this.recentDone++;
  }

  /** The domains, by name. */
  domains(): DomainTotals[] {
    return [...this.byDomain.values()].sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  }

  overall(): OverallTotals {
    const all = [...this.byDomain.values()];
    const sum = (k: "accounts" | "oldMessages" | "oldBytes" | "messagesCopied" | "bytesCopied" | "messagesSkipped") => all.reduce((n, d) => n + d[k], 0);
    const byState = zeroStates();
    for (const d of all) for (const s of REPORT_STATES) byState[s] += d.byState[s];
    const accounts = sum("accounts");
    const donePerDay = this.recentDone / this.windowDays;
    const left = accounts - byState.done;
    return {
      accounts,
      byState,
      oldMessages: sum("oldMessages"),
      oldBytes: sum("oldBytes"),
      messagesCopied: sum("messagesCopied"),
      bytesCopied: sum("bytesCopied"),
      messagesSkipped: sum("messagesSkipped"),
      donePerDay: Math.round(donePerDay * 10) / 10,
      windowDays: this.windowDays,
      etaDays: left === 0 ? 0 : donePerDay > 0 ? Math.round((left / donePerDay) * 10) / 10 : null,
    };
  }
}
