// The queue as the daemon sees it, whichever store holds it: this home's files (one daemon,
// src/store/files-job-queue.ts) or the cluster's database (several daemons,
// src/storage/postgres/queue.ts). Both carry out the same pure decisions (policy.ts for
// enqueue and pick, job-policy.ts for what a job becomes); they differ in where the jobs are
// and who else may change them.
import type { FailedJob } from "../store/queue-store.ts";
import type { CancelSelection, EnqueueResult, Job, JobReason, Paused } from "./policy.ts";
import type { JobEvent, PolicyLimits, Verdict } from "./job-policy.ts";

export interface EnqueueRequest {
  user: string;
  domain: string;
  oldServer: string;
  reason: JobReason;
  continuous: boolean;
}

export interface ClaimLimits {
  /** Jobs this daemon may run at once (workers.total: a node's own). */
  total: number;
  /** Users migrated at once from one old server (across the cluster in cluster mode). */
  perOldServer: number;
}

export interface Settled {
  verdict: Verdict;
  /** The job as it is now (its changes applied). */
  job: Job;
}

export interface JobQueue {
  /** The jobs as last known (the database's: as of the last refresh). */
  jobs(): readonly Job[];
  failed(): readonly FailedJob[];
  paused(): Paused;
  /** Adds or merges one job per request (never two jobs for a user); the results in order. */
  enqueue(reqs: EnqueueRequest[], now: number): Promise<EnqueueResult[]>;
  /** Adds `job` unless its user has one; returns the user's job and whether it is `job`. */
  addIfAbsent(job: Job): Promise<{ job: Job; added: boolean }>;
  /**
   * Takes the next job this daemon may start now and marks it running, or undefined. `busy`:
   * the users this daemon runs now (a job the database gave back while its run goes on here,
   * after this node's connection was lost, is not taken a second time).
   */
  claim(limits: ClaimLimits, now: number, policy: PolicyLimits, busy: readonly string[]): Promise<Job | undefined>;
  /** Makes a claimed job's start durable (files: its file says running; the database's claim already did). */
  started(job: Job): Promise<void>;
  /** What a running job of this daemon becomes after `event`, carried out; undefined when it is no longer this daemon's (the database gave it to another node). */
  settle(job: Job, event: JobEvent, now: number, policy: PolicyLimits): Promise<Settled | undefined>;
  /** Takes matching jobs out; running ones are returned to be stopped at their safe point. */
  cancel(sel: CancelSelection): Promise<{ jobs: Job[]; running: Job[]; failed: FailedJob[] }>;
  /** Failed jobs (one user's, or all) back into the queue; backoff waits end. Returns how many jobs changed. */
  retry(user: string | undefined, now: number, policy: PolicyLimits): Promise<number>;
  setPaused(paused: boolean, domain?: string): Promise<void>;
  /** Running jobs whose cancel was asked for by another node: this daemon stops the ones it runs. */
  cancelRequested(): readonly string[];
  /** Whether a cron schedule's firing at `at` is this daemon's to run (once per cluster). */
  firesHere(schedule: string, at: number): Promise<boolean>;
  /** Jobs left running by this daemon's last process (it died): back to queued, not an attempt. */
  resumeInterrupted(): Promise<number>;
  /** Re-reads what other daemons changed (nothing to do for files). */
  refresh(): Promise<void>;
  /** Waits for every write issued so far. */
  flush(): Promise<void>;
}
