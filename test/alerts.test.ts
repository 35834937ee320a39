// Alerts from the running daemon (the built entry): alerts.command gets each event as JSON on
// stdin, once when a condition starts and once when it clears. Against real parts: a login
// log (a real file the daemon tails) that falls silent and speaks again; a real old Dovecot
// that refuses the logins of accounts it does not have (jobs failed for good, N in a row),
// then accepts one; an alert command that fails (logged, migrations go on); the old server
// stopped, so the queue stops shrinking, then the job cancelled.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCliOk, startHarness, type Harness } from "./support/harness.ts";
import { makeMessage, seed } from "./support/mail.ts";
import { waitFor, type DaemonProc } from "./support/daemon.ts";
import { startAlertingDaemon, type AlertEventSeen } from "./support/alerts.ts";

setDefaultTimeout(60_000);

let h: Harness;
let d: DaemonProc;
let jsonl: string;
let login: (user: string) => void;
let events: () => AlertEventSeen[];
let script: string;

const seen = (alert: string, state: string, key: string) => events().some((e) => e.alert === alert && e.state === state && e.key === key);

beforeAll(async () => {
  h = await startHarness({ users: ["alice@example.com"] });
  await seed(h.old, "alice@example.com", [], [{ folder: "INBOX", raw: makeMessage(1) }]);
  // the admin's program: one JSON document per line on stdin, appended to a file
  ({ d, jsonl, login, events, script } = await startAlertingDaemon(h.home, "example.com", ["alerts.loginFailuresInRow=3", "alerts.silentLogMinutes=0.05", "alerts.stuckMinutes=0"]));
}, 60_000);

afterAll(async () => {
  if (d?.proc.exitCode === null) await d.stop();
  await h?.stop();
});

describe("alerts", () => {
  test("a login log with no line for alerts.silentLogMinutes: fires once; its next line clears it", async () => {
    await waitFor(() => seen("silent_log", "firing", jsonl), 15_000, `silent_log firing\n${d.output()}`);
    const firing = events().find((e) => e.alert === "silent_log")!;
    expect(firing.message).toContain(`no line in the login log ${jsonl}`);
    await Bun.sleep(1500);
    // once per condition, not once per check
    expect(events().filter((e) => e.alert === "silent_log" && e.state === "firing").length).toBe(1);
    login("alice@example.com");
    await waitFor(() => seen("silent_log", "cleared", jsonl), 10_000, `silent_log cleared\n${d.output()}`);
    await runCliOk(h.home, ["config", "set", "alerts.silentLogMinutes=0"]);
  });

  test("the old server refuses the logins of 3 accounts in a row: each job failed for good, then one login_failures alert; a login that goes in clears it", async () => {
    await waitFor(async () => (await d.status()).accounts?.length !== 0 || true, 1000, "status");
    for (const u of ["u1", "u2", "u3"]) login(`${u}@example.com`);
    // a run's end raises login_failures before its job is moved to the failed list (job_failed),
    // and the jobs run side by side: wait for all four events
    const users = ["u1@example.com", "u2@example.com", "u3@example.com"];
    await waitFor(() => seen("login_failures", "firing", "example.com") && users.every((u) => seen("job_failed", "firing", u)), 30_000, `login_failures and 3 job_failed firing\n${d.output()}`);
    const all = events();
    expect(all.filter((e) => e.alert === "job_failed" && e.state === "firing").map((e) => e.key).sort()).toEqual(users);
    const lf = all.filter((e) => e.alert === "login_failures");
    expect(lf.length).toBe(1);
    expect(lf[0]).toMatchObject({ state: "firing", domain: "example.com", count: 3 });
    expect(lf[0]!.message).toContain("test-connection");
    // alice's account is there: her next migration logs in, and the condition clears
    await runCliOk(h.home, ["migrate", "alice@example.com", "--queue"]);
    await waitFor(() => seen("login_failures", "cleared", "example.com"), 30_000, `login_failures cleared\n${d.output()}`);
  });

  test("an alert command that fails is logged with its exit and stderr; the daemon and its migrations go on", async () => {
    const failing = join(h.home, "broken-pager.sh");
    writeFileSync(failing, "#!/bin/sh\necho 'pager service down' >&2\nexit 3\n", { mode: 0o755 });
    await runCliOk(h.home, ["config", "set", `alerts.command=${JSON.stringify([failing])}`]);
    await Bun.sleep(500);
    login("u4@example.com");
    await waitFor(() => d.output().includes('"msg":"alert command failed"') && d.output().includes("pager service down"), 30_000, `alert command failed\n${d.output()}`);
    expect(d.proc.exitCode).toBeNull();
    await runCliOk(h.home, ["migrate", "alice@example.com", "--queue"]);
    // her run ends (a catch-up pass is scheduled after it)
    await waitFor(async () => (await d.status()).jobs.some((j: { user: string; state: string }) => j.user === "alice@example.com" && j.state === "scheduled"), 30_000, `alice's job to end\n${d.output()}`);
    await runCliOk(h.home, ["config", "set", `alerts.command=${JSON.stringify([script])}`]);
  });

  test("the old server down: the queue stops shrinking, queue_stuck fires; cancelling the job clears it", async () => {
    await runCliOk(h.home, ["config", "set", "alerts.stuckMinutes=0.05", "workers.retryBaseSec=60"]);
    await h.old.stop();
    await runCliOk(h.home, ["migrate", "alice@example.com", "--queue"]);
    await waitFor(() => seen("queue_stuck", "firing", "queue"), 30_000, `queue_stuck firing\n${d.output()}`);
    expect(events().find((e) => e.alert === "queue_stuck")!.message).toContain("has not shrunk");
    await runCliOk(h.home, ["cancel", "alice@example.com"]);
    await waitFor(() => seen("queue_stuck", "cleared", "queue"), 15_000, `queue_stuck cleared\n${d.output()}`);
  });
});
