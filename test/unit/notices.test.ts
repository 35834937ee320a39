// Notice templates: checked when set (the line named), rendered as RFC 5322 messages.
import { describe, expect, test } from "bun:test";
import { noticeMessageId, renderNotice, skippedInWords, templateProblem } from "../../src/migrate/notices.ts";
import { domainSchema } from "../../src/config/schema.ts";

const GOOD = "From: IT desk <it@example.com>\nSubject: Your mailbox is moving, {user}\n\nDear {user},\n\nyour {folders} folders are moving since {date}.\n";
const DONE = "From: IT desk <it@example.com>\nSubject: Déménagement terminé\nX-Note: automigrate\n\n{messages} messages in {folders} folders came across; {skipped} did not:\n{skippedList}\n";

describe("templateProblem", () => {
  test("a good template passes; each bad line is named with its number", () => {
    expect(templateProblem("started", GOOD)).toBeUndefined();
    expect(templateProblem("completed", DONE)).toBeUndefined();
    expect(templateProblem("started", "From: a@b.c\nSubjet Hello\n\nbody")).toBe('line 2 ("Subjet Hello") is not a header: "Name: value", the name in printable ASCII without spaces');
    expect(templateProblem("started", "From: a@b.c\nSubject: hi\nBad Name: x\n\nbody")).toContain("line 3");
    expect(templateProblem("started", "Subject: hi\n\nbody")).toContain("no From header");
    expect(templateProblem("started", "From: a@b.c\n\nbody")).toContain("no Subject header");
    expect(templateProblem("started", "From: a@b.c\nSubject: hi")).toContain("an empty line");
    expect(templateProblem("started", "From: a@b.c\nSubject: hi\nMessage-ID: <x@y>\n\nb")).toContain("Message-ID is set by automigrate");
    expect(templateProblem("started", "From: Zoë <a@b.c>\nSubject: hi\n\nb")).toContain("line 1");
    expect(templateProblem("started", "From: a@b.c\nSubject: hi\r\n\r\nbo\rdy")).toBe("holds a control character (U+000D) at line 4: a template is lines of text (LF or CRLF, TAB)");
    expect(templateProblem("started", "From: a@b.c\nSubject: hi\x1b[2J\n\nb")).toContain("U+001B");
    expect(templateProblem("started", "From: a@b.c\r\nSubject: hi\r\n\r\n\tbody")).toBeUndefined();
    expect(templateProblem("started", " folded\nFrom: a@b.c\nSubject: hi\n\nb")).toContain("continuation line");
    // placeholders: the kind's own only, and multi-line ones in the body only
    expect(templateProblem("started", "From: a@b.c\nSubject: hi\n\n{messages}")).toContain("{messages} is not a placeholder of the started notice");
    expect(templateProblem("completed", "From: a@b.c\nSubject: {skippedList}\n\nb")).toContain("spans lines");
    expect(templateProblem("completed", `From: a@b.c\nSubject: hi\n\n${"x".repeat(1000)}`)).toContain("line 4 is longer than 900 bytes");
  });

  test("the settings refuse a bad template with the key and the line", () => {
    const r = domainSchema.safeParse({ migration: { notice: { started: "From: a@b.c\nSubjet Hello\n\nbody" } } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(["migration", "notice", "started"]);
    expect(r.error!.issues[0]!.message).toContain("line 2");
    expect(domainSchema.parse({ migration: { notice: { started: GOOD } } }).migration.notice.started).toBe(GOOD);
  });
});

describe("renderNotice", () => {
  const now = new Date("2026-12-06T10:20:30Z");

  test("CRLF lines, the values filled in, Date, our Message-ID and MIME headers added, the body 8-bit UTF-8", () => {
    const text = renderNotice("started", GOOD, { user: "alice@example.com", domain: "example.com", date: "2026-12-06", folders: 4 }, "alice@example.com", now).toString();
    expect(text).toBe(
      [
        "From: IT desk <it@example.com>",
        "Subject: Your mailbox is moving, alice@example.com",
        "Date: Sun, 6 Dec 2026 10:20:30 +0000",
        `Message-ID: ${noticeMessageId("started", "alice@example.com")}`,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        "Dear alice@example.com,",
        "",
        "your 4 folders are moving since 2026-12-06.",
        "",
      ].join("\r\n"),
    );
    expect(text).not.toMatch(/[^\r]\n/);
    expect(noticeMessageId("started", "alice@example.com")).toMatch(/^<automigrate-notice-started-[0-9a-f]{20}@example\.com>$/);
    expect(noticeMessageId("completed", "alice@example.com")).not.toBe(noticeMessageId("started", "alice@example.com"));
  });

  test("a non-ASCII Subject as RFC 2047 encoded words; what was skipped in words", () => {
    const list = skippedInWords(new Map([["REFUSED_BY_NEW_SERVER", 1], ["TOO_LARGE", 2]]));
    expect(list).toBe("- 2 messages: larger than the migration's size limit\n- 1 message: the new server refused it");
    expect(skippedInWords(new Map())).toBe("Every message came across.");
    const text = renderNotice("completed", DONE, { messages: 10, folders: 2, skipped: 3, skippedList: list }, "bob@example.com", now).toString();
    const subject = /^Subject: (.*(?:\r\n .*)*)/m.exec(text)![1]!;
    expect(subject).toMatch(/^=\?UTF-8\?B\?/);
    const decoded = subject.split("\r\n ").map((w) => Buffer.from(/=\?UTF-8\?B\?(.*)\?=/.exec(w)![1]!, "base64").toString()).join("");
    expect(decoded).toBe("Déménagement terminé");
    expect(text).toContain("\r\n\r\n10 messages in 2 folders came across; 3 did not:\r\n- 2 messages: larger than the migration's size limit\r\n- 1 message: the new server refused it\r\n");
  });
});
