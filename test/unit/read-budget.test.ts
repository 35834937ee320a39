// The old server's bandwidth cap (virtual scheduling) and a user's daily allowance; the job
// policy's wait for a budget to refill.
import { describe, expect, test } from "bun:test";
import { BudgetError, DailyAllowance, nextUtcMidnight, RateLimiter } from "../../src/migrate/read-budget.ts";
import { decide } from "../../src/queue/job-policy.ts";
import { capBatches, DEFAULT_LIMITS } from "../../src/migrate/batches.ts";

describe("bandwidth cap", () => {
  test("an idle server's first read goes at once; then each waits for the ones before it; the average is the rate", () => {
    let t = 0;
    const l = new RateLimiter(100_000, () => t);
    expect(l.reserve(50_000)).toBe(0);
    expect(l.reserve(50_000)).toBe(500);
    expect(l.reserve(100_000)).toBe(1000);
    // readers that come back when told: 30 s of 64 KB reads moves 30 s worth (one read's share over)
    let moved = 0;
    t = 10_000;
    const start = t;
    while (t - start < 30_000) {
      t += l.reserve(64 * 1024);
      moved += 64 * 1024;
    }
    const rate = moved / ((t - start) / 1000);
    expect(rate).toBeGreaterThan(100_000 * 0.97);
    expect(rate).toBeLessThan(100_000 * 1.03);
  });

  test("two jobs share one cap: together they get the rate, not twice it", () => {
    let t = 0;
    const l = new RateLimiter(1000, () => t);
    const waits = [l.reserve(1000), l.reserve(1000), l.reserve(1000), l.reserve(1000)];
    expect(waits).toEqual([0, 1000, 2000, 3000]);
  });

  test("batches hold about a second of the cap", () => {
    expect(capBatches(DEFAULT_LIMITS, 100_000).maxBytes).toBe(100_000);
    expect(capBatches(DEFAULT_LIMITS, 1024).maxBytes).toBe(64 * 1024);
    expect(capBatches(DEFAULT_LIMITS, 1e9).maxBytes).toBe(DEFAULT_LIMITS.maxBytes);
  });
});

describe("daily allowance", () => {
  const day = Date.UTC(2026, 11, 5, 15, 0, 0);
  test("spends until the day's allowance; then refuses with the time it refills (next UTC midnight)", () => {
    let t = day;
    const a = new DailyAllowance("u@x.org", 1000, undefined, () => t);
    a.spend(600);
    a.spend(400);
    let err: unknown;
    try {
      a.spend(1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BudgetError);
    expect((err as BudgetError).code).toBe("BUDGET");
    expect((err as BudgetError).transient).toBe(true);
    expect((err as BudgetError).resumeAt).toBe(Date.UTC(2026, 11, 6));
    expect((err as BudgetError).message).toContain("continues after 2026-12-06 00:00 UTC");
    // the next day it starts afresh
    t = Date.UTC(2026, 11, 6, 0, 0, 1);
    a.spend(900);
    expect(a.ledger).toEqual({ day: "2026-12-06", bytes: 900 });
  });

  test("earlier runs of the same day count; another day's ledger does not; one read larger than the whole allowance still goes on a fresh day", () => {
    const now = () => day;
    expect(() => new DailyAllowance("u", 1000, { day: "2026-12-05", bytes: 1000 }, now).spend(1)).toThrow(BudgetError);
    expect(() => new DailyAllowance("u", 1000, { day: "2026-12-04", bytes: 1000 }, now).spend(1)).not.toThrow();
    expect(() => new DailyAllowance("u", 1000, undefined, now).spend(5000)).not.toThrow();
    expect(nextUtcMidnight(Date.UTC(2026, 11, 31, 23, 59))).toBe(Date.UTC(2027, 0, 1));
  });
});

describe("job policy", () => {
  test("a budget used up: waiting until it refills, not counted as an attempt", () => {
    const job = { user: "u@x.org", domain: "x.org", state: "running", reason: "login", priority: 0, attempts: 2, queuedAt: 0 } as never;
    const v = decide(job, { kind: "finished", status: "partial", transient: true, error: { code: "BUDGET", reason: "used up" }, resumeAt: 5_000_000 }, 1000, { maxAttempts: 3, baseMs: 1000, maxMs: 10_000 });
    expect(v).toEqual({ to: "waiting", patch: { notBefore: 5_000_000, lastError: "used up", lastErrorCode: "BUDGET" } });
  });
});
