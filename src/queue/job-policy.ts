// The queue's state machine, as one table: for each state of a job and each thing that can
// happen to it, what it becomes. The daemon only executes the answers (save the job, drop it,
// move it to the failed list); nothing else changes a job's state. Pure.
//
//   queued ──start──▶ running ──finished: done──▶ (done: dropped, or scheduled for a catch-up)
//   scheduled ─start─▶   │      ──finished: again─▶ queued (a login came during a continuous pass)
//   waiting ──start──▶   │      ──finished: temporary─▶ waiting (backoff), or failed after maxAttempts
//                        │      ──finished: budget used up─▶ waiting until it refills (not an attempt)
//                        │      ──finished: final─▶ failed
//                        │      ──stopped (shutdown)─▶ queued (not counted as an attempt)
//                        └──────broke (its own bookkeeping failed)─▶ waiting
//   any ──cancelled──▶ (cancelled: dropped)      waiting, scheduled ──retry──▶ queued
import type { ErrorCode } from "../errors.ts";
import { backoffMs, type Job, type JobState } from "./policy.ts";

export type JobEvent =
  | { kind: "start" }
  /** A run ended: its status, whether its failure is worth retrying, the first error, and the next catch-up pass due (if any). */
  | { kind: "finished"; status: "done" | "partial" | "failed"; transient: boolean; error?: { code: ErrorCode; reason: string }; catchUpAt?: number; resumeAt?: number }
  /** Shutdown stopped it at a safe point: it resumes at the next start. */
  | { kind: "stopped" }
  | { kind: "cancelled" }
  /** The job's own bookkeeping failed (its file could not be written, a bug). */
  | { kind: "broke"; error: { code: ErrorCode; reason: string } }
  /** An admin's retry: a wait ends now. */
  | { kind: "retry" };

export type Verdict =
  /** The job stays in the queue with these changes. */
  | { to: JobState; patch: Partial<Job> }
  /** Out of the queue onto the failed list, with the reason. */
  | { to: "failed"; error: { code: ErrorCode; reason: string } }
  /** Out of the queue: finished, or cancelled by an admin. */
  | { to: "done" | "cancelled" }
  /** Nothing to do (e.g. retry of a job that is not waiting). */
  | { to: "unchanged" };

export interface PolicyLimits {
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
}

type Rule = (job: Job, event: JobEvent, now: number, limits: PolicyLimits, random: () => number) => Verdict;

const run: Rule = () => ({ to: "running", patch: {} });
const cancel: Rule = () => ({ to: "cancelled" });
const unchanged: Rule = () => ({ to: "unchanged" });
const retryNow: Rule = () => ({ to: "queued", patch: { notBefore: undefined } });
/** An event that cannot happen in this state (a bug in the caller): the job is left as it is. */
const impossible: Rule = unchanged;

/** After a run: done (maybe a catch-up pass later), one more pass, a retry with backoff, or failed. */
const finished: Rule = (job, event, now, limits, random) => {
  if (event.kind !== "finished") return unchanged(job, event, now, limits, random);
  const failedRun = event.status === "failed" || (event.status === "partial" && event.transient);
  const error = event.error ?? { code: "SERVER" as ErrorCode, reason: "migration failed" };
  if (!failedRun) {
    if (job.again) return { to: "queued", patch: { again: undefined, attempts: 0, notBefore: undefined, lastError: undefined, lastErrorCode: undefined } };
    if (event.catchUpAt !== undefined) return { to: "scheduled", patch: { reason: "catch-up", priority: CATCH_UP_PRIORITY, attempts: 0, notBefore: event.catchUpAt, lastError: undefined, lastErrorCode: undefined } };
    return { to: "done" };
  }
  if (!event.transient) return { to: "failed", error };
  // a budget used up (a provider's daily limit) is no failure: the job waits until it refills
  if (event.resumeAt !== undefined) return { to: "waiting", patch: { notBefore: event.resumeAt, lastError: error.reason, lastErrorCode: error.code } };
  const attempts = job.attempts + 1;
  if (attempts >= limits.maxAttempts) return { to: "failed", error: { code: error.code, reason: `${error.reason} (gave up after ${attempts} attempts)` } };
  return { to: "waiting", patch: { attempts, notBefore: now + backoffMs(attempts, limits.baseMs, limits.maxMs, random), lastError: error.reason, lastErrorCode: error.code } };
};

const resume: Rule = () => ({ to: "queued", patch: {} });
const broke: Rule = (job, event, now, limits) => (event.kind === "broke" ? { to: "waiting", patch: { attempts: job.attempts + 1, notBefore: now + limits.baseMs, lastError: event.error.reason, lastErrorCode: event.error.code } } : { to: "unchanged" });

/** The table: state × event → rule. Every pair is spelled out (a unit test walks them all). */
export const JOB_TABLE: Record<JobState, Record<JobEvent["kind"], Rule>> = {
  queued: { start: run, finished: impossible, stopped: impossible, cancelled: cancel, broke, retry: unchanged },
  scheduled: { start: run, finished: impossible, stopped: impossible, cancelled: cancel, broke, retry: retryNow },
  waiting: { start: run, finished: impossible, stopped: impossible, cancelled: cancel, broke, retry: retryNow },
  running: { start: impossible, finished, stopped: resume, cancelled: cancel, broke, retry: unchanged },
};

/** Priority of a catch-up pass: after logins and an admin's requests, before sweeps. */
export const CATCH_UP_PRIORITY = 1;

/** What happens to `job` when `event` happens. */
export function decide(job: Job, event: JobEvent, now: number, limits: PolicyLimits, random: () => number = Math.random): Verdict {
  return JOB_TABLE[job.state][event.kind](job, event, now, limits, random);
}
