// The alert conditions as a table over events and time: each fires once and clears once.
import { describe, expect, test } from "bun:test";
import { AlertRules, type AlertEvent } from "../../src/alerts/alert-rules.ts";

const LIMITS = { loginFailuresInRow: 3, quotaFailuresInRow: 2, silentLogMinutes: 10, stuckMinutes: 30 };
const MIN = 60_000;
const brief = (es: AlertEvent[]) => es.map((e) => `${e.alert} ${e.state} ${e.key}${e.count !== undefined ? ` ${e.count}` : ""}`);
const run = (user: string, status: "done" | "partial" | "failed", codes: string[] = [], domain = "example.com") => ({ user, domain, oldServer: "old.example.com:993", status, codes });

describe("AlertRules", () => {
  test("old-server logins refused for N distinct accounts of a domain in a row: fires once; a login that goes in clears it", () => {
    const a = new AlertRules(LIMITS);
    expect(brief(a.runEnded(run("u1@example.com", "failed", ["LOGIN_REFUSED"]), 0))).toEqual([]);
    // the same user again is not a second account
    expect(brief(a.runEnded(run("u1@example.com", "failed", ["LOGIN_REFUSED"]), 1))).toEqual([]);
    expect(brief(a.runEnded(run("u2@example.com", "failed", ["LOGIN_REFUSED"]), 2))).toEqual([]);
    // another domain's refusals are its own row
    expect(brief(a.runEnded(run("x@other.org", "failed", ["LOGIN_REFUSED"], "other.org"), 3))).toEqual([]);
    // a server down says nothing about logins: neither counts nor resets
    expect(brief(a.runEnded(run("u9@example.com", "failed", ["CONNECT"]), 4))).toEqual([]);
    expect(brief(a.runEnded(run("u3@example.com", "failed", ["LOGIN_REFUSED"]), 5))).toEqual(["login_failures firing example.com 3"]);
    expect(brief(a.runEnded(run("u4@example.com", "failed", ["TOKEN_REFUSED"]), 6))).toEqual([]);
    expect(a.active().map((e) => e.alert)).toEqual(["login_failures"]);
    expect(brief(a.runEnded(run("ok@example.com", "done"), 7))).toEqual(["login_failures cleared example.com 3"]);
    expect(a.active()).toEqual([]);
    // the row starts again from zero
    expect(brief(a.runEnded(run("u1@example.com", "failed", ["LOGIN_REFUSED"]), 8))).toEqual([]);
  });

  test("quota refusals across a domain; a job failed for good fires per user and clears when that user migrates again", () => {
    const a = new AlertRules(LIMITS);
    expect(brief(a.runEnded(run("q1@example.com", "partial", ["QUOTA"]), 0))).toEqual([]);
    expect(brief(a.runEnded(run("q2@example.com", "partial", ["QUOTA"]), 1))).toEqual(["quota firing example.com 2"]);
    expect(brief(a.runEnded(run("q3@example.com", "done"), 2))).toEqual(["quota cleared example.com 2"]);
    const f = a.jobFailed({ user: "u1@example.com", domain: "example.com", code: "LOGIN_REFUSED", reason: "login refused\nmore" }, 3);
    expect(brief(f)).toEqual(["job_failed firing u1@example.com"]);
    expect(f[0]!.message).toBe("the migration of u1@example.com failed for good [LOGIN_REFUSED]: login refused (fix the cause, then: automigrate retry u1@example.com)");
    expect(brief(a.jobFailed({ user: "u1@example.com", domain: "example.com", code: "LOGIN_REFUSED", reason: "again" }, 4))).toEqual([]);
    expect(brief(a.runEnded(run("u1@example.com", "done"), 5))).toEqual(["job_failed cleared u1@example.com"]);
  });

  test("a silent login log fires after its minutes and clears with its next line; 0 is off", () => {
    const a = new AlertRules(LIMITS);
    const tick = (now: number, lastLineAt: number) => brief(a.tick({ now, logs: [{ path: "/var/log/dovecot.log", lastLineAt }], queue: { length: 0, paused: false } }));
    expect(tick(9 * MIN, 0)).toEqual([]);
    expect(tick(10 * MIN, 0)).toEqual(["silent_log firing /var/log/dovecot.log 10"]);
    expect(tick(11 * MIN, 0)).toEqual([]);
    expect(tick(12 * MIN, 12 * MIN)).toEqual(["silent_log cleared /var/log/dovecot.log 10"]);
    a.setThresholds({ ...LIMITS, silentLogMinutes: 0 });
    expect(tick(60 * MIN, 12 * MIN)).toEqual([]);
  });

  test("a queue that has not shrunk for its minutes while not paused; shrinking, emptying or pausing clears it", () => {
    const a = new AlertRules(LIMITS);
    const tick = (now: number, length: number, paused = false) => brief(a.tick({ now, logs: [], queue: { length, paused } }));
    expect(tick(0, 5)).toEqual([]);
    // growing is not shrinking
    expect(tick(10 * MIN, 7)).toEqual([]);
    expect(tick(30 * MIN, 7)).toEqual(["queue_stuck firing queue 7"]);
    expect(tick(31 * MIN, 7)).toEqual([]);
    expect(tick(32 * MIN, 6)).toEqual(["queue_stuck cleared queue 7"]);
    expect(tick(62 * MIN, 6)).toEqual(["queue_stuck firing queue 6"]);
    expect(tick(63 * MIN, 6, true)).toEqual(["queue_stuck cleared queue 6"]);
    // paused for hours: never stuck
    expect(tick(300 * MIN, 6, true)).toEqual([]);
    expect(tick(301 * MIN, 0)).toEqual([]);
  });
});
