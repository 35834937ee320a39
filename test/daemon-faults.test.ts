// The daemon as a process (the built entry) under faults that used to end it: an old
// server that drops the connection in the middle of FETCH answers, and login lines that
// are not what they should be. The daemon stays up, every job ends exact after retries.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accountState, startDaemon, waitFor, type DaemonProc } from "./support/daemon.ts";
import { startDovecot, type Dovecot } from "./support/dovecot.ts";
import { fakeMessage, startFakeImap, type FakeImap } from "./support/fake-imap.ts";
import { homeWithFakeOld, runCliOk } from "./support/harness.ts";
import { digestMailbox } from "./support/mail.ts";

const USERS = ["ann@example.com", "ben@example.com"];
/** One per fault stage of the last test. */
const STAGE_USERS = ["fay@example.com", "gus@example.com", "hal@example.com"];
let target: Dovecot;
let old: FakeImap;
let home: string;
let d: DaemonProc;
let jsonl: string;

beforeAll(async () => {
  target = await startDovecot({ label: "new", users: [...USERS, ...STAGE_USERS].map((user) => ({ user, password: "pw" })) });
  // one mailbox served for every identity; the connection drops in the 2nd body FETCH
  // and goes down after it, until the test brings it back
  old = await startFakeImap({ quirks: { dropDuringBodyFetch: 2, downAfterDrop: true } });
  for (let i = 1; i <= 400; i++) old.add(i % 3 ? "INBOX" : "Archive", fakeMessage(i), i % 2 ? ["\\Seen"] : []);
  home = await homeWithFakeOld(old, target, {
    config: (h) => {
      jsonl = join(h, "logins.jsonl");
      writeFileSync(jsonl, "");
      return [`logins.0.path=${jsonl}`, "logins.0.format=jsonl", "workers.retryBaseSec=1", "workers.retryMaxSec=1"];
    },
  });
  await runCliOk(home, ["domain", "enable", "example.com"]);
  d = await startDaemon(home);
}, 60_000);

afterAll(async () => {
  if (d?.proc.exitCode === null) await d.stop();
  await old.stop();
  await target.stop();
  rmSync(home, { recursive: true, force: true });
});

/** The fake old server's messages of a folder, as sorted digests. */
const want = (folder: string) =>
  old.folders
    .get(folder)!
    .messages.map((m) => createHash("sha256").update(m.body).digest("hex"))
    .sort();

const login = (user: string) => appendFileSync(jsonl, `${JSON.stringify({ time: new Date().toISOString(), user, service: "imap", ip: "192.0.2.1" })}\n`);

test("dropped connections mid-FETCH and a hostile login line: the daemon stays up; every job ends exact after retries", async () => {
  // a 300-character local part (longer than a file name may be) and garbage lines first
  login(`${"x".repeat(300)}@example.com`);
  appendFileSync(jsonl, "not json at all\n{\"user\": 123}\n");
  login(USERS[0]!);
  // the old server is down: the job waits to retry, the daemon stays up; then it is back,
  // and a drop in the middle of the second user's FETCH is survived within the run
  await waitFor(() => d.output().includes("migration will be retried"), 30_000, "a retry planned");
  old.quirks.down = false;
  old.quirks.downAfterDrop = false;
  old.quirks.dropDuringBodyFetch = old.commands.filter((c) => /BODY\.PEEK\[\]/i.test(c)).length + 2;
  login(USERS[1]!);
  for (const u of USERS) {
    await waitFor(async () => (await accountState(home, u))?.lastRun?.status === "done", 60_000, `${u} done`);
  }
  expect(d.proc.exitCode).toBeNull();
  const status = await d.status();
  expect(status.pid).toBe(d.proc.pid);
  for (const u of USERS) {
    const got = await digestMailbox(target, u);
    expect(got.get("INBOX")!.map((m) => m.sha256).sort()).toEqual(want("INBOX"));
    expect(got.get("Archive")!.map((m) => m.sha256).sort()).toEqual(want("Archive"));
  }
  // the first user's run did fail while the server was down before it ended exact
  expect(d.output()).toMatch(/"msg":"migration will be retried".*"user":"ann@example.com"/);
}, 120_000);

test("the old server drops the connection at each stage (during LOGIN, idle after EXAMINE, mid-literal): the daemon stays up, each job ends exact", async () => {
  // a drop at LOGIN or while idle fails the run (retried); a drop inside a FETCH answer is
  // survived within the run (that batch is fetched again message by message)
  const stages: [string, () => void, boolean][] = [
    ["during LOGIN", () => (old.quirks.dropAtLogin = true), true],
    ["idle, right after EXAMINE", () => (old.quirks.dropAfter = "EXAMINE"), true],
    ["in the middle of a message literal", () => (old.quirks.dropDuringBodyFetch = old.commands.filter((c) => /BODY\.PEEK\[\]/i.test(c)).length + 1), false],
  ];
  for (const [i, [stage, arm, retries]] of stages.entries()) {
    const u = STAGE_USERS[i]!;
    const before = d.output().length;
    arm();
    login(u);
    await waitFor(async () => (await accountState(home, u))?.lastRun?.status === "done", 60_000, `${u} done after a drop ${stage}`);
    expect({ stage, retried: d.output().slice(before).includes("migration will be retried") }).toEqual({ stage, retried: retries });
    const got = await digestMailbox(target, u);
    expect(got.get("INBOX")!.map((m) => m.sha256).sort()).toEqual(want("INBOX"));
    expect(got.get("Archive")!.map((m) => m.sha256).sort()).toEqual(want("Archive"));
  }
  expect(d.proc.exitCode).toBeNull();
  expect(old.quirks).toMatchObject({ dropAtLogin: false, dropAfter: undefined, dropDuringBodyFetch: undefined });
}, 120_000);

test("a 10 MB log line is skipped at read speed, whole: the next login is seen at once, a login hidden at its end never", async () => {
  const hidden = JSON.stringify({ time: new Date().toISOString(), user: "mallory@example.com", service: "imap", ip: "192.0.2.66" });
  appendFileSync(jsonl, `${"x".repeat(10 * 1024 * 1024)}${hidden}\n`);
  const appended = Date.now();
  login("cal@example.com");
  await waitFor(() => d.output().includes('"user":"cal@example.com"'), 15_000, "cal's login seen");
  // polling 256 KB per 500 ms, this took 20 s; read to its end at once it takes well under 5 s
  expect(Date.now() - appended).toBeLessThan(5_000);
  await Bun.sleep(1000);
  expect(d.output()).not.toContain("mallory@example.com");
  expect(d.proc.exitCode).toBeNull();
}, 60_000);

test("a second daemon (another home) on the same login log refuses that log, says who has it, and takes it when the first is gone", async () => {
  const other = mkdtempSync(join(tmpdir(), "automigrate-home2-"));
  try {
    await runCliOk(other, ["config", "set", `logins.0.path=${jsonl}`, "logins.0.format=jsonl"]);
    await runCliOk(other, ["domain", "add", "example.com", "migration.old.host=127.0.0.1"]);
    const second = await startDaemon(other);
    try {
      await waitFor(() => second.output().includes("login log not tailed"), 10_000, "the refusal");
      expect(second.output()).toContain(`is already tailed by automigrate daemon pid ${d.proc.pid}, home ${home}`);
      expect((await second.status()).logsRefused).toEqual([{ path: jsonl, reason: expect.stringContaining("two daemons on one log would migrate every login twice") }]);
      expect((await runCliOk(other, ["status"]))).toContain("LOGIN LOG NOT TAILED");
      login("dan@example.com");
      await waitFor(() => d.output().includes('"user":"dan@example.com"'), 10_000, "dan seen by the first daemon");
      await Bun.sleep(1000);
      expect(second.output()).not.toContain("dan@example.com");
      // the first daemon gone (even by kill -9), the second takes the log on its next reload
      await d.kill9();
      second.proc.kill("SIGHUP");
      await waitFor(async () => (await second.status()).logsRefused.length === 0, 10_000, "the log taken over");
      expect((await second.status()).logs.map((l: { path: string }) => l.path)).toEqual([jsonl]);
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
}, 60_000);
