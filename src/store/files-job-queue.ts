// The queue in this home's files (one daemon): the jobs live in memory and each change is
// written through to its small file (queue-store.ts) before it counts.
import type { ClaimLimits, EnqueueRequest, JobQueue, Settled } from "../queue/queue-port.ts";
import { enqueue, pickNext, PRIORITY, selectForCancel, type CancelSelection, type EnqueueResult, type Job, type Paused } from "../queue/policy.ts";
import { decide, type JobEvent, type PolicyLimits, type Verdict } from "../queue/job-policy.ts";
import type { FailedJob, QueueStore } from "./queue-store.ts";

export class FilesJobQueue implements JobQueue {
  constructor(private readonly store: QueueStore) {}

  jobs(): readonly Job[] {
    return this.store.jobs;
  }

  failed(): readonly FailedJob[] {
    return this.store.failed;
  }

  paused(): Paused {
    return this.store.paused;
  }

  async enqueue(reqs: EnqueueRequest[], now: number): Promise<EnqueueResult[]> {
    const changed = new Set<Job>();
    const results = reqs.map((r) => {
      const result = enqueue(this.store.jobs, { ...r, now });
      changed.add(this.store.jobs.find((j) => j.user === r.user)!);
      return result;
    });
    await this.store.saveJobs(changed);
    return results;
  }

  async addIfAbsent(job: Job): Promise<{ job: Job; added: boolean }> {
    const existing = this.store.jobs.find((j) => j.user === job.user);
    if (existing) return { job: existing, added: false };
    this.store.jobs.push(job);
    await this.store.saveJob(job);
    return { job, added: true };
  }

  async claim(limits: ClaimLimits, now: number, policy: PolicyLimits): Promise<Job | undefined> {
    const job = pickNext(this.store.jobs, now, limits, this.store.paused);
    if (!job) return undefined;
    const started = decide(job, { kind: "start" }, now, policy);
    if (!("patch" in started)) return undefined;
    Object.assign(job, { state: started.to, ...started.patch });
    return job;
  }

  /** Takes a job out without a verdict (cluster mode: a login kept here has reached the database). */
  drop(job: Job): Promise<void> {
    return this.store.dropJob(job);
  }

  started(job: Job): Promise<void> {
    return this.store.saveJob(job);
  }

  async settle(job: Job, event: JobEvent, now: number, policy: PolicyLimits): Promise<Settled> {
    const verdict = decide(job, event, now, policy);
    if (event.kind === "broke") {
      // in memory only: its file is what could not be written; a later tick retries it
      if ("patch" in verdict) Object.assign(job, { state: verdict.to, ...verdict.patch });
      return { verdict, job };
    }
    await this.carryOut(job, verdict, now);
    if (verdict.to === "done" || verdict.to === "scheduled") {
      // an earlier failure of this user is over: it no longer counts as failed
      if (this.store.failed.some((f) => f.user === job.user)) await this.store.dropFailed(job.user);
    }
    return { verdict, job };
  }

  /** Keeps the job with its changes, drops it, or moves it to the failed list. Returns whether anything changed. */
  private async carryOut(job: Job, v: Verdict, now: number): Promise<boolean> {
    switch (v.to) {
      case "unchanged":
        return false;
      case "done":
      case "cancelled":
        await this.store.dropJob(job);
        return true;
      case "failed":
        await this.store.dropJob(job);
        await this.store.addFailed({ ...job, state: "queued", lastError: v.error.reason, lastErrorCode: v.error.code, failedAt: now });
        return true;
      default:
        Object.assign(job, { state: v.to, ...v.patch });
        await this.store.saveJob(job);
        return true;
    }
  }

  async cancel(sel: CancelSelection): Promise<{ jobs: Job[]; running: Job[]; failed: FailedJob[] }> {
    const picked = selectForCancel(this.store.jobs, this.store.failed, sel);
    for (const j of picked.jobs) await this.store.dropJob(j);
    for (const f of picked.failed) await this.store.dropFailed(f.user);
    return picked;
  }

  async retry(user: string | undefined, now: number, policy: PolicyLimits): Promise<number> {
    const touched = new Set<Job>();
    for (const f of [...this.store.failed]) {
      if (user && f.user !== user) continue;
      const { failedAt: _f, ...job } = f;
      if (!this.store.jobs.some((j) => j.user === job.user)) {
        const back: Job = { ...job, state: "queued", attempts: 0, notBefore: undefined, reason: "retry", priority: PRIORITY.retry };
        this.store.jobs.push(back);
        touched.add(back);
      }
      await this.store.dropFailed(f.user);
    }
    for (const j of this.store.jobs) {
      if (user && j.user !== user) continue;
      // a retry ends a backoff wait (a scheduled catch-up pass is not a failure: migrate --queue runs it now)
      if (j.state === "waiting") {
        const v = decide(j, { kind: "retry" }, now, policy);
        if ("patch" in v) {
          Object.assign(j, { state: v.to, ...v.patch });
          touched.add(j);
        }
      }
    }
    await this.store.saveJobs(touched);
    return touched.size;
  }

  async setPaused(paused: boolean, domain?: string): Promise<void> {
    const p = this.store.paused;
    if (domain) p.domains = paused ? [...new Set([...p.domains, domain])] : p.domains.filter((d) => d !== domain);
    else p.all = paused;
    await this.store.saveMeta();
  }

  cancelRequested(): readonly string[] {
    return [];
  }

  async firesHere(): Promise<boolean> {
    return true;
  }

  async resumeInterrupted(): Promise<number> {
    const interrupted = this.store.jobs.filter((j) => j.state === "running");
    for (const j of interrupted) j.state = "queued";
    await this.store.saveJobs(interrupted);
    return interrupted.length;
  }

  async refresh(): Promise<void> {}

  flush(): Promise<void> {
    return this.store.flush();
  }
}
