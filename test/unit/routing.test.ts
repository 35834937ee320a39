import { describe, expect, test } from "bun:test";
import { configSchema } from "../../src/config/schema.ts";
import { onNewServer } from "../../src/routing/local-accounts.ts";
import { netstring, reply, splitRequest, takeNetstring } from "../../src/routing/socketmap.ts";
import { oldServerTransport, routeAddress, transportTable, withoutExtension } from "../../src/routing/transport-map.ts";

const config = configSchema.parse({
  routing: { localTransport: "lmtp:unix:private/dovecot-lmtp" },
  domains: {
    "example.com": { migration: { enabled: true, old: { host: "old.example.com", smtpHost: "mx.old.example.com", smtpPort: 2525 } } },
    "imaponly.example": { migration: { enabled: true, old: { host: "old.example.com" } } },
    "nohost.example": { migration: { enabled: true } },
    "off.example": { migration: { enabled: false, old: { host: "old.example.com", smtpHost: "mx.old.example.com" } } },
  },
});
const local = new Set(["ann@example.com", "zed@off.example"]);
const isLocal = (u: string) => local.has(u);

describe("routeAddress", () => {
  test("an account on the new server → the local transport, extensions and case ignored", () => {
    for (const key of ["ann@example.com", "ANN@Example.Com", "ann+lists@example.com", " ann@example.com "]) {
      expect(routeAddress(config, key, isLocal)).toMatchObject({ kind: "found", transport: "lmtp:unix:private/dovecot-lmtp" });
    }
  });
  test("a user of a migrating domain not yet there → the old SMTP host (else its IMAP host), bracketed (no MX lookup)", () => {
    expect(routeAddress(config, "bob@imaponly.example", isLocal)).toMatchObject({ kind: "found", transport: "smtp:[old.example.com]:25" });
    expect(routeAddress(config, "bob@example.com", isLocal)).toMatchObject({ kind: "found", transport: "smtp:[mx.old.example.com]:2525" });
    expect(routeAddress(config, "bob+x@example.com", isLocal)).toMatchObject({ kind: "found", transport: "smtp:[mx.old.example.com]:2525" });
  });
  test("not found: other domains, non-addresses, migration off, no old SMTP host — each says why", () => {
    expect(routeAddress(config, "bob@other.org", isLocal)).toEqual({ kind: "notfound", why: "other.org is not a domain automigrate knows" });
    expect(routeAddress(config, "example.com", isLocal)).toEqual({ kind: "notfound", why: "not a user address" });
    expect(routeAddress(config, "@example.com", isLocal).kind).toBe("notfound");
    expect(routeAddress(config, "bob@off.example", isLocal).why).toContain("automatic migration is off for off.example");
    expect(routeAddress(config, "bob@nohost.example", isLocal).why).toContain("domain set nohost.example migration.old.smtpHost=");
  });
  test("a local account keeps local delivery when its domain's migration is off", () => {
    expect(routeAddress(config, "zed@off.example", isLocal)).toMatchObject({ kind: "found", transport: "lmtp:unix:private/dovecot-lmtp" });
  });
  test("without a local transport, mail for local accounts is deferred (TEMP), never guessed", () => {
    const c = { ...config, routing: { ...config.routing, localTransport: undefined } };
    const a = routeAddress(c, "ann@example.com", isLocal);
    expect(a.kind).toBe("temp");
    expect(a.why).toContain("config set routing.localTransport=");
  });
  test("a leading delimiter is part of the name; no delimiter setting keeps extensions", () => {
    expect(withoutExtension("+ann", "+")).toBe("+ann");
    expect(withoutExtension("ann-x+y", "-+")).toBe("ann");
    expect(withoutExtension("ann+x", "")).toBe("ann+x");
    expect(withoutExtension("😀ann+x", "+")).toBe("😀ann"); // not counted in code points
  });
  test("a bracketed host is not bracketed twice", () => {
    expect(oldServerTransport("[192.0.2.1]", 25)).toBe("smtp:[192.0.2.1]:25");
  });
});

describe("transportTable", () => {
  test("accounts of known domains, then migrating domains with an old SMTP host; problems named", () => {
    const t = transportTable(config, ["ann@example.com", "Ann@example.com", "x@unknown.org", "zed@off.example"]);
    expect(t.lines).toEqual(["ann@example.com lmtp:unix:private/dovecot-lmtp", "zed@off.example lmtp:unix:private/dovecot-lmtp", "example.com smtp:[mx.old.example.com]:2525", "imaponly.example smtp:[old.example.com]:25"]);
    expect(t.problems).toEqual([{ domain: "nohost.example", problem: "no old SMTP host (migration.old.smtpHost or .host): its users not yet migrated are not routed" }]);
  });
});

describe("socketmap netstrings", () => {
  test("encode, and take several requests from one buffer", () => {
    expect(netstring("OK x").toString()).toBe("4:OK x,");
    expect(netstring("é").toString("latin1")).toBe("2:\xc3\xa9,");
    const buf = Buffer.concat([netstring("transport a@b"), netstring("transport c@d")]);
    const one = takeNetstring(buf);
    expect(one).toMatchObject({ request: "transport a@b" });
    const two = takeNetstring((one as { rest: Buffer }).rest);
    expect(two).toMatchObject({ request: "transport c@d" });
    expect((two as { rest: Buffer }).rest.length).toBe(0);
  });
  test("a request split across reads is incomplete until its comma arrives", () => {
    const whole = netstring("transport a@b");
    for (let i = 0; i < whole.length; i++) expect(takeNetstring(whole.subarray(0, i))).toEqual({ incomplete: true });
  });
  test("malformed input is an error, not a hang", () => {
    expect(takeNetstring(Buffer.from("x:abc,"))).toHaveProperty("error");
    expect(takeNetstring(Buffer.from("3:abcd"))).toEqual({ error: "netstring does not end with ','" });
    expect(takeNetstring(Buffer.from("99999999:"))).toHaveProperty("error");
    expect(takeNetstring(Buffer.from("aaaaaaaaaaaaaaaa"))).toHaveProperty("error");
  });
  test("requests and replies", () => {
    expect(splitRequest("transport a@b")).toEqual({ name: "transport", key: "a@b" });
    expect(splitRequest("transport")).toBeUndefined();
    expect(reply({ kind: "notfound" }).toString()).toBe("9:NOTFOUND ,");
    expect(reply({ kind: "temp", why: "a\nb" }).toString()).toBe("8:TEMP a b,");
  });
});

describe("onNewServer", () => {
  test("created accounts and accounts a migration reached are on the new server; an empty state is not", () => {
    expect(onNewServer(null)).toBe(false);
    expect(onNewServer({ user: "a@b", folders: {}, runs: 0 })).toBe(false);
    expect(onNewServer({ account: { className: "x" } })).toBe(true);
    expect(onNewServer({ runs: 1, lastRun: { status: "done" } })).toBe(true);
    expect(onNewServer({ runs: 2, lastRun: { status: "partial" } })).toBe(true);
    expect(onNewServer({ folders: { INBOX: {} } })).toBe(true);
  });
  test("a failed run that never reached the new server proves nothing (mail must not bounce there)", () => {
    expect(onNewServer({ user: "carol@example.com", folders: {}, runs: 1, lastRun: { status: "failed", error: "login refused for carol@example.com (new server)" } })).toBe(false);
  });
});

describe("hostile socketmap input", () => {
  // a seeded generator: the same bytes on every run
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const junk = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));

  test("lengths that are negative, too long, or longer than the limit are errors before anything is read", () => {
    expect(takeNetstring(Buffer.from("-1:,"))).toHaveProperty("error");
    expect(takeNetstring(Buffer.from("12345678901:x,"))).toHaveProperty("error"); // 11 digits
    expect(takeNetstring(Buffer.from("10001:"))).toEqual({ error: "request of 10001 bytes is longer than 10000" });
    expect(takeNetstring(Buffer.from("9999999999:"))).toHaveProperty("error");
    expect(takeNetstring(Buffer.from(" 3:abc,"))).toHaveProperty("error");
  });

  test("NUL, CR/LF and 8-bit bytes inside a request are data, and the reply stays one line", () => {
    const r = takeNetstring(Buffer.concat([Buffer.from("8:"), Buffer.from("a\0b\r\nc\xff\xfe", "latin1"), Buffer.from(",")]));
    expect(r).toHaveProperty("request");
    expect(reply({ kind: "perm", why: "x\r\ny\0z" }).toString()).toBe("10:PERM x y z,");
  });

  test("10,000 random buffers: never a throw, and every answer is one of the three shapes", () => {
    for (let i = 0; i < 10_000; i++) {
      const b = rnd() < 0.5 ? junk(Math.floor(rnd() * 64)) : Buffer.concat([Buffer.from(`${Math.floor(rnd() * 40)}:`), junk(Math.floor(rnd() * 48))]);
      const r = takeNetstring(b);
      const shape = "error" in r ? "error" : "incomplete" in r ? "incomplete" : "request";
      expect(["error", "incomplete", "request"]).toContain(shape);
      if ("rest" in r) expect(r.rest.length).toBeLessThan(b.length); // always progress
    }
  });

  test("hostile lookup keys are answered, never thrown: control bytes, 10 KB, no @, many @, empty", () => {
    const keys = ["", "@", "@@@", "a@b@example.com", `${"x".repeat(10_000)}@example.com`, "ann\0@example.com", "ann@example.com\r\nPERM x", "\xff\xfe@example.com", "ann@", "@example.com", "  ", "ann@example.com."];
    for (const key of keys) {
      const a = routeAddress(config, key, isLocal);
      expect(["found", "notfound", "temp", "perm"]).toContain(a.kind);
      if (a.kind === "found") expect(a.transport).not.toMatch(/[\r\n\0]/);
    }
    for (let i = 0; i < 2_000; i++) {
      const key = junk(Math.floor(rnd() * 80)).toString("latin1");
      expect(() => routeAddress(config, key, isLocal)).not.toThrow();
      expect(() => splitRequest(key)).not.toThrow();
    }
  });
});
