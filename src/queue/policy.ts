// The migration queue's decisions, as plain functions over plain data: one job per user,
// "migrate now" before fresh logins before retries and catch-up passes before sweeps, limits in
// total and per old server, exponential backoff with jitter, pause per domain or globally.
// What a job becomes after each event is the table in job-policy.ts.
import type { ErrorCode } from "../errors.ts";

export type JobReason = "login" | "manual" | "retry" | "catch-up" | "sweep";
/** queued: to run now; scheduled: a catch-up pass, not before notBefore; waiting: a retry after backoff. */
export type JobState = "queued" | "scheduled" | "running" | "waiting";
export const JOB_STATES: readonly JobState[] = ["queued", "scheduled", "running", "waiting"];

/** Lower runs first: an admin's "migrate now" goes before the logins and bulk work queued earlier. */
export const PRIORITY: Record<JobReason, number> = { manual: -1, login: 0, retry: 1, "catch-up": 1, sweep: 2 };

export interface Job {
  user: string;
  domain: string;
  /** "host:port" of the old server: the unit of the per-server limit. */
  oldServer: string;
  reason: JobReason;
  priority: number;
  state: JobState;
  /** Runs so far that failed with a transient error. */
  attempts: number;
  enqueuedAt: number;
  /** Not before this time (backoff). */
  notBefore?: number;
  lastError?: string;
  /** The stable code of lastError (what it was, for reports and decisions; the text is for people). */
  lastErrorCode?: ErrorCode;
  /** A login arrived while the job ran: run one more incremental pass afterwards. */
  again?: boolean;
  /** Cluster mode: the node that runs it (a running job). */
  node?: string;
  /** Cluster mode: an admin cancelled it while it runs; its node stops it at the next safe point. */
  cancel?: boolean;
}

export interface Limits {
  total: number;
  perOldServer: number;
}

export interface Paused {
  all: boolean;
  domains: string[];
}

export type EnqueueResult = "queued" | "merged" | "again";

/** Adds a job for `user`, or merges into the one already there (never two jobs for one user). */
export function enqueue(jobs: Job[], req: { user: string; domain: string; oldServer: string; reason: JobReason; now: number; continuous: boolean }): EnqueueResult {
  const existing = jobs.find((j) => j.user === req.user);
  if (!existing) {
    jobs.push({ user: req.user, domain: req.domain, oldServer: req.oldServer, reason: req.reason, priority: PRIORITY[req.reason], state: "queued", attempts: 0, enqueuedAt: req.now });
    return "queued";
  }
  if (existing.state === "running") {
    // new mail may have arrived since the pass started: one more pass, not a second job
    if (req.continuous && req.reason !== "sweep") existing.again = true;
    return existing.again ? "again" : "merged";
  }
  if (PRIORITY[req.reason] < existing.priority) {
    existing.priority = PRIORITY[req.reason];
    existing.reason = req.reason;
  }
  // a fresh login does not wait out a backoff meant for a server that was down; any pass asked
  // for now (a login, an admin, a sweep) runs now instead of a catch-up pass scheduled later
  // (its end schedules the catch-up passes still to come)
  if (req.reason === "login" || req.reason === "manual" || existing.state === "scheduled") {
    existing.notBefore = undefined;
    if (existing.state === "scheduled") {
      existing.state = "queued";
      return "queued"; // a pass later became a pass now: as good as newly queued
    }
  }
  return "merged";
}

/** The next job to start now, or undefined. */
export function pickNext(jobs: Job[], now: number, limits: Limits, paused: Paused): Job | undefined {
  if (paused.all) return undefined;
  const running = jobs.filter((j) => j.state === "running");
  if (running.length >= limits.total) return undefined;
  const perServer = new Map<string, number>();
  for (const j of running) perServer.set(j.oldServer, (perServer.get(j.oldServer) ?? 0) + 1);
  return jobs
    .filter((j) => j.state !== "running" && (j.notBefore ?? 0) <= now && !paused.domains.includes(j.domain) && (perServer.get(j.oldServer) ?? 0) < limits.perOldServer)
    .sort((a, b) => a.priority - b.priority || a.enqueuedAt - b.enqueuedAt)[0];
}

/** Delay before retry n (1-based): base·2^(n-1), capped, with ±50% jitter so a recovering server is not hit by every job at once. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (0.5 + random()));
}

export type CancelState = "queued" | "scheduled" | "waiting" | "running" | "failed";

export interface CancelSelection {
  user?: string;
  domain?: string;
  state?: CancelState;
}

/**
 * Which jobs a cancel takes out (pure): every criterion given must match, and at least one
 * must be given (a bare "cancel" never empties the whole queue). Running jobs are returned
 * apart: they stop at their next safe point.
 */
export function selectForCancel<F extends { user: string; domain: string }>(jobs: Job[], failed: F[], sel: CancelSelection): { jobs: Job[]; running: Job[]; failed: F[] } {
  if (!sel.user && !sel.domain && !sel.state) throw new Error("cancel needs a user, a domain or a state");
  const match = (j: { user: string; domain: string }, state: CancelState) => (!sel.user || j.user === sel.user) && (!sel.domain || j.domain === sel.domain) && (!sel.state || sel.state === state);
  return {
    jobs: jobs.filter((j) => j.state !== "running" && match(j, j.state)),
    running: jobs.filter((j) => j.state === "running" && match(j, "running")),
    failed: failed.filter((f) => match(f, "failed")),
  };
}

export interface DomainProgress {
  accounts: number;
  done: number;
  partial: number;
  failed: number;
  /** Known accounts (created, imported, or seen) that no run has reached yet. */
  notStarted: number;
  /** Accounts that reached done in the last hour. */
  perHour?: number;
  /** At that rate, hours until every known account is done. */
  etaHours?: number;
}

/**
 * Adds each domain's rate (accounts that became done in the last hour: `completions` holds
 * when an account's run first ended done, not its later continuous passes) and the ETA at
 * that rate for the accounts not done yet (pure).
 */
export function withRates(progress: Record<string, DomainProgress>, completions: { user: string; at: number }[], now: number): Record<string, DomainProgress> {
  const since = now - 3_600_000;
  const doneBy = new Map<string, Set<string>>();
  for (const c of completions) {
    if (c.at < since) continue;
    const domain = c.user.slice(c.user.lastIndexOf("@") + 1);
    if (!doneBy.has(domain)) doneBy.set(domain, new Set());
    doneBy.get(domain)!.add(c.user);
  }
  const out: Record<string, DomainProgress> = {};
  for (const [domain, p] of Object.entries(progress)) {
    const perHour = doneBy.get(domain)?.size ?? 0;
    const left = p.accounts - p.done;
    out[domain] = { ...p, perHour, ...(perHour > 0 && left > 0 ? { etaHours: left / perHour } : {}) };
  }
  return out;
}

/** Accounts per domain by their latest run's status (pure): the console's per-domain progress. */
export function domainProgress(latest: Iterable<[user: string, status: string | undefined]>): Record<string, DomainProgress> {
  const out: Record<string, DomainProgress> = {};
  for (const [user, status] of latest) {
    const domain = user.slice(user.lastIndexOf("@") + 1);
    const p = (out[domain] ??= { accounts: 0, done: 0, partial: 0, failed: 0, notStarted: 0 });
    p.accounts++;
    if (status === "done") p.done++;
    else if (status === "partial") p.partial++;
    else if (status === "failed") p.failed++;
    else p.notStarted++;
  }
  return out;
}
