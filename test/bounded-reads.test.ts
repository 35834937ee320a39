// Bounded reads from the old server, through the built CLI and the daemon, with a scripted old
// server on a real socket (a hostile proxy's behaviour no real server shows on demand) and a
// real Dovecot as the new one: a FETCH literal announced far larger than the message is
// refused as it is announced (the connection closed, memory untouched, the message skipped
// with OVERSIZED, the others copied); a message larger than migration.maxMessageBytes is not
// fetched at all (TOO_LARGE); a server that trickles a body never quite idle is cut off at the
// read's deadline, and the run ends.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { appendFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { accountState, startDaemon, waitFor } from "./support/daemon.ts";
import { fakeMessage, type Quirks } from "./support/fake-imap.ts";
import { fakeOldPerTest } from "./support/fake-old.ts";
import { migrateJson, runCliOk } from "./support/harness.ts";
import { digestMailbox } from "./support/mail.ts";

const USER = "alice@example.com";
const fx = fakeOldPerTest(USER);


async function setup(quirks: Quirks, bodies: (string | Buffer)[]): Promise<void> {
  await fx.start(quirks, (o) => bodies.forEach((b) => o.add("INBOX", b)), { config: (h) => [`logins.0.path=${join(h, "logins.jsonl")}`, "logins.0.format=jsonl"] });
}

const onTarget = async () => (await digestMailbox(fx.target, USER)).get("INBOX")?.length ?? 0;

describe("bounded reads from the old server", () => {
  test("a 300 MB literal announced for a small message: refused as announced, skipped with OVERSIZED, the others copied; the CLI ends", async () => {
    await setup({ inflateLiteral: { uid: 2, bytes: 300_000_000 } }, [1, 2, 3, 4].map((i) => fakeMessage(i)));
    const started = Date.now();
    const r = await migrateJson(fx.home, USER);
    expect(r.report).toMatchObject({ status: "partial", messages: 3 });
    expect(r.report.skipped).toEqual([{ folder: "INBOX", uid: 2, code: "OVERSIZED", reason: expect.stringContaining("larger than it said it was") }]);
    expect(await onTarget()).toBe(3);
    // the client stopped reading at the announcement: what the server got out is what the socket buffers held
    expect(fx.old.quirks.inflatedSent!).toBeLessThan(32 * 1024 * 1024);
    expect(Date.now() - started).toBeLessThan(60_000);
    // a rerun tries it again and stops the same way: never DONE, nothing twice
    const again = await migrateJson(fx.home, USER);
    expect(again.report).toMatchObject({ status: "partial", messages: 0, skipped: [expect.objectContaining({ uid: 2, code: "OVERSIZED" })] });
    expect(await onTarget()).toBe(3);
  });

  test("large (spooled) messages: one announced far larger, one whose answer carries the body twice; both skipped with their codes, no spool file left, the one after them byte-exact", async () => {
    // above the 4 MB threshold: each goes alone, streamed into a spool file
    const large = (n: number) => fakeMessage(n, `${n}`.repeat(5 * 1024 * 1024));
    await setup({ inflateLiteral: { uid: 2, bytes: 300_000_000 }, doubleBody: 3 }, [fakeMessage(1), large(2), large(3), large(4), fakeMessage(5)]);
    const r = await migrateJson(fx.home, USER);
    expect(r.report).toMatchObject({ status: "partial", messages: 3 });
    expect(r.report.skipped).toEqual([
      { folder: "INBOX", uid: 2, code: "OVERSIZED", reason: expect.stringContaining("larger than it said it was") },
      { folder: "INBOX", uid: 3, code: "UNREADABLE", reason: expect.any(String) },
    ]);
    expect(fx.old.quirks.inflatedSent!).toBeLessThan(32 * 1024 * 1024);
    const copied = (await digestMailbox(fx.target, USER)).get("INBOX")!;
    const sha = (b: string) => createHash("sha256").update(b).digest("hex");
    expect(copied.map((m) => m.sha256).sort()).toEqual([fakeMessage(1), large(4), fakeMessage(5)].map(sha).sort());
    expect(readdirSync(join(fx.home, "state", "spool"))).toEqual([]);
  });

  test("the daemon: the same server, a login; the job ends partial with the coded skip, and the daemon stays up", async () => {
    await setup({ inflateLiteral: { uid: 1, bytes: 500_000_000 } }, [1, 2].map((i) => fakeMessage(i)));
    writeFileSync(join(fx.home, "logins.jsonl"), "");
    await runCliOk(fx.home, ["domain", "enable", "example.com"]);
    const d = await startDaemon(fx.home);
    try {
      appendFileSync(join(fx.home, "logins.jsonl"), `${JSON.stringify({ time: new Date().toISOString(), user: USER, service: "imap", ip: "192.0.2.1" })}\n`);
      await waitFor(async () => (await accountState(fx.home, USER))?.lastRun?.status === "partial", 60_000, "the login's run");
      const state = await accountState(fx.home, USER);
      expect(state.folders.INBOX.skipped).toEqual([{ uid: 1, code: "OVERSIZED", reason: expect.stringContaining("larger than it said it was") }]);
      expect(await onTarget()).toBe(1);
      expect(d.proc.exitCode).toBeNull();
      expect((await d.status()).pid).toBe(d.proc.pid);
    } finally {
      await d.stop();
    }
  });

  test("a message larger than migration.maxMessageBytes is not fetched: skipped with TOO_LARGE, the setting named", async () => {
    const big = fakeMessage(2, "x".repeat(1_500_000));
    await setup({}, [fakeMessage(1), big, fakeMessage(3)]);
    await runCliOk(fx.home, ["domain", "set", "example.com", "migration.maxMessageBytes=1048576"]);
    const r = await migrateJson(fx.home, USER);
    expect(r.report).toMatchObject({ status: "partial", messages: 2 });
    expect(r.report.skipped).toEqual([{ folder: "INBOX", uid: 2, code: "TOO_LARGE", reason: expect.stringContaining("more than migration.maxMessageBytes (1048576)") }]);
    // never asked for its body, whole or in parts
    expect(fx.old.commands.filter((c) => /FETCH 2 .*BODY/i.test(c) || /FETCH 2:2 .*BODY/i.test(c))).toEqual([]);
    // raised, the next run copies it
    await runCliOk(fx.home, ["domain", "set", "example.com", "migration.maxMessageBytes=4194304"]);
    expect((await migrateJson(fx.home, USER)).report).toMatchObject({ status: "done", messages: 1 });
    expect(await onTarget()).toBe(3);
  });

  test("a body trickled a byte every 2 s is cut off at the read's deadline; the message is skipped, the run ends", async () => {
    await setup({ trickleBody: { uid: 2, everyMs: 2000 } }, [1, 2, 3].map((i) => fakeMessage(i)));
    const started = Date.now();
    // (the deadline's base shortened for the test: 3 s instead of 120 s)
    const r = await migrateJson(fx.home, USER, { AUTOMIGRATE_TEST_READ_DEADLINE_MS: "3000" });
    expect(r.report).toMatchObject({ status: "partial", messages: 2 });
    expect(r.report.skipped).toEqual([{ folder: "INBOX", uid: 2, code: "UNREADABLE", reason: expect.any(String) }]);
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 90_000);
});
