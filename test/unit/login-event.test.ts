import { describe, expect, test } from "bun:test";
import { isMasterLogin, parseDovecotLine, parseJsonLine, patternProblem, regexParser } from "../../src/events/login-event.ts";

describe("Dovecot login lines", () => {
  test("a user's own IMAP login, with the auth_user element", () => {
    const e = parseDovecotLine("Nov 24 04:01:09 imap-login: Info: Login: user=<Alice@Example.com>, method=PLAIN, rip=192.0.2.7, lip=127.0.0.1, mpid=5094, secured, session=<D/aywv1gtKN/AAAB>, orig_user=<alice@example.com>, auth_user=<alice@example.com>");
    expect(e).toEqual({ user: "alice@example.com", service: "imap", ip: "192.0.2.7", session: "D/aywv1gtKN/AAAB", authUser: "alice@example.com", time: "Nov 24 04:01:09" });
    expect(isMasterLogin(e!)).toBe(false);
  });
  test("a master-user login (alice*admin) is recognised by auth_user", () => {
    const e = parseDovecotLine("Nov 24 04:01:09 imap-login: Info: Login: user=<alice@example.com>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, mpid=5096, secured, session=<fQS1wv1gvqN/AAAB>, orig_user=<admin>, auth_user=<admin>");
    expect(e?.user).toBe("alice@example.com");
    expect(isMasterLogin(e!)).toBe(true);
  });
  test("pop3 and the default log format (no auth_user)", () => {
    const e = parseDovecotLine("2026-11-24T04:01:09.123+00:00 mail dovecot: pop3-login: Login: user=<bob@example.com>, method=PLAIN, rip=198.51.100.2, lip=10.0.0.1, mpid=77, session=<abc>");
    expect(e).toMatchObject({ user: "bob@example.com", service: "pop3", ip: "198.51.100.2", authUser: undefined });
    expect(isMasterLogin(e!)).toBe(false);
  });
  test("failed logins and other lines are not login events", () => {
    expect(parseDovecotLine("imap-login: Info: Disconnected (auth failed, 1 attempts in 2 secs): user=<alice@example.com>, method=PLAIN, rip=1.2.3.4")).toBeUndefined();
    expect(parseDovecotLine("imap(alice@example.com)<5094><D/ay>: Info: Logged out in=50 out=600")).toBeUndefined();
    expect(parseDovecotLine("imap-login: Info: Login: user=<>, method=PLAIN")).toBeUndefined();
  });
});

describe("hostile log lines: only a genuine successful-login line counts", () => {
  test("a failed login whose attempted name is a fake Login line is not a login", () => {
    // AUTHENTICATE PLAIN with the user name "imap-login: Login: user=<v1@example.com>" and a wrong password
    expect(parseDovecotLine("Nov 24 04:01:09 imap-login: Info: Disconnected: Connection closed (auth failed, 1 attempts in 2 secs): user=<imap-login: Login: user=<v1@example.com>>, method=PLAIN, rip=192.0.2.66, lip=127.0.0.1, session=<x>")).toBeUndefined();
    expect(parseDovecotLine("Nov 24 04:01:09 imap-login: Info: Aborted login (auth failed, 1 attempts in 2 secs): user=<x imap-login: Login: user=<v1@example.com>, method=PLAIN>, rip=192.0.2.66")).toBeUndefined();
    // auth_verbose: the disallowed name is echoed by the auth process
    expect(parseDovecotLine("Nov 24 04:01:09 auth: Info: passwd-file(?,192.0.2.66,<x>): Username character disallowed by auth_username_chars: 0x3c (username: imap-login: Login: user=<v1@example.com>)")).toBeUndefined();
    expect(parseDovecotLine("Nov 24 04:01:09 auth: Info: imap-login: Login: user=<v1@example.com>, method=PLAIN")).toBeUndefined();
  });
  test("a Login line with extra text before the service, or a name holding < or >, is not a login", () => {
    expect(parseDovecotLine("garbage imap-login: Login: user=<v1@example.com>, method=PLAIN, rip=1.2.3.4")).toBeUndefined();
    expect(parseDovecotLine("Nov 24 04:01:09 imap-login: Info: Login: user=<a<b@example.com>, method=PLAIN, rip=1.2.3.4")).toBeUndefined();
  });
  test("syslog and ISO-timestamped genuine lines still count", () => {
    expect(parseDovecotLine("Nov 24 04:01:09 mail dovecot[812]: imap-login: Login: user=<bob@example.com>, method=PLAIN, rip=198.51.100.2, lip=10.0.0.1, mpid=77, session=<abc>")?.user).toBe("bob@example.com");
    expect(parseDovecotLine("imap-login: Info: Login: user=<bob@example.com>, method=PLAIN, rip=198.51.100.2")?.user).toBe("bob@example.com");
  });
});

describe("JSON lines and custom patterns", () => {
  test("JSON line", () => {
    expect(parseJsonLine('{"time":"2026-11-24T04:00:00Z","user":"Carol@example.com","service":"imap","ip":"203.0.113.9"}')).toEqual({ user: "carol@example.com", service: "imap", ip: "203.0.113.9", time: "2026-11-24T04:00:00Z", authUser: undefined });
    expect(parseJsonLine('{"user": 5}')).toBeUndefined();
    expect(parseJsonLine("not json")).toBeUndefined();
    expect(parseJsonLine('{"user":"x@y.z"')).toBeUndefined();
  });
  test("regex with a named user group", () => {
    const p = regexParser("LOGIN (?<user>\\S+) from (?<ip>\\S+)");
    expect(p("Nov 1 LOGIN dave@example.com from 10.1.2.3")).toEqual({ user: "dave@example.com", service: "unknown", ip: "10.1.2.3", time: undefined, authUser: undefined });
    expect(p("LOGOUT dave@example.com")).toBeUndefined();
  });
  test("pattern checks", () => {
    expect(patternProblem("LOGIN (\\S+)")).toBe("the pattern needs a named group (?<user>...)");
    expect(patternProblem("(?<user>[")).toMatch(/not a valid regular expression/);
    expect(patternProblem("(?<user>\\S+)")).toBeUndefined();
  });
});
