// "Migrate now" and cancel through the running daemon (the built entry), from the CLI:
// `migrate --queue` says what the daemon did and warns when the queue is paused; `cancel`
// takes queued jobs out by user, domain or state, stops a running one at its next safe point
// (a slow scripted old server keeps it running), and a later run continues from there with
// nothing copied twice.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { startDaemon, waitFor, type DaemonProc } from "./support/daemon.ts";
import { startDovecot, type Dovecot } from "./support/dovecot.ts";
import { fakeMessage, startFakeImap, type FakeImap } from "./support/fake-imap.ts";
import { homeWithFakeOld, migrateJson, runCli, runCliOk } from "./support/harness.ts";
import { digestMailbox } from "./support/mail.ts";

const SLOW = "slow@example.com";
/** Three batches of 100: after the first one lands, the cancel has two batches' time (~8 s) to arrive, even on a loaded machine. */
const MESSAGES = 300;
let target: Dovecot;
let old: FakeImap;
let home: string;
let d: DaemonProc;

beforeAll(async () => {
  target = await startDovecot({ label: "new", users: [SLOW, "bob@example.com"].map((user) => ({ user, password: "pw" })) });
  old = await startFakeImap();
  for (let i = 1; i <= MESSAGES; i++) old.add("INBOX", fakeMessage(i));
  home = await homeWithFakeOld(old, target, { prefix: "automigrate-cancel-", domains: ["example.com", "other.example"] });
  d = await startDaemon(home);
}, 60_000);

afterAll(async () => {
  if (d?.proc.exitCode === null) await d.stop();
  await old?.stop();
  await target?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

const queued = async () => (await d.status()).jobs.map((j: { user: string; reason: string }) => `${j.user}:${j.reason}`).sort();

describe("migrate --queue and cancel", () => {
  test("without a selection, or without a daemon, cancel does nothing and says why", async () => {
    const none = await runCli(home, ["cancel"]);
    expect([none.code, none.stderr]).toEqual([2, expect.stringContaining("say what to cancel: a user, --domain or --state")]);
    const bad = await runCli(home, ["cancel", "--state", "sleeping"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("queued, scheduled, waiting, running, failed");
  });

  test("migrate --queue while paused: queued, with a warning; a typo'd domain is refused", async () => {
    await runCliOk(home, ["pause"]);
    const r = await runCli(home, ["migrate", "bob@example.com", "--queue"]);
    expect([r.code, r.stdout]).toEqual([0, "bob@example.com: queued: it runs next, before logins and bulk work\n"]);
    expect(r.stderr).toContain("warning: the queue is paused for example.com: it starts after automigrate resume");
    expect((await runCli(home, ["migrate", "bob@example.com", "--queue"])).stdout).toBe("bob@example.com: already in the queue: moved to the front\n");
    const typo = await runCli(home, ["migrate", "bob@exmaple.com", "--queue"]);
    expect([typo.code, typo.stderr]).toEqual([2, expect.stringContaining("domain exmaple.com is not configured")]);
    for (const u of ["carol@example.com", "dan@other.example", "erin@other.example"]) await runCliOk(home, ["migrate", u, "--queue"]);
    expect(await queued()).toEqual(["bob@example.com:manual", "carol@example.com:manual", "dan@other.example:manual", "erin@other.example:manual"]);
  });

  test("cancel one user, then a domain's queued jobs; nothing left to match is exit 1", async () => {
    const one = await runCli(home, ["cancel", "bob@example.com"]);
    expect([one.code, one.stdout]).toEqual([0, "cancelled 1 job (queued or waiting): bob@example.com\n"]);
    const domain = await runCli(home, ["cancel", "--domain", "other.example", "--state", "queued", "--json"]);
    expect(JSON.parse(domain.stdout)).toEqual({ cancelled: ["dan@other.example", "erin@other.example"], stopping: [], failedRemoved: [] });
    expect(await queued()).toEqual(["carol@example.com:manual"]);
    const nothing = await runCli(home, ["cancel", "--domain", "other.example"]);
    expect([nothing.code, nothing.stdout]).toEqual([1, "nothing to cancel: no job matched\n"]);
    await runCliOk(home, ["cancel", "carol@example.com"]);
    expect(await queued()).toEqual([]);
    // and the cancelled jobs are gone for good: a restart does not bring them back
    await d.stop();
    d = await startDaemon(home);
    expect(await queued()).toEqual([]);
    await runCliOk(home, ["resume"]);
  });

  test("a running migration stops at its next safe point when cancelled; a later run continues, nothing twice", async () => {
    old.quirks.slowBodyMs = 40; // ~12 s for the mailbox
    await runCliOk(home, ["migrate", SLOW, "--queue"]);
    await waitFor(async () => (await d.status()).jobs.some((j: { user: string; state: string; progress?: { messagesDone: number } }) => j.user === SLOW && j.state === "running" && (j.progress?.messagesDone ?? 0) > 0), 20_000, "the slow job copying");
    const r = await runCli(home, ["cancel", SLOW]);
    expect([r.code, r.stdout]).toEqual([0, `stopping 1 job at the next safe point (what was copied stays): ${SLOW}\n`]);
    await waitFor(async () => (await d.status()).jobs.length === 0, 20_000, "the job gone from the queue");
    expect(d.output()).toContain("migration cancelled");
    const part = await digestMailbox(target, SLOW);
    expect(part.get("INBOX")!.length).toBeLessThan(MESSAGES);
    old.quirks.slowBodyMs = undefined;
    const rest = await migrateJson(home, SLOW);
    expect({ status: rest.report.status, total: part.get("INBOX")!.length + rest.report.messages }).toEqual({ status: "done", total: MESSAGES });
    const want = old.folders.get("INBOX")!.messages.map((m) => createHash("sha256").update(m.body).digest("hex")).sort();
    expect((await digestMailbox(target, SLOW)).get("INBOX")!.map((m) => m.sha256).sort()).toEqual(want);
    expect(d.proc.exitCode).toBeNull();
  });
});
