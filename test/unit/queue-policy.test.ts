import { describe, expect, test } from "bun:test";
import { backoffMs, domainProgress, enqueue, JOB_STATES, pickNext, PRIORITY, selectForCancel, withRates, type Job } from "../../src/queue/policy.ts";
import { CATCH_UP_PRIORITY, decide, JOB_TABLE } from "../../src/queue/job-policy.ts";
import type { ErrorCode } from "../../src/errors.ts";

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
  const job = (user: string, reason: Job["reason"], enqueuedAt: number, extra: Partial<Job> = {}): Job => ({ ...base, user, reason, priority: PRIORITY[reason], state: "queued", attempts: 0, enqueuedAt, ...extra });
  test("logins before retries before sweeps, then oldest first", () => {
    const jobs = [job("s@x", "sweep", 1), job("r@x", "retry", 2), job("l2@x", "login", 4), job("l1@x", "login", 3)];
    expect(pickNext(jobs, 10, { total: 9, perOldServer: 9 }, notPaused)?.user).toBe("l1@x");
  });
  test("an admin's migrate-now goes before everything queued earlier, logins included", () => {
    const jobs = [...Array.from({ length: 50 }, (_, i) => job(`l${i}@x`, "login", i)), job("s@x", "sweep", 0), job("now@x", "manual", 100)];
    expect(pickNext(jobs, 200, { total: 9, perOldServer: 9 }, notPaused)?.user).toBe("now@x");
  });
  test("a migrate-now for a user already queued by a sweep moves that job to the front", () => {
    const jobs: Job[] = [];
    enqueue(jobs, { ...base, user: "l@x", reason: "login", now: 1 });
    enqueue(jobs, { ...base, user: "s@x", reason: "sweep", now: 2 });
    enqueue(jobs, { ...base, user: "s@x", reason: "manual", now: 3 });
    expect(jobs.find((j) => j.user === "s@x")).toMatchObject({ reason: "manual", priority: PRIORITY.manual, enqueuedAt: 2 });
    expect(pickNext(jobs, 10, { total: 9, perOldServer: 9 }, notPaused)?.user).toBe("s@x");
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

describe("the job table (src/queue/job-policy.ts)", () => {
  const cfg = { maxAttempts: 3, baseMs: 1000, maxMs: 60_000 };
  const j: Job = { ...base, user: "a@x", reason: "login", priority: 0, state: "running", attempts: 0, enqueuedAt: 0 };
  const err = (reason: string, code: ErrorCode = "CONNECT") => ({ code, reason });
  const finished = (status: "done" | "partial" | "failed", transient: boolean, error?: { code: ErrorCode; reason: string }, catchUpAt?: number) => ({ kind: "finished" as const, status, transient, error, catchUpAt });
  test("done; one more pass when a login came in meanwhile; a catch-up pass when one is due", () => {
    expect(decide(j, finished("done", false), 0, cfg)).toEqual({ to: "done" });
    expect(decide({ ...j, again: true }, finished("done", false), 0, cfg)).toMatchObject({ to: "queued", patch: { again: undefined } });
    // refused messages are a result, not a reason to retry
    expect(decide(j, finished("partial", false), 0, cfg)).toEqual({ to: "done" });
    expect(decide(j, finished("done", false, undefined, 900), 0, cfg)).toMatchObject({ to: "scheduled", patch: { reason: "catch-up", notBefore: 900, priority: CATCH_UP_PRIORITY } });
  });
  test("transient failures back off exponentially and give up after maxAttempts, keeping the code", () => {
    expect(decide(j, finished("failed", true, err("down")), 0, cfg, () => 0.5)).toEqual({ to: "waiting", patch: { attempts: 1, notBefore: 1000, lastError: "down", lastErrorCode: "CONNECT" } });
    expect(decide({ ...j, attempts: 1 }, finished("partial", true, err("dropped")), 0, cfg, () => 0.5)).toEqual({ to: "waiting", patch: { attempts: 2, notBefore: 2000, lastError: "dropped", lastErrorCode: "CONNECT" } });
    expect(decide({ ...j, attempts: 2 }, finished("failed", true, err("down")), 0, cfg)).toEqual({ to: "failed", error: { code: "CONNECT", reason: "down (gave up after 3 attempts)" } });
  });
  test("a permanent failure fails at once", () => {
    expect(decide(j, finished("failed", false, err("login refused", "LOGIN_REFUSED")), 0, cfg)).toEqual({ to: "failed", error: { code: "LOGIN_REFUSED", reason: "login refused" } });
  });
  test("shutdown puts it back uncounted; cancel drops it from any state; retry ends a wait", () => {
    expect(decide(j, { kind: "stopped" }, 0, cfg)).toEqual({ to: "queued", patch: {} });
    for (const state of JOB_STATES) expect(decide({ ...j, state }, { kind: "cancelled" }, 0, cfg)).toEqual({ to: "cancelled" });
    expect(decide({ ...j, state: "waiting", notBefore: 5 }, { kind: "retry" }, 0, cfg)).toEqual({ to: "queued", patch: { notBefore: undefined } });
    expect(decide({ ...j, state: "queued" }, { kind: "retry" }, 0, cfg)).toEqual({ to: "unchanged" });
  });
  test("every state × every event has a rule, and each answer is a state, done, failed, cancelled or unchanged", () => {
    const events = [{ kind: "start" }, finished("done", false), finished("failed", true, err("x")), { kind: "stopped" }, { kind: "cancelled" }, { kind: "broke", error: err("disk", "NO_SPACE") }, { kind: "retry" }] as const;
    const kinds = new Set(events.map((e) => e.kind));
    for (const state of JOB_STATES) {
      expect(Object.keys(JOB_TABLE[state]).sort()).toEqual([...kinds].sort());
      for (const e of events) {
        const v = decide({ ...j, state }, e, 0, cfg);
        expect(["queued", "scheduled", "running", "waiting", "done", "failed", "cancelled", "unchanged"]).toContain(v.to);
        // only a running job finishes, and only a job not running starts
        if (e.kind === "finished" && state !== "running") expect(v.to).toBe("unchanged");
        if (e.kind === "start") expect(v.to).toBe(state === "running" ? "unchanged" : "running");
      }
    }
  });
  test("jitter stays within ±50% and the cap holds", () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, () => 0.999)).toBe(1499);
    expect(backoffMs(20, 1000, 60_000, () => 0.5)).toBe(60_000);
  });
});

describe("selectForCancel", () => {
  const j = (user: string, domain: string, state: Job["state"]): Job => ({ ...base, user, domain, reason: "login", priority: 0, state, attempts: 0, enqueuedAt: 0 });
  const jobs = [j("a@x.org", "x.org", "queued"), j("b@x.org", "x.org", "waiting"), j("c@x.org", "x.org", "running"), j("d@y.org", "y.org", "queued")];
  const failed = [{ user: "e@x.org", domain: "x.org" }, { user: "f@y.org", domain: "y.org" }];
  const users = (r: ReturnType<typeof selectForCancel>) => ({ jobs: r.jobs.map((x) => x.user), running: r.running.map((x) => x.user), failed: r.failed.map((x) => x.user) });
  test("one user, wherever its job is", () => {
    expect(users(selectForCancel(jobs, failed, { user: "c@x.org" }))).toEqual({ jobs: [], running: ["c@x.org"], failed: [] });
    expect(users(selectForCancel(jobs, failed, { user: "e@x.org" }))).toEqual({ jobs: [], running: [], failed: ["e@x.org"] });
  });
  test("a domain: its queued, waiting, running and failed jobs, no other domain's", () => {
    expect(users(selectForCancel(jobs, failed, { domain: "x.org" }))).toEqual({ jobs: ["a@x.org", "b@x.org"], running: ["c@x.org"], failed: ["e@x.org"] });
  });
  test("criteria combine: a domain's queued jobs only", () => {
    expect(users(selectForCancel(jobs, failed, { domain: "x.org", state: "queued" }))).toEqual({ jobs: ["a@x.org"], running: [], failed: [] });
    expect(users(selectForCancel(jobs, failed, { state: "failed" }))).toEqual({ jobs: [], running: [], failed: ["e@x.org", "f@y.org"] });
  });
  test("nothing selected is refused, never the whole queue", () => {
    expect(() => selectForCancel(jobs, failed, {})).toThrow("cancel needs a user, a domain or a state");
  });
});

describe("domainProgress", () => {
  test("accounts per domain by their latest run; never run is not started", () => {
    expect(domainProgress([["a@x.org", "done"], ["b@x.org", "partial"], ["c@x.org", undefined], ["d@y.org", "failed"], ["e@x.org", "done"]])).toEqual({
      "x.org": { accounts: 4, done: 2, partial: 1, failed: 0, notStarted: 1 },
      "y.org": { accounts: 1, done: 0, partial: 0, failed: 1, notStarted: 0 },
    });
  });
});

describe("withRates", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");
  const progress = { "x.org": { accounts: 40, done: 10, partial: 0, failed: 0, notStarted: 30 }, "y.org": { accounts: 5, done: 5, partial: 0, failed: 0, notStarted: 0 } };
  test("accounts done in the last hour per domain, and the ETA for the rest at that rate", () => {
    const completions = [
      { user: "a@x.org", at: now - 10 * 60_000 },
      { user: "b@x.org", at: now - 50 * 60_000 },
      { user: "c@x.org", at: now - 70 * 60_000 }, // more than an hour ago
      { user: "d@y.org", at: now - 5 * 60_000 },
    ];
    const r = withRates(progress, completions, now);
    expect(r["x.org"]).toMatchObject({ perHour: 2, etaHours: 15 });
    expect(r["y.org"]).toMatchObject({ perHour: 1 });
    expect(r["y.org"]!.etaHours).toBeUndefined(); // nothing left
  });
  test("no completions: no rate, no ETA", () => {
    expect(withRates(progress, [], now)["x.org"]).toEqual({ ...progress["x.org"], perHour: 0 });
  });
});
