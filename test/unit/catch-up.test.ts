// Catch-up passes after the switch, and when a captured password is still needed: pure rules.
import { describe, expect, test } from "bun:test";
import { passwordStillNeeded } from "../../src/accounts/retention.ts";
import { domainSchema } from "../../src/config/schema.ts";
import { catchUpOf, nextCatchUp, parseDelay } from "../../src/queue/catch-up.ts";
import { enqueue, PRIORITY, type Job } from "../../src/queue/policy.ts";

const M = 60_000;
const D = 86_400_000;

describe("catch-up passes", () => {
  test("delays", () => {
    expect(["90s", "15m", "36h", "6d", "15", "1w", "-1m", "1.5h", ""].map(parseDelay)).toEqual([90_000, 15 * M, 36 * 3_600_000, 6 * D, undefined, undefined, undefined, undefined, undefined]);
  });
  test("the next due pass: the earliest delay after the switch that no complete run has covered", () => {
    const delays = ["15m", "1d", "6d"];
    expect(nextCatchUp(0, delays, undefined)).toBe(15 * M);
    expect(nextCatchUp(0, delays, 5 * M)).toBe(15 * M); // the first run started before the pass was due
    expect(nextCatchUp(0, delays, 15 * M)).toBe(D); // a run (a login, the pass) at 15m covered it
    expect(nextCatchUp(0, delays, 3 * D)).toBe(6 * D);
    expect(nextCatchUp(0, delays, 7 * D)).toBeUndefined();
    expect(nextCatchUp(0, [], undefined)).toBeUndefined();
  });
  test("from an account's state: only after a complete run, counted from the switch (or the account's creation)", () => {
    const at = (ms: number) => new Date(ms).toISOString();
    expect(catchUpOf(null, ["15m"])).toBeUndefined();
    expect(catchUpOf({ routedLocalAt: at(0) }, ["15m"])).toBeUndefined(); // no run yet
    expect(catchUpOf({ routedLocalAt: at(0), lastRun: { status: "failed", startedAt: at(M), finishedAt: at(2 * M) } }, ["15m"])).toBeUndefined();
    expect(catchUpOf({ routedLocalAt: at(0), lastRun: { status: "done", startedAt: at(M), finishedAt: at(2 * M) } }, ["15m"])).toBe(15 * M);
    expect(catchUpOf({ account: { createdAt: at(D) }, lastRun: { status: "partial", startedAt: at(D + M), finishedAt: at(D + 2 * M) } }, ["15m", "1d"])).toBe(D + 15 * M);
  });
  test("a pass asked for now (a login, a sweep) runs now instead of a scheduled catch-up pass", () => {
    const job: Job = { user: "a@x", domain: "x", oldServer: "o:1", reason: "catch-up", priority: PRIORITY["catch-up"], state: "scheduled", attempts: 0, enqueuedAt: 0, notBefore: 1000 };
    const jobs = [{ ...job }];
    enqueue(jobs, { user: "a@x", domain: "x", oldServer: "o:1", reason: "sweep", now: 5, continuous: false });
    expect(jobs[0]).toMatchObject({ state: "queued", notBefore: undefined, reason: "catch-up" });
    const other = [{ ...job }];
    enqueue(other, { user: "a@x", domain: "x", oldServer: "o:1", reason: "login", now: 6, continuous: false });
    expect(other[0]).toMatchObject({ state: "queued", notBefore: undefined, reason: "login" });
    // a backoff wait is not ended by a sweep
    const waiting = [{ ...job, state: "waiting" as const, reason: "retry" as const }];
    enqueue(waiting, { user: "a@x", domain: "x", oldServer: "o:1", reason: "sweep", now: 7, continuous: false });
    expect(waiting[0]).toMatchObject({ state: "waiting", notBefore: 1000 });
  });
});

describe("a captured password is kept while a later pass may need it", () => {
  const domain = (migration: Record<string, unknown>) => domainSchema.parse({ migration: { enabled: true, old: { host: "old", auth: { mode: "captured" } }, ...migration } });
  test("one rule for every door", () => {
    expect(passwordStillNeeded(domain({}), { lastStatus: "done" })).toBe(false);
    expect(passwordStillNeeded(domain({}), { lastStatus: "done", nextCatchUp: 5 })).toBe(true);
    expect(passwordStillNeeded(domain({}), { lastStatus: "partial" })).toBe(true);
    expect(passwordStillNeeded(domain({ continuous: true }), { lastStatus: "done" })).toBe(true);
    expect(passwordStillNeeded(domain({ enabled: false }), { lastStatus: "partial", nextCatchUp: 5 })).toBe(false);
    expect(passwordStillNeeded(undefined, { lastStatus: "partial" })).toBe(false);
    expect(passwordStillNeeded(domainSchema.parse({ migration: { enabled: true, old: { host: "old", auth: { mode: "master", user: "a", passwordFile: "/f" } } } }), { lastStatus: "partial" })).toBe(false);
  });
});
