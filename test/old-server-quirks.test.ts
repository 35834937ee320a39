// The engine against old servers that are not Dovecot, through the built CLI: a scripted
// in-memory IMAP server (test/support/fake-imap.ts) on a real socket as the OLD server, a
// real Dovecot as the NEW one. Each quirk ends exact, or as an explicit failure or partial
// run with the reason: never DONE with loss.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fakeMessage, type Quirks } from "./support/fake-imap.ts";
import { fakeOldPerTest } from "./support/fake-old.ts";
import { migrateJson, runCliOk } from "./support/harness.ts";
import { digestMailbox } from "./support/mail.ts";

const USER = "alice@example.com";
const fx = fakeOldPerTest(USER);


async function setup(quirks: Quirks, messages: number, folders: string[] = ["INBOX"]): Promise<void> {
  await fx.start(quirks, (o) => {
    let n = 0;
    for (const f of folders) for (let i = 0; i < messages; i++) o.add(f, fakeMessage(++n), i % 2 ? ["\\Seen", "$Label1"] : [], new Date(Date.UTC(2024, 0, 1 + n)));
  });
}


/** The old folder's messages as the target should hold them. */
function expected(folder: string) {
  return fx.old.folders
    .get(folder)!
    .messages.map((m) => ({ sha256: createHash("sha256").update(m.body).digest("hex"), flags: [...m.flags].sort(), internalDate: m.internalDate.getTime(), size: m.body.length }))
    .sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1));
}

describe("old servers that are not Dovecot", () => {
  test("no [UIDNEXT] in EXAMINE (Courier): every message is copied, exactly; a rerun copies 0; new mail is copied", async () => {
    await setup({ noUidNextInSelect: true }, 30, ["INBOX", "Archive"]);
    const first = await migrateJson(fx.home, USER);
    expect(first.report.status).toBe("done");
    expect(first.report.messages).toBe(60);
    const got = await digestMailbox(fx.target, USER);
    expect(got.get("INBOX")).toEqual(expected("INBOX"));
    expect(got.get("Archive")).toEqual(expected("Archive"));
    // the ids came from the reader's STATUS, not from the highest UID (FETCH *)
    expect(fx.old.commands.filter((c) => /^FETCH \*/i.test(c))).toEqual([]);
    const again = await migrateJson(fx.home, USER);
    expect(again.report).toMatchObject({ status: "done", messages: 0 });
    fx.old.add("INBOX", fakeMessage(1000));
    const third = await migrateJson(fx.home, USER);
    expect(third.report).toMatchObject({ status: "done", messages: 1 });
    expect((await digestMailbox(fx.target, USER)).get("INBOX")).toEqual(expected("INBOX"));
  }, 60_000);

  test("a server that advertises LIST-EXTENDED and LIST-STATUS but refuses RETURN options: listed again with fewer, then LSUB and STATUS; exact", async () => {
    await setup({ refuseReturnOptions: true }, 10, ["INBOX", "Archive"]);
    const r = await migrateJson(fx.home, USER);
    expect(r.report).toMatchObject({ status: "done", messages: 20 });
    const got = await digestMailbox(fx.target, USER);
    expect(got.get("Archive")).toEqual(expected("Archive"));
    const lists = fx.old.commands.filter((c) => /^(LIST|LSUB|STATUS) /.test(c));
    // every stage of RETURN options refused once, then a plain LIST; subscriptions by LSUB, ids by STATUS
    expect(lists.filter((c) => c.includes("RETURN")).length).toBeGreaterThanOrEqual(2);
    expect(lists.some((c) => /^LIST +\*$/.test(c))).toBe(true);
    expect(lists.some((c) => c.startsWith("LSUB "))).toBe(true);
    expect(lists.filter((c) => c.startsWith("STATUS Archive")).length).toBeGreaterThanOrEqual(1);
    expect((await migrateJson(fx.home, USER)).report).toMatchObject({ status: "done", messages: 0 });
  }, 60_000);

  test("the listing's connection closed by the server once it is done: the folder is read on a fresh one, exact", async () => {
    // the listing is LIST, LSUB and STATUS of the one folder; the server hangs up after that
    await setup({ dropAfter: "STATUS" }, 12);
    const r = await migrateJson(fx.home, USER);
    expect(r.report).toMatchObject({ status: "done", messages: 12, errors: [] });
    expect((await digestMailbox(fx.target, USER)).get("INBOX")).toEqual(expected("INBOX"));
    expect(fx.old.logins.length).toBe(2);
  }, 60_000);

  test("no UIDNEXT from EXAMINE nor STATUS: the highest UID is used; nothing is lost", async () => {
    await setup({ noUidNextInSelect: true, noUidNextInStatus: true }, 25);
    const r = await migrateJson(fx.home, USER);
    expect(r.report).toMatchObject({ status: "done", messages: 25 });
    expect((await digestMailbox(fx.target, USER)).get("INBOX")).toEqual(expected("INBOX"));
    expect((await migrateJson(fx.home, USER)).report).toMatchObject({ status: "done", messages: 0 });
  }, 60_000);

  test("an identity without a mailbox (empty LIST) is a failure with the reason, never DONE", async () => {
    await setup({ emptyList: true }, 3);
    const r = await migrateJson(fx.home, USER);
    expect(r.code).toBe(1);
    expect(r.report.status).toBe("failed");
    expect(r.report.errors[0].code).toBe("NO_MAILBOX");
    expect(r.report.errors[0].message).toContain("no INBOX");
    expect(r.report.errors[0].message).toContain("migration.old.login");
  }, 60_000);

  test("a message FETCHed without its body is skipped with a reason (partial, exit 3), and copied once the server returns it", async () => {
    await setup({ bodyless: new Set([4]) }, 10);
    const r = await migrateJson(fx.home, USER);
    expect(r.code).toBe(3);
    expect(r.report.status).toBe("partial");
    expect(r.report.messages).toBe(9);
    expect(r.report.skipped).toEqual([{ folder: "INBOX", uid: 4, code: "NO_BODY", reason: expect.stringContaining("without the message's body") }]);
    expect((await digestMailbox(fx.target, USER)).get("INBOX")!.length).toBe(9);
    fx.old.quirks.bodyless = undefined;
    const again = await migrateJson(fx.home, USER);
    expect(again.report).toMatchObject({ status: "done", messages: 1, skipped: [] });
    expect((await digestMailbox(fx.target, USER)).get("INBOX")).toEqual(expected("INBOX"));
  }, 60_000);

  test("the connection dropped once in the middle of a FETCH: that batch is fetched again message by message on a fresh connection; the run ends exact", async () => {
    await setup({ dropDuringBodyFetch: 2 }, 300);
    const r = await migrateJson(fx.home, USER);
    expect({ status: r.report.status, messages: r.report.messages, skipped: r.report.skipped }).toEqual({ status: "done", messages: 300, skipped: [] });
    expect((await digestMailbox(fx.target, USER)).get("INBOX")).toEqual(expected("INBOX"));
    // the listing's login (the folder worker reads on that connection) and the fresh connection's after the drop
    expect(fx.old.logins.length).toBe(2);
  }, 60_000);

  test("the old server gone in the middle of a FETCH: the run fails as temporary with what landed counted; the rerun ends exact", async () => {
    await setup({ dropDuringBodyFetch: 2, downAfterDrop: true }, 300);
    const r = await migrateJson(fx.home, USER);
    expect(r.report.status).not.toBe("done");
    expect(r.report.errors.length).toBeGreaterThan(0);
    expect(r.report.errors.every((e: { transient: boolean }) => e.transient)).toBe(true);
    const landed = (await digestMailbox(fx.target, USER)).get("INBOX")!.length;
    expect(r.report.messages).toBe(landed);
    fx.old.quirks.down = false;
    const again = await migrateJson(fx.home, USER);
    expect(again.report.status).toBe("done");
    expect(again.report.messages).toBe(300 - landed);
    expect((await digestMailbox(fx.target, USER)).get("INBOX")).toEqual(expected("INBOX"));
  }, 60_000);
});

describe("migrate --json always prints one JSON object", () => {
  test("while another run holds the user's lock, with a corrupt settings file, and with a bad address", async () => {
    await setup({}, 2);
    // a live process holds the lock: this test process itself
    const { writeFileSync: write, mkdirSync } = await import("node:fs");
    mkdirSync(join(fx.home, "state", "accounts"), { recursive: true });
    write(join(fx.home, "state", "accounts", `${USER}.lock`), `${process.pid} test-holder`);
    const locked = await migrateJson(fx.home, USER);
    expect(locked.code).toBe(1);
    expect(locked.report).toMatchObject({ user: USER, status: "failed", messages: 0, errors: [{ code: "LOCKED", transient: true }] });
    rmSync(join(fx.home, "state", "accounts", `${USER}.lock`));
    const bad = await migrateJson(fx.home, "nobody");
    expect(bad.code).toBe(2);
    expect(bad.report).toMatchObject({ status: "failed", errors: [{ code: "INPUT" }] });
    write(join(fx.home, "config.json"), "{ not json");
    const corrupt = await migrateJson(fx.home, USER);
    expect(corrupt.code).toBe(1);
    expect(corrupt.report.status).toBe("failed");
    expect(corrupt.report.errors[0].message).toContain("config.json is corrupt");
  }, 60_000);
});

describe("an Exchange old server's busy answers", () => {
  test("with profile exchange, a refused login's \"Server Unavailable\" is a temporary SERVER_BUSY, not a final refusal; with generic it stays final", async () => {
    await setup({ refuseLogin: "Server Unavailable. 15" }, 3);
    const generic = await migrateJson(fx.home, USER);
    expect(generic.report.errors[0]).toMatchObject({ code: "LOGIN_REFUSED", transient: false });
    await runCliOk(fx.home, ["domain", "set", "example.com", "migration.old.profile=exchange"]);
    const exchange = await migrateJson(fx.home, USER);
    expect(exchange.report.errors[0]).toMatchObject({ code: "SERVER_BUSY", transient: true });
    expect(exchange.report.errors[0].message).toContain("Server Unavailable. 15");
    expect(exchange.report.errors[0].message).toContain("the old server is busy or throttling");
  }, 60_000);

  test("with profile exchange, \"User is authenticated but not connected\" on a folder is SERVER_BUSY (generic: a server error)", async () => {
    await setup({ refuseExamine: "User is authenticated but not connected." }, 3);
    expect((await migrateJson(fx.home, USER)).report.errors[0]).toMatchObject({ folder: "INBOX", code: "SERVER", transient: true });
    await runCliOk(fx.home, ["domain", "set", "example.com", "migration.old.profile=exchange"]);
    expect((await migrateJson(fx.home, USER)).report.errors[0]).toMatchObject({ folder: "INBOX", code: "SERVER_BUSY", transient: true });
  }, 60_000);
});
