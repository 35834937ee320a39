// The daemon as a process, against real Dovecot servers: users log in to the NEW server
// over IMAP, the daemon tails that server's real log and migrates them from the OLD one.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, rmdirSync, statSync, copyFileSync, renameSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateMaildir } from "../bench/mailgen.ts";
import { countAll, expectSameMail } from "./support/compare.ts";
import { accountState, startDaemon, userLogin, waitFor, type DaemonProc } from "./support/daemon.ts";
import { doveadm, freePort } from "./support/dovecot.ts";
import { updateConfig } from "../src/config/store.ts";
import { runCli, runCliOk, startHarness, type Harness } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed } from "./support/mail.ts";

const names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "judy", "kate", "mallory", "nina", "olivia"];
const users = names.map((n) => `${n}@example.com`);
const IVAN = "ivan@other.example";
const BIG = ["carol@example.com", "judy@example.com"];

let h: Harness;
let d: DaemonProc;
let jsonl: string;

/** A user's login starts a big migration; resolves once 200 messages are across. */
async function bigMigrationUnderWay(user: string): Promise<void> {
  await userLogin(h.target, user);
  await waitFor(async () => ((await d.status()).jobs.find((j: any) => j.user === user)?.progress?.messagesDone ?? 0) > 200, 30_000, `${user}'s migration under way`);
}

/** After an interrupted run: restart the daemon, wait, and expect all 4,000 messages exactly once. */
async function restartAndExpectExact(user: string): Promise<void> {
  d = await startDaemon(h.home);
  await done(user);
  const target = await digestMailbox(h.target, user);
  expect(countAll(target)).toBe(4000);
  expectSameMail(await digestMailbox(h.old, user), target);
}

const done = (user: string, runs = 1) => waitFor(async () => ((await accountState(h.home, user))?.runs ?? 0) >= runs && (await accountState(h.home, user))?.lastRun?.status === "done", 30_000, `${user} migrated (${runs} runs)`);

beforeAll(async () => {
  h = await startHarness({ users: [...users, IVAN] });
  for (const u of users.filter((u) => !BIG.includes(u))) await seed(h.old, u, [{ path: "Work" }], Array.from({ length: 6 }, (_, i) => ({ folder: i % 2 ? "INBOX" : "Work", raw: makeMessage(i) })));
  for (const u of BIG) generateMaildir(h.old.maildir(u), { folders: ["INBOX", "Archive"], messages: 4000, size: (_i, r) => 3000 + Math.floor(r() * 6000) }, process.getuid?.() === 0 ? { uid: 8, gid: 8 } : undefined);
  jsonl = join(h.home, "logins.jsonl");
  writeFileSync(jsonl, "");
  await runCliOk(h.home, ["config", "set", `logins.0.path=${h.target.logPath}`, "logins.0.format=dovecot", `logins.1.path=${jsonl}`, "logins.1.format=jsonl", "workers.retryBaseSec=1", "workers.retryMaxSec=2"]);
  await runCliOk(h.home, ["domain", "set", "example.com", "migration.continuous=true"]);
  await runCliOk(h.home, ["domain", "enable", "example.com"]);
  // a second domain whose master password is wrong
  writeFileSync(join(h.home, "wrong.pw"), "not-the-master-password\n", { mode: 0o600 });
  await runCliOk(h.home, ["domain", "add", "other.example", `migration.old.host=${h.old.host}`, `migration.old.imapPort=${h.old.port}`, "migration.old.imapTls=none", "migration.old.auth.mode=master", "migration.old.auth.user=admin", `migration.old.auth.passwordFile=${join(h.home, "wrong.pw")}`]);
  await runCliOk(h.home, ["domain", "enable", "other.example"]);
  d = await startDaemon(h.home);
}, 120_000);

afterAll(async () => {
  if (d?.proc.exitCode === null) await d.stop();
  await h.stop();
});

describe("daemon", () => {
  test("a user's own login on the new server migrates their mail; the daemon's own logins do not loop", async () => {
    const U = "alice@example.com";
    await userLogin(h.target, U);
    await done(U);
    expectSameMail(await digestMailbox(h.old, U), await digestMailbox(h.target, U));
    await Bun.sleep(1500);
    expect((await accountState(h.home, U)).runs).toBe(1);
    const s = await d.status();
    expect(s.ignored.some((i: any) => i.user === U && i.reason.startsWith("master-user login (auth_user admin)"))).toBe(true);
  });

  test("continuous on: new mail on the old server arrives with the next login; off: later logins do nothing", async () => {
    const U = "alice@example.com";
    await seed(h.old, U, [], [{ folder: "INBOX", raw: makeMessage(100) }, { folder: "Work", raw: makeMessage(101) }]);
    await userLogin(h.target, U);
    await done(U, 2);
    expectSameMail(await digestMailbox(h.old, U), await digestMailbox(h.target, U));

    await runCliOk(h.home, ["domain", "set", "example.com", "migration.continuous=false"]); // picked up without restart
    await waitFor(() => d.output().includes('"msg":"settings reloaded"'), 5000, "reload");
    await seed(h.old, U, [], [{ folder: "INBOX", raw: makeMessage(102) }]);
    await userLogin(h.target, U);
    await waitFor(async () => (await d.status()).ignored.some((i: any) => i.user === U && i.reason === "already migrated; continuous migration is off"), 5000, "ignored login");
    expect((await accountState(h.home, U)).runs).toBe(2);
    await runCliOk(h.home, ["domain", "set", "example.com", "migration.continuous=true"]);
    await waitFor(() => d.output().split('"msg":"settings reloaded"').length > 2, 5000, "second reload");
  });

  test("rotation by rename: lines Dovecot still writes to the old file, then to the reopened one", async () => {
    renameSync(h.target.logPath, `${h.target.logPath}.1`);
    await userLogin(h.target, "bob@example.com"); // Dovecot still writes to dovecot.log.1
    await done("bob@example.com");
    doveadm(h.target, ["log", "reopen"]);
    await waitFor(async () => Bun.file(h.target.logPath).exists(), 5000, "reopened log");
    await userLogin(h.target, "grace@example.com");
    await done("grace@example.com");
  });

  test("rotation by copytruncate", async () => {
    copyFileSync(h.target.logPath, `${h.target.logPath}.2`);
    truncateSync(h.target.logPath, 0);
    await userLogin(h.target, "heidi@example.com");
    await done("heidi@example.com");
  });

  test("copytruncate refilled past the old position between two polls: the login at its new start is read", async () => {
    const line = (user: string, i: number) => `{"time":"2026-11-24T06:00:${String(i % 60).padStart(2, "0")}Z","user":"${user}","service":"imap","ip":"192.0.2.${(i % 250) + 1}"}\n`;
    // the log's position far in
    appendFileSync(jsonl, Array.from({ length: 200 }, (_, i) => line("nobody@unknown.example", i)).join(""));
    const size = statSync(jsonl).size;
    await waitFor(async () => (await d.status()).logs.find((l: { path: string }) => l.path === jsonl)?.current?.offset === size, 10_000, "the log read to its end");
    // emptied and written again at once (same inode), longer than before, a login at its start
    const refill = line("nina@example.com", 7) + Array.from({ length: 400 }, (_, i) => line("nobody@unknown.example", i + 1)).join("");
    truncateSync(jsonl, 0);
    appendFileSync(jsonl, refill);
    expect(statSync(jsonl).size).toBeGreaterThan(size);
    await done("nina@example.com");
  });

  test("a log that cannot be read says so once, then once a minute, and once more when it is readable again", async () => {
    const broken = join(h.home, "broken.log");
    await runCliOk(h.home, ["config", "set", `logins.2.path=${broken}`, "logins.2.format=jsonl"]);
    await waitFor(async () => (await d.status()).logs.some((l: { path: string }) => l.path === broken), 10_000, "the third log tailed");
    mkdirSync(broken); // read twice a second: EISDIR each time
    await Bun.sleep(3000);
    const lines = () => d.output().split("\n").filter((l) => l.includes(broken));
    expect(lines().filter((l) => l.includes("cannot read log")).length).toBe(1);
    rmdirSync(broken);
    writeFileSync(broken, "");
    await waitFor(() => lines().some((l) => l.includes("log readable again")), 10_000, "the log readable again");
    expect(lines().find((l) => l.includes("log readable again"))).toMatch(/"repeatsNotLogged":[1-9]/);
  });

  test("a line written in two pieces counts once", async () => {
    appendFileSync(jsonl, '{"time":"2026-11-24T05:00:00Z","user":"erin@exa');
    await Bun.sleep(1200); // several polls see the partial line
    appendFileSync(jsonl, 'mple.com","service":"imap","ip":"192.0.2.1"}\n');
    await done("erin@example.com");
    await Bun.sleep(1000);
    expect((await accountState(h.home, "erin@example.com")).runs).toBe(1);
  });

  test("restart: logins while it was down are processed, earlier ones are not replayed", async () => {
    expect(await d.stop()).toBe(0);
    const aliceRuns = (await accountState(h.home, "alice@example.com")).runs;
    await userLogin(h.target, "frank@example.com");
    d = await startDaemon(h.home);
    await done("frank@example.com");
    await Bun.sleep(1500);
    // continuous is on: a replayed alice login would have run her migration again
    expect((await accountState(h.home, "alice@example.com")).runs).toBe(aliceRuns);
  });

  test("kill -9 in the middle of a migration, restart: the job resumes and ends exact", async () => {
    const U = "carol@example.com";
    await bigMigrationUnderWay(U);
    await d.kill9();
    await restartAndExpectExact(U);
  });

  test("SIGTERM during a migration: exit 0 within 10 s at a safe point; after restart the job finishes exact", async () => {
    const U = "judy@example.com";
    await bigMigrationUnderWay(U);
    const t0 = Date.now();
    expect(await d.stop()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const job = JSON.parse(await Bun.file(join(h.home, "state", "queue", `${U}.json`)).text());
    expect(job.state).toBe("queued");
    expect((await accountState(h.home, U)).lastRun.status).not.toBe("done");
    await restartAndExpectExact(U);
  });

  test("old server down, then up: retried with backoff until it works", async () => {
    const U = "dave@example.com";
    const dead = await freePort();
    await runCliOk(h.home, ["domain", "set", "example.com", `migration.old.imapPort=${dead}`]);
    await waitFor(async () => (await d.status()) && d.output().split('"msg":"settings reloaded"').length > 1, 5000, "reload");
    await Bun.sleep(300);
    await userLogin(h.target, U);
    await waitFor(async () => (await d.status()).jobs.some((j: any) => j.user === U && j.state === "waiting" && j.attempts >= 1 && /cannot connect|ECONNREFUSED/.test(j.lastError)), 15_000, "dave waiting to retry");
    await runCliOk(h.home, ["domain", "set", "example.com", `migration.old.imapPort=${h.old.port}`]);
    await done(U);
    expectSameMail(await digestMailbox(h.old, U), await digestMailbox(h.target, U));
  });

  test("wrong credentials fail fast with the reason; other users are unaffected", async () => {
    await Promise.all([userLogin(h.target, IVAN), userLogin(h.target, "mallory@example.com")]);
    await waitFor(async () => (await d.status()).failed.some((f: any) => f.user === IVAN), 15_000, "ivan failed");
    const f = (await d.status()).failed.find((x: any) => x.user === IVAN);
    expect(f.attempts).toBe(0);
    expect(f.lastError).toMatch(/^login refused for ivan@other\.example/);
    await done("mallory@example.com");
    expect(d.output()).not.toContain("not-the-master-password");
  });

  test("control socket: pause a domain, queue by hand, resume; retry a failed job", async () => {
    const U = "kate@example.com";
    await d.post("/pause", { domain: "example.com" });
    await d.post("/migrate", { user: U });
    await Bun.sleep(1500);
    expect((await d.status()).jobs.find((j: any) => j.user === U)?.state).toBe("queued");
    await d.post("/resume", { domain: "example.com" });
    await done(U);
    // the failed job comes back when retried (and fails again: the password is still wrong)
    const before = (await accountState(h.home, IVAN))?.runs ?? 0;
    expect((await d.post("/retry", { user: IVAN })).retried).toBe(1);
    await waitFor(async () => ((await accountState(h.home, IVAN))?.runs ?? 0) > before, 10_000, "ivan retried");
  });

  test("a setting changed just before a job is queued by hand applies to that job, before the file watcher reports it", async () => {
    const U = "olivia@example.com";
    // written as the CLI writes it and queued at once over the control socket: the watcher
    // waits for the file to settle (50 ms); the job reads it again first
    await updateConfig(h.home, (c) => void (c.domains["example.com"]!.migration.folders.exclude = ["Work"]));
    await d.post("/migrate", { user: U });
    await done(U);
    const copied = await digestMailbox(h.target, U);
    expect([...copied.keys()]).not.toContain("Work");
    expect(copied.get("INBOX")?.length).toBe(3);
    const reloads = () => d.output().split('"msg":"settings reloaded"').length;
    const before = reloads();
    await runCliOk(h.home, ["domain", "set", "example.com", "migration.folders.exclude=[]"]);
    await waitFor(() => reloads() > before, 5000, "the daemon reloading exclude=[]");
  });

  test("schedules: failed jobs are retried and known accounts swept by cron, with no request", async () => {
    const ivanRuns = (await accountState(h.home, IVAN))?.runs ?? 0;
    const aliceRuns = (await accountState(h.home, "alice@example.com")).runs;
    // node-cron takes a seconds field: every second, so the test need not wait a minute
    await runCliOk(h.home, ["config", "set", "schedules.retryFailed=* * * * * *", "schedules.sweep=* * * * * *"]);
    await waitFor(async () => ((await accountState(h.home, IVAN))?.runs ?? 0) > ivanRuns, 15_000, "cron retry of the failed job");
    await waitFor(async () => (await accountState(h.home, "alice@example.com")).runs > aliceRuns, 15_000, "cron sweep of a known account");
    expect(d.output()).toContain('"msg":"scheduled retry of failed jobs"');
    expect(d.output()).toContain('"msg":"sweep queued"');
    await runCliOk(h.home, ["config", "set", "schedules={}"]);
    await waitFor(() => d.output().split('"msg":"settings reloaded"').length > 2, 5000, "schedules off");
    await waitFor(async () => (await d.status()).counts.running === 0, 15_000, "sweep drained");
  });

  test("SIGHUP reloads the settings", async () => {
    d.proc.kill("SIGHUP");
    await waitFor(() => d.output().includes('"msg":"settings reloaded","why":"SIGHUP"'), 5000, "reload on SIGHUP");
  });

  test("status: live from the daemon, from the files when it is not running", async () => {
    const live = await runCli(h.home, ["status", "--json"]);
    expect(JSON.parse(live.stdout)).toMatchObject({ daemon: "running", counts: { failed: 1 } });
    const one = await runCli(h.home, ["status", "alice@example.com"]);
    expect(one.stdout).toMatch(/last run: done/);
    expect(one.stdout).toMatch(/INBOX → INBOX: \d+ messages/);
    expect(await d.stop()).toBe(0);
    const off = await runCli(h.home, ["status"]);
    expect(off.stdout).toStartWith("the daemon is not running: live status is unavailable");
    expect(off.stdout).toContain("failed   ivan@other.example");
  });
});
