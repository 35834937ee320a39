import { describe, expect, test } from "bun:test";
import { addressProblem, canonicalUser, splitUser } from "../../src/address.ts";

describe("one address validator for every door", () => {
  test("ordinary and unusual but valid addresses pass", () => {
    for (const a of ["alice@example.com", "a.b+tag@sub.example.co.uk", "o'neil@example.com", "user00000.with-a-longer-name@example.com", "jürgen@bücher.example", "x@localhost"]) {
      expect({ a, problem: addressProblem(a) }).toEqual({ a, problem: undefined });
    }
  });
  test("path escapes, quotes, control characters, undecodable bytes, two @ and overlong names are refused with the reason", () => {
    const bad: [string, RegExp][] = [
      ["../../evil@example.com", /holds "\/"/],
      ["../../../../srv/evil/x@example.com", /holds "\/"/],
      // what no mail server's login carries: a path, a Dovecot variable, the master separator
      ["/etc/passwd@example.com", /holds "\/"/],
      ["%u@example.com", /holds "%"/],
      ["*@example.com", /holds "\*"/],
      ["a*admin@example.com", /holds "\*"/],
      ['"quoted@example.com', /dot-atom/],
      ["a@b@example.com", /dot-atom/],
      ["alice\r\n@example.com", /control character/],
      ["ali\0ce@example.com", /control character/],
      [Buffer.from([0xff, 0xfe, 0x40, 0x65, 0x2e, 0x63, 0x6f]).toString("utf8"), /undecodable/],
      [`${"x".repeat(65)}@example.com`, /local part of 65 characters/],
      [`${"x".repeat(60)}@${"d".repeat(60)}.${"d".repeat(60)}.${"d".repeat(60)}.${"d".repeat(20)}.com`, /at most 254/],
      ["a b@example.com", /dot-atom/],
      ["alice@-example.com", /host name/],
      ["alice@exa_mple.com", /host name/],
      ["nobody", /not user@domain/],
      ["@example.com", /not user@domain/],
    ];
    for (const [a, why] of bad) expect({ a, problem: addressProblem(a) ?? "" }).toEqual({ a, problem: expect.stringMatching(why) });
  });
  test("the refusal names the value printably and briefly", () => {
    expect(() => splitUser(`${"\u0001".repeat(200)}@example.com`)).toThrow(/^".{1,80} is not a valid user address/);
    expect(splitUser("Alice@Example.COM")).toEqual({ local: "Alice", domain: "example.com" });
  });
  test("one spelling per user: NFC and lower case", () => {
    expect(canonicalUser("E\u0301mile@Example.com")).toBe(canonicalUser("\u00c9mile@example.com"));
    expect(canonicalUser("E\u0301mile@Example.com")).toBe("\u00e9mile@example.com");
  });
});
