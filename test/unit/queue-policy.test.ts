import { describe, expect, test } from "bun:test";
import { afterRun, backoffMs, enqueue, pickNext, type Job } from "../../src/queue/policy.ts";

const base = { domain: "example.com", oldServer: "old:143", continuous: true };
const limits = { total: 2, perOldServer: 1 };
const notPaused = { all: false, domains: [] as string[] };

describe("enqueue", () => {
  test("one job per user: a second login merges", () => {
    const jobs: Job[] = [];
    expect(enqueue(jobs, { ...base, user: "a@x", reason: "sweep", now: 1 })).toBe("queued");
    expect(enqueue(jobs, { ...base, user: "a@x", reason: "login", now: 2 })).toBe("merged");
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ reason: "login", priority: 0 }); // upgraded
  });
  test("a login during a run asks for one more pass (continuous on), not a second job", () => {
    const jobs: Job[] = [];
    enqueue(jobs, { ...base, user: "a@x", reason: "login", now: 1 });
    jobs[0]!.state = "running";
    expect(enqueue(jobs, { ...base, user: "a@x", reason: "login", now: 2 })).toBe("again");
    expect(jobs).toHaveLength(1);
    const off: Job[] = [{ ...jobs[0]!, again: undefined }];
    expect(enqueue(off, { ...base, continuous: false, user: "a@x", reason: "login", now: 2 })).toBe("merged");
    expect(off[0]!.again).toBeUndefined();
  });
  test("a fresh login cancels the wait of a job in backoff", () => {
    const jobs: Job[] = [];
    enqueue(jobs, { ...base, user: "a@x", reason: "retry", now: 1 });
    jobs[0]!.notBefore = 1_000_000;
    enqueue(jobs, { ...base, user: "a@x", reason: "login", now: 2 });
    expect(jobs[0]!.notBefore).toBeUndefined();
  });
});

describe("pickNext", () => {
  const job = (user: string, reason: Job["reason"], enqueuedAt: number, extra: Partial<Job> = {}): Job => ({ ...base, user, reason, priority: { login: 0, manual: 0, retry: 1, sweep: 2 }[reason], state: "queued", attempts: 0, enqueuedAt, ...extra });
  test("logins before retries before sweeps, then oldest first", () => {
    const jobs = [job("s@x", "sweep", 1), job("r@x", "retry", 2), job("l2@x", "login", 4), job("l1@x", "login", 3)];
    expect(pickNext(jobs, 10, { total: 9, perOldServer: 9 }, notPaused)?.user).toBe("l1@x");
  });
  test("the per-old-server limit and the total limit hold", () => {
    const jobs = [job("a@x", "login", 1, { state: "running" }), job("b@x", "login", 2), job("c@y", "login", 3, { oldServer: "other:143" })];
    expect(pickNext(jobs, 10, limits, notPaused)?.user).toBe("c@y");
    jobs[2]!.state = "running";
    expect(pickNext(jobs, 10, limits, notPaused)).toBeUndefined();
  });
  test("backoff and pause are respected", () => {
    const jobs = [job("a@x", "retry", 1, { notBefore: 100 })];
    expect(pickNext(jobs, 50, limits, notPaused)).toBeUndefined();
    expect(pickNext(jobs, 100, limits, notPaused)?.user).toBe("a@x");
    expect(pickNext(jobs, 100, limits, { all: false, domains: ["example.com"] })).toBeUndefined();
    expect(pickNext(jobs, 100, limits, { all: true, domains: [] })).toBeUndefined();
  });
});

describe("after a run", () => {
  const cfg = { maxAttempts: 3, baseMs: 1000, maxMs: 60_000 };
  const j: Job = { ...base, user: "a@x", reason: "login", priority: 0, state: "running", attempts: 0, enqueuedAt: 0 };
  test("done; or one more pass when a login came in meanwhile", () => {
    expect(afterRun(j, { status: "done", transient: false }, 0, cfg)).toEqual({ kind: "done" });
    expect(afterRun({ ...j, again: true }, { status: "done", transient: false }, 0, cfg)).toEqual({ kind: "again" });
    // refused messages are a result, not a reason to retry
    expect(afterRun(j, { status: "partial", transient: false }, 0, cfg)).toEqual({ kind: "done" });
  });
  test("transient failures back off exponentially and give up after maxAttempts", () => {
    const r1 = afterRun(j, { status: "failed", transient: true, error: "down" }, 0, cfg, () => 0.5);
    expect(r1).toEqual({ kind: "retry", attempts: 1, notBefore: 1000, error: "down" });
    const r2 = afterRun({ ...j, attempts: 1 }, { status: "partial", transient: true, error: "dropped" }, 0, cfg, () => 0.5);
    expect(r2).toEqual({ kind: "retry", attempts: 2, notBefore: 2000, error: "dropped" });
    expect(afterRun({ ...j, attempts: 2 }, { status: "failed", transient: true, error: "down" }, 0, cfg)).toEqual({ kind: "failed", error: "down (gave up after 3 attempts)" });
  });
  test("a permanent failure fails at once", () => {
    expect(afterRun(j, { status: "failed", transient: false, error: "login refused" }, 0, cfg)).toEqual({ kind: "failed", error: "login refused" });
  });
  test("jitter stays within ±50% and the cap holds", () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, () => 0.999)).toBe(1499);
    expect(backoffMs(20, 1000, 60_000, () => 0.5)).toBe(60_000);
  });
});
