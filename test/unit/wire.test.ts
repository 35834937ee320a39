import { describe, expect, test } from "bun:test";
import { ResponseBoundError, ResponseReader } from "../../src/mailstore/imap/response-reader.ts";
import { appendableFlags, encodeMailbox, imapDateTime, parseUidSet, quoted } from "../../src/mailstore/imap/wire.ts";
import { formatUidSet } from "../../src/mailstore/uid-set.ts";

describe("IMAP wire helpers", () => {
  test("date-time is RFC 3501 in UTC", () => {
    expect(imapDateTime(new Date("2020-01-02T03:04:05Z"))).toBe('"02-Jan-2020 03:04:05 +0000"');
  });
  test("mailbox names are modified UTF-7 and quoted", () => {
    expect(encodeMailbox("Déjà vu")).toBe('"D&AOk-j&AOA- vu"');
    expect(encodeMailbox("A&B")).toBe('"A&-B"');
    expect(encodeMailbox('Say "hi"')).toBe('"Say \\"hi\\""');
    expect(() => quoted("a\r\nb")).toThrow();
  });
  test("\\Recent and invalid keywords are not sent on APPEND; keywords are", () => {
    expect(appendableFlags(["\\Seen", "\\Recent", "$Label1", "$Forwarded", "custom", "bad word", "naïve"])).toEqual(["\\Seen", "$Label1", "$Forwarded", "custom"]);
  });
  test("uid sets round-trip", () => {
    expect(formatUidSet([5, 1, 2, 3, 8, 10, 11])).toBe("1:3,5,8,10:11");
    expect(parseUidSet("1:3,5,9:8", 10)).toEqual([1, 2, 3, 5, 8, 9]);
  });
});

describe("hostile server input is bounded", () => {
  test("a uid set naming more UIDs than were appended is refused without allocating them", () => {
    const t = performance.now();
    expect(parseUidSet("1:4294967295", 50)).toBeUndefined();
    expect(parseUidSet("1:40,41:4294967295", 50)).toBeUndefined();
    expect(performance.now() - t).toBeLessThan(1000); // allocating 4e9 numbers would take minutes
    expect(parseUidSet("0:3", 10)).toBeUndefined();
    expect(parseUidSet("4294967296", 10)).toBeUndefined();
    expect(parseUidSet("1,,2", 10)).toBeUndefined();
    expect(parseUidSet("-1", 10)).toBeUndefined();
    expect(parseUidSet("a:b", 10)).toBeUndefined();
    expect(parseUidSet("7", 1)).toEqual([7]);
  });

  test("a value with CR, LF or NUL is refused and never shown in the error (it may be a password)", () => {
    const secret = `pw-${"s".repeat(10_000)}\r\nA1 DELETE INBOX\0`;
    let message = "";
    try {
      quoted(secret);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("CR, LF or NUL");
    expect(message).not.toContain("pw-");
    expect(message).not.toContain("DELETE");
    expect(message.length).toBeLessThan(200);
  });

  const limits = { lineBytes: 1024, literalBytes: 256 };
  test("responses split anywhere are joined; literals are inlined", () => {
    const r = new ResponseReader(limits);
    const wire = Buffer.from("* OK [CAPABILITY IMAP4rev1] hi\r\n* 3 FETCH (X {5}\r\nab\r\nc)\r\nA1 OK done\r\n");
    const got: string[] = [];
    for (let i = 0; i < wire.length; i += 3) got.push(...r.push(wire.subarray(i, i + 3)));
    expect(got).toEqual(["* OK [CAPABILITY IMAP4rev1] hi", "* 3 FETCH (X {5}ab\r\nc)", "A1 OK done"]);
  });
  test("a line without end, an oversized literal or a literal size of 30 digits ends the connection", () => {
    expect(() => new ResponseReader(limits).push(Buffer.alloc(2000, 0x41))).toThrow(ResponseBoundError);
    expect(() => new ResponseReader(limits).push(Buffer.from("* 1 FETCH {999999999}\r\n"))).toThrow(/999999999-byte literal/);
    expect(() => new ResponseReader(limits).push(Buffer.from(`* 1 FETCH {${"9".repeat(30)}}\r\n`))).toThrow(/huge literal/);
    const many = new ResponseReader(limits);
    expect(() => {
      for (let i = 0; i < 100; i++) many.push(Buffer.from("* 1 FETCH (X {200}\r\n" + "x".repeat(200) + " {200}\r\n"));
    }).toThrow(ResponseBoundError);
  });
});
