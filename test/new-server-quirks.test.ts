// A new server that is a plain RFC 3501 server: no UIDPLUS (APPEND answers carry no
// [APPENDUID]), no MULTIAPPEND, no LITERAL+ (every message waits for "+"), no SPECIAL-USE.
// The scripted IMAP server on a real socket plays it (test/support/fake-imap.ts); the old
// server is a real Dovecot. Exact copy, reruns, kill -9 (recovery by fingerprint, since no
// UIDs come back) and a refused APPEND, each checked message by message.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDovecot, type Dovecot } from "./support/dovecot.ts";
import { startFakeImap, type FakeImap } from "./support/fake-imap.ts";
import { migrateJson, runCli, runCliOk, spawnCli } from "./support/harness.ts";
import { waitFor } from "./support/daemon.ts";
import { digestMailbox, makeMessage, seed, type MessageDigest } from "./support/mail.ts";

const U = "alice@example.com";
let old: Dovecot;
let fake: FakeImap;
let home: string;

/** The fake new server's folders as digests, like digestMailbox's. */
function fakeDigests(f: FakeImap): Map<string, MessageDigest[]> {
  const out = new Map<string, MessageDigest[]>();
  for (const [name, folder] of f.folders) {
    const msgs = folder.messages.map((m) => ({ sha256: createHash("sha256").update(m.body).digest("hex"), flags: [...m.flags].filter((x) => x !== "\\Recent").sort(), internalDate: m.internalDate.getTime(), size: m.body.length }));
    msgs.sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
    out.set(name, msgs);
  }
  return out;
}

/** Every old message on the fake new server, folder by folder (bytes, flags, dates). */
async function expectTargetExact(): Promise<void> {
  const want = await digestMailbox(old, U);
  const got = fakeDigests(fake);
  for (const [folder, msgs] of want) expect({ folder, msgs: got.get(folder) ?? [] }).toEqual({ folder, msgs });
}

/** No migration state, an empty new server: the next run starts from nothing. */
function startOver(): void {
  rmSync(join(home, "state"), { recursive: true, force: true });
  for (const f of fake.folders.values()) f.messages.length = 0;
}

beforeAll(async () => {
  old = await startDovecot({ label: "old", users: [{ user: U, password: "pw" }] });
  fake = await startFakeImap({ quirks: { noUidPlus: true } });
  await seed(old, U, [{ path: "Work" }, { path: "Work/2024" }], [
    ...Array.from({ length: 40 }, (_, i) => ({ folder: "INBOX", raw: makeMessage(i, { bodyBytes: 300 + i * 97 }), flags: i % 2 ? ["\\Seen"] : ["\\Flagged", "$Label1"], date: new Date(Date.UTC(2023, i % 12, 1 + i, 8, 30, 15)) })),
    { folder: "Work", raw: Buffer.from("Subject: 8bit \xe9t\xe9\r\n\r\nbody \\ with \"quotes\" and \xff\r\n", "latin1"), flags: ["\\Answered"] },
    { folder: "Work/2024", raw: makeMessage(100, { bodyBytes: 120_000 }), date: new Date("2020-02-29T23:59:59Z") },
  ]);
  home = mkdtempSync(join(tmpdir(), "automigrate-newquirks-"));
  writeFileSync(join(home, "old.pw"), old.master.password, { mode: 0o600 });
  writeFileSync(join(home, "new.pw"), "secret\n", { mode: 0o600 });
  await runCliOk(home, ["config", "set", `target.host=${fake.host}`, `target.port=${fake.port}`, "target.tls=none", "target.auth.mode=master", "target.auth.user=admin", `target.auth.passwordFile=${join(home, "new.pw")}`]);
  await runCliOk(home, ["domain", "add", "example.com", `migration.old.host=${old.host}`, `migration.old.imapPort=${old.port}`, "migration.old.imapTls=none", "migration.old.auth.mode=master", "migration.old.auth.user=admin", `migration.old.auth.passwordFile=${join(home, "old.pw")}`]);
}, 60_000);

afterAll(async () => {
  await fake?.stop();
  await old?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe("a new server without UIDPLUS, MULTIAPPEND and LITERAL+", () => {
  test("every message exact (bytes, flags, dates, 8-bit and quotes), one APPEND at a time; a rerun copies 0", async () => {
    const r = await migrateJson(home, U);
    expect({ code: r.code, status: r.report.status, messages: r.report.messages, errors: r.report.errors }).toEqual({ code: 0, status: "done", messages: 42, errors: [] });
    const appends = fake.commands.filter((c) => c.startsWith("APPEND"));
    expect(appends.length).toBe(42); // no MULTIAPPEND: one message per command
    await expectTargetExact();
    expect((await migrateJson(home, U)).report).toMatchObject({ status: "done", messages: 0 });
    expect(fake.commands.filter((c) => c.startsWith("APPEND")).length).toBe(42);
  });

  test("kill -9 after an APPEND was answered: without APPENDUID the rerun finds the copies by fingerprint; nothing twice", async () => {
    startOver();
    const crashed = await runCli(home, ["migrate", U, "--json"], { AUTOMIGRATE_TEST_CRASH_AT: "appended:3" });
    expect(crashed.signal).toBe("SIGKILL");
    const r = await migrateJson(home, U);
    expect({ status: r.report.status, errors: r.report.errors }).toEqual({ status: "done", errors: [] });
    await expectTargetExact();
  });

  test("kill -9 while the new server still commits an APPEND it has read: the rerun sees that late copy and does not send it twice", async () => {
    startOver();
    const sent = fake.commands.length;
    fake.quirks.lateAppendMs = 1_500;
    const run = spawnCli(home, ["migrate", U, "--json"]);
    await waitFor(() => fake.commands.slice(sent).some((c) => c.startsWith("APPEND")), 30_000, "the first APPEND");
    run.kill("SIGKILL");
    await run.exited;
    // the rerun starts at once, while the server has not yet stored the dead run's message
    expect(fake.quirks.lateStored).toBeUndefined();
    const r = await migrateJson(home, U);
    expect({ status: r.report.status, errors: r.report.errors }).toEqual({ status: "done", errors: [] });
    // the dead run's message is stored late (whenever the rerun looked), then all is compared
    await waitFor(() => fake.quirks.lateStored === 1, 10_000, "the late APPEND stored");
    await expectTargetExact();
  }, 60_000);

  test("an APPEND the new server refuses: skipped with its reason (partial), copied once the cause is gone", async () => {
    startOver();
    fake.quirks.refuseAppendTo = "Work";
    const r = await migrateJson(home, U);
    expect({ code: r.code, status: r.report.status }).toEqual({ code: 3, status: "partial" });
    expect(r.report.skipped).toEqual([expect.objectContaining({ folder: "Work", reason: expect.stringContaining("[OVERQUOTA] quota exceeded") })]);
    fake.quirks.refuseAppendTo = undefined;
    const again = await migrateJson(home, U);
    expect({ status: again.report.status, messages: again.report.messages }).toEqual({ status: "done", messages: 1 });
    await expectTargetExact();
  });

  test("hostile answers: a huge APPENDUID set is not believed (exact, nothing twice); an oversized literal ends the run with the reason, never DONE", async () => {
    startOver();
    fake.quirks.noUidPlus = false;
    fake.quirks.appendUidSet = "1:4294967295";
    const r = await migrateJson(home, U);
    expect({ code: r.code, status: r.report.status, messages: r.report.messages }).toEqual({ code: 0, status: "done", messages: 42 });
    expect((await migrateJson(home, U)).report).toMatchObject({ status: "done", messages: 0 });
    await expectTargetExact();
    fake.quirks.appendUidSet = undefined;

    startOver();
    fake.quirks.selectLiteralBytes = 2_000_000_000;
    const bad = await migrateJson(home, U);
    expect(bad.report.status).not.toBe("done");
    expect(bad.report.errors.length).toBeGreaterThan(0);
    expect(bad.report.errors.map((e: { message: string }) => e.message).join("\n")).toMatch(/literal/i);
    expect([...fake.folders.values()].reduce((n, f) => n + f.messages.length, 0)).toBe(0);
    fake.quirks.selectLiteralBytes = undefined;
    fake.quirks.noUidPlus = true;
    const again = await migrateJson(home, U);
    expect({ status: again.report.status, messages: again.report.messages }).toEqual({ status: "done", messages: 42 });
  });
});
