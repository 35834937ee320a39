import { describe, expect, test } from "bun:test";
import { FirstLoginGuard } from "../../src/accounts/first-login-guard.ts";
import { encodeAuthReply, encodeAuthRequest, parseAuthReply, parseAuthRequest } from "../../src/accounts/auth-protocol.ts";
import { takeNetstring } from "../../src/netstring.ts";
import { originatingId } from "../../src/mailstore/endpoints.ts";

const MIN = 60_000;

function guardAt(start = Date.UTC(2026, 10, 29, 12, 0, 0)) {
  let t = start;
  const g = new FirstLoginGuard({ failuresPerUser: 3, failuresPerAddress: 5, windowMs: 15 * MIN, limitedCheckEveryMs: MIN }, () => t);
  return { g, advance: (ms: number) => (t += ms) };
}

describe("first-login guard", () => {
  test("a wrong password the old server refused is not sent again within the window", () => {
    const { g, advance } = guardAt();
    expect(g.verdict("a@x.org", "10.0.0.1", "guess")).toEqual({ ask: true });
    g.record("a@x.org", "10.0.0.1", "guess", "reject", "old server: LOGIN refused");
    expect(g.verdict("a@x.org", "10.0.0.1", "guess")).toEqual({ ask: false, answer: "reject", reason: "old server: LOGIN refused (at 12:00:00 UTC; the same password is not checked again before 12:15:00 UTC)" });
    // another password is still asked; the same one again after the window
    expect(g.verdict("a@x.org", "10.0.0.1", "other").ask).toBe(true);
    advance(15 * MIN);
    expect(g.verdict("a@x.org", "10.0.0.1", "guess").ask).toBe(true);
  });

  test("after failuresPerUser wrong passwords the user is slowed down, never locked out: a temporary failure, and one check per minute per source", () => {
    const { g, advance } = guardAt();
    for (const [i, p] of ["p1", "p2", "p3"].entries()) {
      expect(g.verdict("a@x.org", `192.0.2.${i}`, p).ask).toBe(true);
      g.record("a@x.org", `192.0.2.${i}`, p, "reject");
    }
    // the attacker's source: its next guess waits; the answer is "try later", never "wrong"
    expect(g.verdict("a@x.org", "192.0.2.2", "p4")).toEqual({ ask: true }); // its one check this minute
    g.record("a@x.org", "192.0.2.2", "p4", "reject");
    expect(g.verdict("a@x.org", "192.0.2.2", "p5")).toEqual({ ask: false, answer: "tempfail", reason: "4 wrong passwords for a@x.org since 12:00:00 UTC: checks are slowed down, try again after 12:01:00 UTC" });
    // the user, from elsewhere, with the right password: asked at once
    expect(g.verdict("a@x.org", "198.51.100.7", "the-right-one")).toEqual({ ask: true });
    // and from the attacker's own source (a shared address) after the interval
    expect(g.verdict("a@x.org", "192.0.2.2", "the-right-one").ask).toBe(false);
    advance(MIN);
    expect(g.verdict("a@x.org", "192.0.2.2", "the-right-one")).toEqual({ ask: true });
    // other users are not affected
    expect(g.verdict("b@x.org", "192.0.2.9", "p1").ask).toBe(true);
    // a success clears the user's count
    g.record("a@x.org", "192.0.2.2", "the-right-one", "accept");
    expect(g.verdict("a@x.org", "192.0.2.2", "whatever")).toEqual({ ask: true });
  });

  test("one remote address trying many users is slowed down after failuresPerAddress; other addresses are not", () => {
    const { g } = guardAt();
    for (let i = 0; i < 5; i++) g.record(`u${i}@x.org`, "192.0.2.7", "pw", "reject");
    expect(g.verdict("new@x.org", "192.0.2.7", "pw")).toEqual({ ask: true }); // one check per user per minute still
    expect(g.verdict("new@x.org", "192.0.2.7", "pw")).toMatchObject({ ask: false, answer: "tempfail", reason: expect.stringContaining("5 wrong passwords from 192.0.2.7") });
    expect(g.verdict("new@x.org", "192.0.2.8", "pw").ask).toBe(true);
  });

  test("temporary failures are not failures; a success clears the user's count", () => {
    const { g } = guardAt();
    for (let i = 0; i < 10; i++) g.record("a@x.org", "", `p${i}`, "tempfail");
    expect(g.verdict("a@x.org", "", "p0").ask).toBe(true);
    g.record("a@x.org", "", "w1", "reject");
    g.record("a@x.org", "", "w2", "reject");
    g.record("a@x.org", "", "right", "accept");
    g.record("a@x.org", "", "w3", "reject");
    expect(g.verdict("a@x.org", "", "w4").ask).toBe(true);
  });

  test("checks of one user run one at a time, others in parallel", async () => {
    const { g } = guardAt();
    const order: string[] = [];
    const slow = (tag: string, ms: number) => async () => {
      order.push(`start ${tag}`);
      await Bun.sleep(ms);
      order.push(`end ${tag}`);
    };
    await Promise.all([g.oneAtATime("a", slow("a1", 30)), g.oneAtATime("a", slow("a2", 1)), g.oneAtATime("b", slow("b1", 1))]);
    expect(order.indexOf("start a2")).toBeGreaterThan(order.indexOf("end a1"));
    expect(order.indexOf("end b1")).toBeLessThan(order.indexOf("end a1"));
    // a failed check does not block the next one
    await expect(g.oneAtATime("a", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await g.oneAtATime("a", async () => 7)).toBe(7);
  });

  test("no password is kept in clear", () => {
    const { g } = guardAt();
    g.record("a@x.org", "", "Sekr1t-Password", "reject");
    expect(JSON.stringify([...(g as any).refused.keys()])).not.toContain("Sekr1t");
  });
});

describe("first-login socket protocol", () => {
  const body = (b: Buffer) => {
    const p = takeNetstring(b);
    if (!("request" in p)) throw new Error("not a netstring");
    return p.request;
  };

  test("requests round-trip; a lookup carries no password", () => {
    expect(parseAuthRequest(body(encodeAuthRequest({ kind: "check", user: "a@x.org", password: "p w:,\t", address: "::1" })))).toEqual({ kind: "check", user: "a@x.org", password: "p w:,\t", address: "::1" });
    expect(body(encodeAuthRequest({ kind: "lookup", user: "a@x.org", address: "" }))).toBe("lookup\0a@x.org\0\0");
  });

  test("malformed requests are named, not guessed", () => {
    expect(parseAuthRequest("check\0a@x.org\0pw")).toEqual({ error: "expected 4 NUL-separated fields, got 3" });
    expect(parseAuthRequest("check\0\0pw\0")).toEqual({ error: "no user" });
    expect(parseAuthRequest("delete\0a@x.org\0\0")).toEqual({ error: 'unknown request "delete" (check or lookup)' });
    // the client's port beside its address (the helpers send "ip port"); anything else refused
    expect(parseAuthRequest("check\0a@x.org\0pw\x00192.0.2.7 51234")).toEqual({ kind: "check", user: "a@x.org", password: "pw", address: "192.0.2.7", port: 51234 });
    expect(parseAuthRequest(body(encodeAuthRequest({ kind: "lookup", user: "a@x.org", address: "2001:db8::1", port: 993 })))).toEqual({ kind: "lookup", user: "a@x.org", address: "2001:db8::1", port: 993 });
    expect(parseAuthRequest("check\0a@x.org\0pw\0evil\r\nhost")).toEqual({ error: 'remote address "evil host" is not an IP address' });
    expect(parseAuthRequest("check\0a@x.org\0pw\x00192.0.2.7 80a")).toEqual({ error: "remote port is not a number" });
    // what goes to the old server in IMAP ID: a well-formed address and port only
    expect(originatingId({ ip: "192.0.2.7", port: 51234 })).toEqual({ "x-originating-ip": "192.0.2.7", "x-originating-port": "51234" });
    expect(originatingId({ ip: "not an ip", port: 1 })).toEqual({});
    expect(originatingId({ ip: "::1", port: 70000 })).toEqual({ "x-originating-ip": "::1" });
    expect(parseAuthRequest(`check\0a@x.org\0pw\0${"9".repeat(65)}`)).toEqual({ error: "remote address longer than 64 characters" });
  });

  test("replies: OK, NO and TEMP with one-line reasons", () => {
    expect(body(encodeAuthReply({ outcome: "accept", tier: "basic", className: "c" }))).toBe("OK");
    expect(body(encodeAuthReply({ outcome: "reject", reason: "wrong\r\npassword" }))).toBe("NO wrong password");
    expect(parseAuthReply(body(encodeAuthReply({ outcome: "tempfail", reason: "old server down" })))).toEqual({ answer: "TEMP", reason: "old server down" });
    expect(parseAuthReply("MAYBE")).toEqual({ error: 'unexpected reply "MAYBE"' });
  });
});
