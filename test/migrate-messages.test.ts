// Messages byte-for-byte with flags and INTERNALDATE, odd messages, and an old server that
// is never modified — against real Dovecot servers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectSameMail } from "./support/compare.ts";
import { migrateJson, runCli, startHarness, type Harness } from "./support/harness.ts";
import { ImapAppender } from "../src/mailstore/imap/appender.ts";
import { digestMailbox, loginCount, maildirChecksum, makeMessage, seed, withClient } from "./support/mail.ts";

const U = "alice@example.com";

function bigAttachment(mb: number): string {
  const bytes = Buffer.alloc(mb * 1024 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
  const b64 = bytes.toString("base64").replace(/(.{76})/g, "$1\r\n");
  return `From: big@example.org\r\nTo: ${U}\r\nSubject: ${mb} MB attachment\r\nMessage-ID: <big@old.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="big.bin"\r\n\r\n${b64}\r\n--b--\r\n`;
}

describe("message fidelity", () => {
  let h: Harness;
  let before: string;
  let oldDigest: Awaited<ReturnType<typeof digestMailbox>>;
  beforeAll(async () => {
    h = await startHarness();
    const odd = [
      { folder: "INBOX", raw: makeMessage(1), flags: ["\\Seen", "\\Answered", "$Label1"], date: new Date("2019-02-03T04:05:06Z") },
      { folder: "INBOX", raw: makeMessage(2), flags: ["\\Flagged", "$Forwarded", "custom_keyword", "\\Draft"], date: new Date("2001-09-09T01:46:40Z") },
      { folder: "INBOX", raw: makeMessage(3), flags: [] /* unseen: must stay unseen on the old server */ },
      { folder: "INBOX", raw: makeMessage(4, { messageId: null, subject: "no message-id" }) },
      { folder: "INBOX", raw: makeMessage(5, { messageId: "dup@old.example", subject: "dup A" }) },
      { folder: "INBOX", raw: makeMessage(6, { messageId: "dup@old.example", subject: "dup B" }) },
      // an exact duplicate (same bytes, same date): both copies must arrive
      { folder: "INBOX", raw: makeMessage(7, { messageId: "twin@old.example", subject: "twin" }), date: new Date("2020-01-01T00:00:00Z") },
      { folder: "INBOX", raw: makeMessage(7, { messageId: "twin@old.example", subject: "twin" }), date: new Date("2020-01-01T00:00:00Z") },
      { folder: "INBOX", raw: Buffer.from(`From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nSubject: Grüße aus Köln – 8bit\r\nX-Raw: \xe9t\xe9\r\n\r\nBody with 8-bit: \xff\xfe ü\r\n`, "latin1") },
      { folder: "INBOX", raw: "From: lf@example.org\nSubject: bare LF line ends\n\nline one\nline two\n" },
      { folder: "INBOX", raw: "From: empty@example.org\r\nSubject: empty body\r\n\r\n" },
      { folder: "Large", raw: bigAttachment(25), flags: ["\\Seen"] },
    ];
    await seed(h.old, U, [{ path: "Large" }], odd);
    before = maildirChecksum(h.old.maildir(U));
    oldDigest = await digestMailbox(h.old, U);
  });
  afterAll(() => h.stop());

  test("every message arrives byte-for-byte with flags, keywords and INTERNALDATE", async () => {
    const loginsBefore = loginCount(h.target, U);
    const { code, report } = await migrateJson(h.home, U);
    expect(code).toBe(0);
    // the new server sees one login per folder worker (2): the first appends on the connection
    // that listed and created the folders, and each reads back what it appended on its own
    expect(loginCount(h.target, U) - loginsBefore).toBe(2);
    expect(Object.keys(report).sort()).toEqual(["bytes", "durationMs", "errors", "folders", "messages", "renamed", "skipped", "skippedFolders", "status", "user"]);
    expect(report).toMatchObject({ user: U, status: "done", folders: 2, messages: 12, skipped: [], renamed: [] });
    const target = await digestMailbox(h.target, U);
    expectSameMail(oldDigest, target);
    const inbox = target.get("INBOX")!;
    expect(inbox.some((m) => m.flags.join(" ") === "$Forwarded \\Draft \\Flagged custom_keyword")).toBe(true);
    expect(inbox.some((m) => m.flags.join(" ") === "$Label1 \\Answered \\Seen")).toBe(true);
    expect(inbox.some((m) => m.internalDate === Date.parse("2001-09-09T01:46:40Z"))).toBe(true);
    expect(target.get("Large")![0]!.size).toBeGreaterThan(25 * 1024 * 1024);
  });

  test("the old server was not modified: same files, flags and \\Seen state", async () => {
    expect(maildirChecksum(h.old.maildir(U))).toBe(before);
    expectSameMail(oldDigest, await digestMailbox(h.old, U));
  });

  test("the human summary names the user, the status and the counts", async () => {
    const r = await runCli(h.home, ["migrate", U]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^alice@example\.com: DONE — 0 messages \(0 B\) in 2 folders/);
  });
  test("\\Recent is never sent on APPEND (Dovecot answers BAD to it)", async () => {
    const appender = await ImapAppender.open({ host: h.target.host, port: h.target.port, tls: "none", tlsVerify: true, user: h.target.master.user, pass: h.target.master.password, authzid: U });
    try {
      const r = await appender.appendBatch("INBOX", [
        { content: Buffer.from("Subject: recent 1\r\n\r\nx\r\n"), flags: new Set(["\\Recent", "\\Seen"]), internalDate: new Date("2022-02-02T02:02:02Z") },
        { content: Buffer.from("Subject: recent 2\r\n\r\ny\r\n"), flags: ["\\Recent", "$Label2"], internalDate: new Date("2022-02-02T02:02:03Z") },
      ]);
      expect(r.ok).toBe(true);
      expect(r.ok && r.uids.length).toBe(2);
    } finally {
      await appender.close();
    }
    const flags = await withClient(h.target, U, async (c) => {
      await c.mailboxOpen("INBOX", { readOnly: true });
      const out: string[][] = [];
      for await (const m of c.fetch("1:*", { flags: true, envelope: true })) if (m.envelope?.subject?.startsWith("recent")) out.push([...(m.flags ?? [])].filter((f) => f !== "\\Recent").sort());
      return out;
    });
    expect(flags).toEqual([["\\Seen"], ["$Label2"]]);
  });
});
