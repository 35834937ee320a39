// The folder reader's parser (src/mailstore/imap/fetch-parse.ts) on what servers send, and
// on what a broken or hostile one might: every answer goes through the real framer first,
// as it does on the wire.
import { describe, expect, test } from "bun:test";
import { folderFacts, parseDateTime, parseFetch, parseSearch, ParseError } from "../../src/mailstore/imap/fetch-parse.ts";
import { one, refusedBy } from "../support/imap-frames.ts";

const refused = (wire: string): string => refusedBy(parseFetch, wire);

describe("FETCH responses", () => {
  test("a whole message: UID, flags, date and the literal's exact bytes (CR, LF, NUL, 8-bit kept)", () => {
    const body = Buffer.concat([Buffer.from("Subject: x\r\n\r\nline\r\n\u0000"), Buffer.from([0xe9, 0xff, 0x0d])]);
    const wire = Buffer.concat([Buffer.from(`* 12 FETCH (UID 4021 FLAGS (\\Seen $Forwarded) INTERNALDATE " 7-Mar-2024 09:05:01 +0130" BODY[] {${body.length}}\r\n`), body, Buffer.from(")\r\n")]);
    const f = parseFetch(one(wire))!;
    expect(f.seq).toBe(12);
    expect(f.uid).toBe(4021);
    expect(f.flags).toEqual(["\\Seen", "$Forwarded"]);
    expect(f.internalDate?.toISOString()).toBe("2024-03-07T07:35:01.000Z");
    expect(Buffer.compare(f.body!, body)).toBe(0);
  });

  test("items in any order and case, unknown ones skipped (MODSEQ, X-GM-LABELS with a literal, BODYSTRUCTURE)", () => {
    const wire = '* 1 fetch (MODSEQ (77) x-gm-labels ("\\\\Inbox" {3}\r\nabc) BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 4 1) rfc822.size 4 uid 9 BODY[] "ab\\"c")\r\n';
    const f = parseFetch(one(wire))!;
    expect(f.uid).toBe(9);
    expect(f.size).toBe(4);
    expect(f.body?.toString()).toBe('ab"c');
  });

  test("flags: atoms (one starting with ~ too), an empty list; a date quoted with an escape or sent as a literal", () => {
    const f = parseFetch(one('* 4 FETCH (FLAGS (~odd \\Seen $x) INTERNALDATE "02-Jan-2020 03:04:05 \\+0000" UID 8)\r\n'))!;
    expect(f.flags).toEqual(["~odd", "\\Seen", "$x"]);
    expect(f.internalDate?.toISOString()).toBe("2020-01-02T03:04:05.000Z");
    const g = parseFetch(one("* 4 FETCH (FLAGS () INTERNALDATE {26}\r\n02-Jan-2020 03:04:05 +0100 UID 9)\r\n"))!;
    expect(g.flags).toEqual([]);
    expect(g.internalDate?.toISOString()).toBe("2020-01-02T02:04:05.000Z");
    expect(parseFetch(one("* 4 FETCH (INTERNALDATE NIL UID 9)\r\n"))!.internalDate).toBeUndefined();
    expect(refused("* 1 FETCH (UID 1 FLAGS ({3}\r\nabc))\r\n")).toContain("a flag is not an atom");
    expect(refused("* 1 FETCH (UID 1 FLAGS ((\\Seen)))\r\n")).toContain("a flag is not an atom");
    expect(refused("* 1 FETCH (UID 1 FLAGS)\r\n")).toContain("expected a value");
  });

  test("a body answered NIL is null (the message has no body there), not an empty message", () => {
    const f = parseFetch(one("* 2 FETCH (UID 5 BODY[] NIL FLAGS ())\r\n"))!;
    expect(f.body).toBeNull();
    expect(f.flags).toEqual([]);
  });

  test("a partial answer BODY[]<0> and a literal8 ~{n} are bodies too", () => {
    expect(parseFetch(one("* 2 FETCH (UID 5 BODY[]<0> {4}\r\nabcd)\r\n"))!.body?.toString()).toBe("abcd");
    expect(parseFetch(one("* 2 FETCH (UID 5 BINARY[] ~{2}\r\nxy)\r\n"))!.body?.toString()).toBe("xy");
    expect(parseFetch(one("* 2 FETCH (UID 5 BODY[HEADER] {3}\r\nA:b)\r\n"))!.header?.toString()).toBe("A:b");
  });

  test("a FETCH the server sends on its own (a flag change, no UID) parses without a UID", () => {
    const f = parseFetch(one("* 3 FETCH (FLAGS (\\Deleted))\r\n"))!;
    expect(f.uid).toBeUndefined();
    expect(f.flags).toEqual(["\\Deleted"]);
  });

  test("other untagged answers are not FETCHes", () => {
    expect(parseFetch(one("* 3 EXISTS\r\n"))).toBeUndefined();
    expect(parseFetch(one("* OK [ALERT] hi\r\n"))).toBeUndefined();
    expect(parseFetch(one("* BYE going away\r\n"))).toBeUndefined();
  });

  test("malformed answers are refused with where, never guessed", () => {
    expect(refused("* 1 FETCH (UID 12x)\r\n")).toContain("UID is not a number");
    expect(refused("* 1 FETCH (UID 123456789012)\r\n")).toContain("UID is not a number");
    expect(refused("* 1 FETCH (UID (1))\r\n")).toContain("UID is not a number");
    expect(refused("* 1 FETCH (UID 1 FLAGS (\\Seen\r\n")).toContain("unterminated list");
    expect(refused("* 1 FETCH (UID 1 FLAGS \\Seen)\r\n")).toContain("FLAGS is not a list");
    expect(refused('* 1 FETCH (UID 1 FLAGS ("x"))\r\n')).toContain("a flag is not an atom");
    expect(refused('* 1 FETCH (UID 1 BODY[] "abc)\r\n')).toContain("unterminated quoted string");
    expect(refused("* 1 FETCH (UID 1 BODY[] (a b))\r\n")).toContain("neither a string nor NIL");
    expect(refused("* 1 FETCH (UID 1\r\n")).toContain("unterminated FETCH");
    expect(refused("* 1 FETCH (UID 1) trailing\r\n")).toContain("text after the FETCH");
    expect(refused("* 1 FETCH (UID)\r\n")).toContain("expected a value");
  });

  test("a literal announced in the middle of a line is refused (its bytes would be read as text)", () => {
    // the framer only cuts at an announcement that ends a line: this one stays text
    expect(refused("* 1 FETCH (UID 1 BODY[] {3} abc)\r\n")).toContain("in the middle of a line");
  });

  test("lists nested without end are refused at a depth, not followed into a stack overflow", () => {
    expect(refused(`* 1 FETCH (UID 1 X ${"(".repeat(5000)}${")".repeat(5000)})\r\n`)).toContain("nested more than 32 deep");
    // a reasonable BODYSTRUCTURE nesting is fine
    expect(parseFetch(one(`* 1 FETCH (X ${"(".repeat(20)}${")".repeat(20)} UID 3)\r\n`))!.uid).toBe(3);
  });

  test("a hostile literal inside an unknown item does not shift the next item's bytes", () => {
    const f = parseFetch(one('* 1 FETCH (X-JUNK {10}\r\n) UID 666 UID 7 BODY[] {2}\r\nok)\r\n'))!;
    expect(f.uid).toBe(7);
    expect(f.body?.toString()).toBe("ok");
  });
});

describe("SEARCH, EXAMINE and dates", () => {
  test("SEARCH: the UIDs, none, and a CONDSTORE (MODSEQ n) tail that is not a UID", () => {
    expect(parseSearch("* SEARCH 1 2 40000")).toEqual([1, 2, 40000]);
    expect(parseSearch("* SEARCH")).toEqual([]);
    expect(parseSearch("* search 5 (MODSEQ 9)")).toEqual([5]);
    expect(parseSearch("* 3 EXISTS")).toBeUndefined();
    expect(() => parseSearch("* SEARCH 1 x2")).toThrow(ParseError);
    expect(() => parseSearch("* SEARCH 99999999999")).toThrow(ParseError);
  });

  test("SELECT's and EXAMINE's facts", () => {
    // as the session keeps untagged answers: without "* "
    expect(folderFacts(["12 EXISTS", "OK [UIDVALIDITY 77] ok", "OK [UIDNEXT 13] next", "0 RECENT"])).toEqual({ exists: 12, uidValidity: 77, uidNext: 13 });
    expect(folderFacts(["x EXISTS", "OK [UIDNEXT 1e9]"])).toEqual({});
  });

  test("dates: RFC 3501 with offsets either way; garbage is no date", () => {
    expect(parseDateTime("01-Jan-2024 00:00:00 -0800")?.toISOString()).toBe("2024-01-01T08:00:00.000Z");
    expect(parseDateTime("31-Dec-1999 23:59:59 +0000")?.toISOString()).toBe("1999-12-31T23:59:59.000Z");
    expect(parseDateTime("not a date")).toBeUndefined();
  });
});
