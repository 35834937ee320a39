import { describe, expect, test } from "bun:test";
import { ResponseBoundError, ResponseFramer, responseText, STREAMED_LITERAL } from "../../src/mailstore/imap/framer.ts";
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
    // control characters as servers list them (CR, LF, NUL cannot be quoted); TAB and DEL as they are
    expect(encodeMailbox("Ctl\u0001Char")).toBe('"Ctl&AAE-Char"');
    expect(encodeMailbox("Nul\u0000Name")).toBe('"Nul&AAA-Name"');
    expect(encodeMailbox("a\r\nb")).toBe('"a&AA0ACg-b"');
    expect(encodeMailbox("Bad\tName")).toBe('"Bad\tName"');
    expect(encodeMailbox("Del\u007fName")).toBe('"Del\u007fName"');
    expect(() => quoted("a\r\nb")).toThrow();
  });
  test("\\Recent and invalid keywords are not sent on APPEND; keywords are", () => {
    expect(appendableFlags(["\\Seen", "\\Recent", "$Label1", "$Forwarded", "custom", "bad word", "naïve"])).toEqual(["\\Seen", "$Label1", "$Forwarded", "custom"]);
    // a server that lists a flag twice: sent once (the reader keeps the list as the server gave it)
    expect(appendableFlags(["\\Seen", "$Label1", "\\Seen", "$Label1"])).toEqual(["\\Seen", "$Label1"]);
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
  const texts = (f: ResponseFramer, b: Buffer) => f.push(b).map(responseText);
  test("responses split anywhere are joined; literals are inlined", () => {
    const r = new ResponseFramer(limits);
    const wire = Buffer.from("* OK [CAPABILITY IMAP4rev1] hi\r\n* 3 FETCH (X {5}\r\nab\r\nc)\r\nA1 OK done\r\n");
    for (const step of [1, 2, 3, 7, wire.length]) {
      const got: string[] = [];
      for (let i = 0; i < wire.length; i += step) got.push(...texts(r, wire.subarray(i, i + step)));
      expect(got).toEqual(["* OK [CAPABILITY IMAP4rev1] hi", "* 3 FETCH (X {5}ab\r\nc)", "A1 OK done"]);
    }
  });
  test("a literal goes where its sink says, whole, however the bytes are split; lines and literals stay apart", () => {
    const wire = Buffer.from("* 1 FETCH (UID 7 BODY[HEADER] {4}\r\nH\r\n\r BODY[] {10}\r\n0123456789)\r\nA1 OK\r\n");
    for (const step of [1, 3, 5, wire.length]) {
      const into = Buffer.alloc(64);
      let used = 0;
      const f = new ResponseFramer(limits, (size) => {
        const b = into.subarray(used, used + size);
        used += size;
        return b;
      });
      const got = [];
      for (let i = 0; i < wire.length; i += step) got.push(...f.push(wire.subarray(i, i + step)));
      expect(got.map((r) => r.lines)).toEqual([["* 1 FETCH (UID 7 BODY[HEADER] {4}", " BODY[] {10}", ")"], ["A1 OK"]]);
      expect(got[0]!.literals.map((l) => l.toString())).toEqual(["H\r\n\r", "0123456789"]);
      expect(into.subarray(0, used).toString()).toBe("H\r\n\r0123456789");
    }
  });
  test("a literal given to a stream arrives piece by piece, in order, however the bytes are split; the response holds STREAMED_LITERAL", () => {
    const body = Buffer.from("Subject: x\r\n\r\n" + "0123456789".repeat(30));
    const wire = Buffer.concat([Buffer.from(`* 1 FETCH (UID 7 FLAGS (\\Seen) BODY[] {${body.length}}\r\n`), body, Buffer.from(")\r\n* 2 FETCH (FLAGS ())\r\nA1 OK\r\n")]);
    for (const step of [1, 7, 64, wire.length]) {
      const pieces: Buffer[] = [];
      const asked: number[] = [];
      const f = new ResponseFramer(limits, (size) => {
        asked.push(size);
        // a copy of each piece: the framer's pieces are views of chunks the caller may reuse
        return (piece) => pieces.push(Buffer.from(piece));
      });
      const got = [];
      for (let i = 0; i < wire.length; i += step) got.push(...f.push(wire.subarray(i, i + step)));
      expect(asked).toEqual([body.length]);
      expect(Buffer.concat(pieces).equals(body)).toBe(true);
      // one piece per chunk the literal spans (nothing gathered or copied first), none empty
      const from = wire.indexOf(body);
      expect(pieces.length).toBe(Math.floor((from + body.length - 1) / step) - Math.floor(from / step) + 1);
      expect(pieces.every((p) => p.length > 0)).toBe(true);
      expect(got.map((r) => r.lines)).toEqual([[`* 1 FETCH (UID 7 FLAGS (\\Seen) BODY[] {${body.length}}`, ")"], ["* 2 FETCH (FLAGS ())"], ["A1 OK"]]);
      expect(got[0]!.literals).toHaveLength(1);
      // (its 314 bytes are above the inline bound, literalBytes 256: a stream is not held inline)
      expect(got[0]!.literals[0]).toBe(STREAMED_LITERAL);
    }
  });
  test("a bare LF ends a line as CRLF does; an empty literal is a literal", () => {
    const f = new ResponseFramer(limits);
    expect(f.push(Buffer.from("* 1 FETCH (BODY[] {0}\r\n)\n* OK x\nA1 OK\r\n")).map((r) => [r.lines, r.literals.map((l) => l.length)])).toEqual([
      [["* 1 FETCH (BODY[] {0}", ")"], [0]],
      [["* OK x"], []],
      [["A1 OK"], []],
    ]);
  });
  test("a line without end, an oversized literal or a literal size of 30 digits ends the connection", () => {
    expect(() => new ResponseFramer(limits).push(Buffer.alloc(2000, 0x41))).toThrow(ResponseBoundError);
    expect(() => new ResponseFramer(limits).push(Buffer.from("* 1 FETCH {999999999}\r\n"))).toThrow(/999999999-byte literal/);
    expect(() => new ResponseFramer(limits).push(Buffer.from(`* 1 FETCH {${"9".repeat(30)}}\r\n`))).toThrow(/huge literal/);
    // a sink is not asked for a size nobody could hold
    let asked = 0;
    expect(() => new ResponseFramer(limits, () => (asked++, Buffer.alloc(0))).push(Buffer.from(`* 1 FETCH {${"9".repeat(30)}}\r\n`))).toThrow(/huge literal/);
    expect(asked).toBe(0);
    const many = new ResponseFramer(limits);
    expect(() => {
      for (let i = 0; i < 100; i++) many.push(Buffer.from("* 1 FETCH (X {200}\r\n" + "x".repeat(200) + " {200}\r\n"));
    }).toThrow(ResponseBoundError);
    // once broken, it stays broken
    expect(() => many.push(Buffer.from("A1 OK\r\n"))).toThrow(ResponseBoundError);
  });
  test("a line split in many small pieces is bounded as a whole", () => {
    const f = new ResponseFramer(limits);
    expect(() => {
      for (let i = 0; i < 2000; i++) f.push(Buffer.from("A"));
    }).toThrow(/longer than 1024 bytes/);
  });
});
