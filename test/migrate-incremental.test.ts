// Incremental runs, UIDVALIDITY changes, refused messages and bad credentials.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { countAll, expectSameMail } from "./support/compare.ts";
import { doveadm } from "./support/dovecot.ts";
import { migrateJson, startHarness, type Harness } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed, withClient } from "./support/mail.ts";

const USERS = ["inc@example.com", "uidv@example.com", "rebuilt@example.com", "refuse@example.com", "nopass@example.com"];

describe("incremental migration", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ users: USERS, target: { maxMailSize: "100k" } });
  });
  afterAll(() => h.stop());

  test("a rerun copies 0; new mail on the old server is copied on the next run", async () => {
    const U = "inc@example.com";
    await seed(h.old, U, [{ path: "Work" }], Array.from({ length: 30 }, (_, i) => ({ folder: i % 2 ? "INBOX" : "Work", raw: makeMessage(i) })));
    const first = await migrateJson(h.home, U);
    expect(first.report).toMatchObject({ status: "done", messages: 30 });
    const logins = () => readFileSync(h.target.logPath, "utf8").split("\n").filter((l) => l.includes(`Login: user=<${U}>`)).length;
    const before = logins();
    const again = await migrateJson(h.home, U);
    expect(again.report).toMatchObject({ status: "done", messages: 0, bytes: 0, folders: 2 });
    // nothing new: one LIST-STATUS on the old server, not even a login on the new one
    expect(logins()).toBe(before);

    await seed(h.old, U, [{ path: "Later" }], [
      { folder: "INBOX", raw: makeMessage(100) },
      { folder: "Work", raw: makeMessage(101) },
      { folder: "Later", raw: makeMessage(102) },
    ]);
    const third = await migrateJson(h.home, U);
    expect(third.report).toMatchObject({ status: "done", messages: 3 });
    expectSameMail(await digestMailbox(h.old, U), await digestMailbox(h.target, U));
  });

  test("a UIDVALIDITY change on the old side does not duplicate, and later mail still comes", async () => {
    const U = "uidv@example.com";
    await seed(h.old, U, [], Array.from({ length: 12 }, (_, i) => ({ folder: "INBOX", raw: makeMessage(i) })));
    expect((await migrateJson(h.home, U)).report.messages).toBe(12);
    doveadm(h.old, ["mailbox", "update", "-u", U, "--uid-validity", "4242", "INBOX"]);
    await seed(h.old, U, [], [{ folder: "INBOX", raw: makeMessage(50) }]);
    const r = await migrateJson(h.home, U);
    expect(r.report).toMatchObject({ status: "done", messages: 1 });
    const target = await digestMailbox(h.target, U);
    expect(countAll(target)).toBe(13);
    expectSameMail(await digestMailbox(h.old, U), target);
  });

  test("a rebuilt old folder (new UIDVALIDITY and new UIDs) does not duplicate", async () => {
    const U = "rebuilt@example.com";
    await seed(h.old, U, [], [
      ...Array.from({ length: 8 }, (_, i) => ({ folder: "INBOX", raw: makeMessage(i) })),
      // true duplicates must stay two
      { folder: "INBOX", raw: makeMessage(99, { messageId: "same@x" }), date: new Date("2020-01-01T00:00:00Z") },
      { folder: "INBOX", raw: makeMessage(99, { messageId: "same@x" }), date: new Date("2020-01-01T00:00:00Z") },
    ]);
    expect((await migrateJson(h.home, U)).report.messages).toBe(10);
    // throw away Dovecot's UID list and indexes: it renumbers every message
    const dir = h.old.maildir(U);
    for (const f of readdirSync(dir)) if (f.startsWith("dovecot")) rmSync(join(dir, f), { force: true });
    doveadm(h.old, ["mailbox", "update", "-u", U, "--uid-validity", "777", "INBOX"]);
    await seed(h.old, U, [], [{ folder: "INBOX", raw: makeMessage(60) }]);
    const uidv = await withClient(h.old, U, async (c) => Number((await c.mailboxOpen("INBOX", { readOnly: true })).uidValidity));
    expect(uidv).toBe(777);
    const r = await migrateJson(h.home, U);
    expect(r.report).toMatchObject({ status: "done", messages: 1 });
    const target = await digestMailbox(h.target, U);
    expect(countAll(target)).toBe(11);
    expectSameMail(await digestMailbox(h.old, U), target);
  });

  test("a message the target refuses is skipped and reported; the rest goes on; exit 3 (partial)", async () => {
    const U = "refuse@example.com";
    const huge = makeMessage(5, { bodyBytes: 150 * 1024, subject: "too big for the new server" });
    await seed(h.old, U, [], [
      ...Array.from({ length: 4 }, (_, i) => ({ folder: "INBOX", raw: makeMessage(i) })),
      { folder: "INBOX", raw: huge },
      ...Array.from({ length: 4 }, (_, i) => ({ folder: "INBOX", raw: makeMessage(10 + i) })),
    ]);
    const r = await migrateJson(h.home, U);
    expect(r.code).toBe(3);
    expect(r.report.status).toBe("partial");
    expect(r.report.messages).toBe(8);
    expect(r.report.skipped).toHaveLength(1);
    expect(r.report.skipped[0]).toMatchObject({ folder: "INBOX", uid: 5, code: "REFUSED_BY_NEW_SERVER" });
    expect(r.report.skipped[0].reason).toBe("the new server refused it: [LIMIT] Mail size is larger than the maximum size allowed by server configuration");
    // a rerun retries it, still refused, and duplicates nothing
    const again = await migrateJson(h.home, U);
    expect(again.code).toBe(3);
    expect(again.report).toMatchObject({ messages: 0, skipped: [{ folder: "INBOX", uid: 5 }] });
    expect(countAll(await digestMailbox(h.target, U))).toBe(8);
  });

  test("a wrong master password fails fast, names the server and the user, never prints the password", async () => {
    const U = "nopass@example.com";
    const pwFile = join(h.home, "old-master.pw");
    const good = await Bun.file(pwFile).text();
    await Bun.write(pwFile, "wrong-secret-123\n");
    try {
      const r = await migrateJson(h.home, U);
      expect(r.code).toBe(1);
      expect(r.report.status).toBe("failed");
      expect(r.report.errors[0].message).toMatch(/login refused for nopass@example\.com.*old server 127\.0\.0\.1:\d+/s);
      expect(JSON.stringify(r) + r.stderr).not.toContain("wrong-secret-123");
    } finally {
      await Bun.write(pwFile, good);
    }
  });
});
