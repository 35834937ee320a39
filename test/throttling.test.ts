// Reading from the old server at a pace and within an allowance, from the built entry against
// real Dovecots: migration.old.maxBytesPerSec shared by every job of that server in the
// daemon (observed within ±15% over a 30 s copy), and a user's daily download allowance
// (migration.old.dailyDownloadMB, Gmail's profile default) that makes a job wait for the next
// UTC day, with status saying so.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expectSameMail } from "./support/compare.ts";
import { migrateJson, runCliOk, startHarness, type Harness } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed } from "./support/mail.ts";
import { accountState, startDaemon, waitFor, type DaemonProc } from "./support/daemon.ts";

setDefaultTimeout(120_000);

const D = "example.com";
const [A, B, C] = ["amy@example.com", "ben@example.com", "cleo@example.com"];
const CAP = 100 * 1024;

let h: Harness;
let d: DaemonProc | undefined;

/** `n` messages of about `kb` KB each across INBOX and Archive. */
async function mailbox(user: string, n: number, kb: number): Promise<void> {
  await seed(h.old, user, [{ path: "Archive" }], Array.from({ length: n }, (_, i) => ({ folder: i % 2 ? "INBOX" : "Archive", raw: makeMessage(i, { subject: `${user} ${i}`, bodyBytes: kb * 1024 }) })));
}

beforeAll(async () => {
  h = await startHarness({ users: [A, B, C] });
  await mailbox(A, 30, 50);
  await mailbox(B, 30, 50);
  await mailbox(C, 50, 50);
  await runCliOk(h.home, ["config", "set", "workers.retryBaseSec=1", "workers.retryMaxSec=2"]);
}, 60_000);

afterAll(async () => {
  if (d?.proc.exitCode === null) await d.stop();
  await h?.stop();
});

describe("bandwidth cap per old server", () => {
  test("two jobs at once share the cap: their bytes over the copy's time are within 15% of it; status says they are paced", async () => {
    await runCliOk(h.home, ["domain", "set", D, `migration.old.maxBytesPerSec=${CAP}`]);
    d = await startDaemon(h.home);
    const started = Date.now();
    await d.post("/migrate", { user: A });
    await d.post("/migrate", { user: B });
    let pacedSeen = false;
    let statusText = "";
    await waitFor(async () => {
      const s = await d!.status();
      if (s.jobs.some((j: any) => j.progress?.waitingForBandwidth)) {
        pacedSeen = true;
        if (!statusText) statusText = await runCliOk(h.home, ["status"]);
      }
      return [A, B].every((u) => s.jobs.every((j: any) => j.user !== u)) && (await accountState(h.home, A))?.lastRun?.status === "done" && (await accountState(h.home, B))?.lastRun?.status === "done";
    }, 90_000, "both migrated");
    const seconds = (Date.now() - started) / 1000;
    const bytes = (await accountState(h.home, A)).lastRun.bytes + (await accountState(h.home, B)).lastRun.bytes;
    const rate = bytes / seconds;
    expect(seconds).toBeGreaterThan(20);
    expect({ rate: Math.round(rate), low: rate > CAP * 0.85, high: rate < CAP * 1.15 }).toEqual({ rate: Math.round(rate), low: true, high: true });
    expect(pacedSeen).toBe(true);
    expect(statusText).toContain("paced by the old server's bandwidth cap (migration.old.maxBytesPerSec)");
    for (const u of [A, B]) expectSameMail(await digestMailbox(h.old, u), await digestMailbox(h.target, u));
    await d.stop();
  });
});

describe("daily download allowance", () => {
  test("a job that reaches it stops with BUDGET and the time it continues; a rerun that day reads nothing; the daemon waits and status says so; the next day it goes on", async () => {
    // 1 MB a day for a 2.5 MB mailbox
    const cfg = JSON.parse(readFileSync(join(h.home, "config.json"), "utf8"));
    delete cfg.domains[D].migration.old.maxBytesPerSec;
    writeFileSync(join(h.home, "config.json"), JSON.stringify(cfg, null, 2));
    await runCliOk(h.home, ["domain", "set", D, "migration.old.dailyDownloadMB=1"]);
    const first = await migrateJson(h.home, C);
    // no folder finished (both were under way when the allowance ran out): the run is "failed", temporarily
    expect({ code: first.code, status: first.report.status }).toEqual({ code: 1, status: "failed" });
    expect(first.report.messages).toBeGreaterThan(5);
    expect(first.report.messages).toBeLessThan(25);
    const midnight = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1)).toISOString();
    expect(first.report.errors.length).toBeGreaterThan(0);
    for (const e of first.report.errors) expect({ code: e.code, transient: e.transient, resumeAt: e.resumeAt }).toEqual({ code: "BUDGET", transient: true, resumeAt: midnight });
    expect(first.report.errors[0].message).toContain(`the daily download allowance of 1 MB for ${C} is used up`);
    const ledger = (await accountState(h.home, C)).download;
    expect(ledger.day).toBe(new Date().toISOString().slice(0, 10));
    expect(ledger.bytes).toBeLessThanOrEqual(1024 * 1024);

    const again = await migrateJson(h.home, C);
    expect({ code: again.code, messages: again.report.messages, codes: [...new Set(again.report.errors.map((e: any) => e.code))] }).toEqual({ code: 1, messages: 0, codes: ["BUDGET"] });

    d = await startDaemon(h.home);
    await d.post("/migrate", { user: C });
    await waitFor(async () => (await d!.status()).jobs.some((j: any) => j.user === C && j.state === "waiting" && j.lastErrorCode === "BUDGET"), 30_000, "the job waiting for its budget");
    const job = (await d.status()).jobs.find((j: any) => j.user === C);
    expect(job.notBefore).toBe(Date.parse(midnight));
    expect(job.attempts).toBe(0);
    expect(await runCliOk(h.home, ["status"])).toContain(`waiting  ${C}  for its download budget: continues`);

    // the next day (the ledger says yesterday): the rest comes, within that day's allowance
    const stateFile = join(h.home, "state", "accounts", `${C}.json`);
    await d.stop();
    const st = JSON.parse(readFileSync(stateFile, "utf8"));
    st.download.day = "2000-01-01";
    writeFileSync(stateFile, JSON.stringify(st));
    await runCliOk(h.home, ["domain", "set", D, "migration.old.dailyDownloadMB=10"]);
    const rest = await migrateJson(h.home, C);
    expect({ code: rest.code, status: rest.report.status }).toEqual({ code: 0, status: "done" });
    expectSameMail(await digestMailbox(h.old, C), await digestMailbox(h.target, C));
  });
});
