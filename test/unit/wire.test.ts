import { describe, expect, test } from "bun:test";
import { appendableFlags, encodeMailbox, formatUidSet, imapDateTime, parseUidSet, quoted } from "../../src/imap/wire.ts";

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
    expect(parseUidSet("1:3,5,9:8")).toEqual([1, 2, 3, 5, 8, 9]);
  });
});
