import { describe, expect, test } from "bun:test";
import { FirstLoginGuard } from "../../src/accounts/first-login-guard.ts";
import { encodeAuthReply, encodeAuthRequest, parseAuthReply, parseAuthRequest } from "../../src/accounts/auth-protocol.ts";
import { takeNetstring } from "../../src/netstring.ts";

const MIN = 60_000;

function guardAt(start = Date.UTC(2026, 10, 29, 12, 0, 0)) {
  let t = start;
  const g = new FirstLoginGuard({ failuresPerUser: 3, failuresPerAddress: 5, windowMs: 15 * MIN }, () => t);
  return { g, advance: (ms: number) => (t += ms) };
}

describe("first-login guard", () => {
  test("a wrong password the old server refused is not sent again within the window", () => {
    const { g, advance } = guardAt();
    expect(g.verdict("a@x.org", "10.0.0.1", "guess")).toEqual({ ask: true });
    g.record("a@x.org", "10.0.0.1", "guess", "reject", "old server: LOGIN refused");
    expect(g.verdict("a@x.org", "10.0.0.1", "guess")).toEqual({ ask: false, reason: "old server: LOGIN refused (at 12:00:00 UTC; the same password is not checked again before 12:15:00 UTC)" });
    // another password is still asked; the same one again after the window
    expect(g.verdict("a@x.org", "10.0.0.1", "other").ask).toBe(true);
    advance(15 * MIN);
    expect(g.verdict("a@x.org", "10.0.0.1", "guess").ask).toBe(true);
  });

  test("after failuresPerUser wrong passwords the user's checks stop until the oldest leaves the window", () => {
    const { g, advance } = guardAt();
    for (const p of ["p1", "p2", "p3"]) {
      expect(g.verdict("a@x.org", "", p).ask).toBe(true);
      g.record("a@x.org", "", p, "reject");
      advance(MIN);
    }
    const v = g.verdict("a@x.org", "", "the-right-one");
    expect(v).toEqual({ ask: false, reason: "3 wrong passwords for a@x.org since 12:00:00 UTC: the old server is not asked again before 12:15:00 UTC" });
    // other users are not affected
    expect(g.verdict("b@x.org", "", "p1").ask).toBe(true);
    advance(12 * MIN); // 12:15: the first failure has left the window
    expect(g.verdict("a@x.org", "", "the-right-one").ask).toBe(true);
  });

  test("one remote address trying many users is stopped after failuresPerAddress", () => {
    const { g } = guardAt();
    for (let i = 0; i < 5; i++) g.record(`u${i}@x.org`, "192.0.2.7", "pw", "reject");
    expect(g.verdict("new@x.org", "192.0.2.7", "pw")).toMatchObject({ ask: false });
    expect(g.verdict("new@x.org", "192.0.2.7", "pw").ask === false && g.verdict("new@x.org", "192.0.2.7", "pw")).toMatchObject({ reason: expect.stringContaining("5 wrong passwords from 192.0.2.7") });
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
    expect(parseAuthRequest(`check\0a@x.org\0pw\0${"9".repeat(65)}`)).toEqual({ error: "remote address longer than 64 characters" });
  });

  test("replies: OK, NO and TEMP with one-line reasons", () => {
    expect(body(encodeAuthReply({ outcome: "accept", tier: "basic", className: "c" }))).toBe("OK");
    expect(body(encodeAuthReply({ outcome: "reject", reason: "wrong\r\npassword" }))).toBe("NO wrong password");
    expect(parseAuthReply(body(encodeAuthReply({ outcome: "tempfail", reason: "old server down" })))).toEqual({ answer: "TEMP", reason: "old server down" });
    expect(parseAuthReply("MAYBE")).toEqual({ error: 'unexpected reply "MAYBE"' });
  });
});
