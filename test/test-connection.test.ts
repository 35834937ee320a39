// test-connection against real Dovecot IMAP and SMTP (submission) servers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { freePort, startDovecot } from "./support/dovecot.ts";
import { runCli, runCliOk, startHarness, type Harness } from "./support/harness.ts";

const U = "alice@example.com";

describe("test-connection", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ old: { smtp: true } });
    await runCliOk(h.home, ["domain", "set", "example.com", `migration.old.smtpPort=${h.old.smtpPort}`]);
  });
  afterAll(() => h.stop());

  test("all up: every check passes, named, with what was seen", async () => {
    const r = await runCli(h.home, ["test-connection", "example.com", "--user", U, "--json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c: any) => [c.name, c.status])).toEqual([
      ["old-imap", "pass"],
      ["old-imap-login", "pass"],
      ["old-smtp", "pass"],
      ["new-imap", "pass"],
      ["new-imap-login", "pass"],
    ]);
    const byName = Object.fromEntries(report.checks.map((c: any) => [c.name, c]));
    expect(byName["old-imap"].detail).toContain('greeting "Dovecot (Debian) ready."');
    expect(byName["old-imap"].detail).toContain("AUTH=PLAIN");
    expect(byName["old-smtp"].detail).toMatch(/banner ".*Dovecot \(Debian\) ready\.", EHLO extensions: .*PIPELINING/);
    expect(byName["old-smtp"].server).toBe(`127.0.0.1:${h.old.smtpPort}`);
    expect(byName["new-imap-login"].detail).toMatch(new RegExp(`^logged in as admin acting for ${U} \\(SASL PLAIN authzid\\); \\d+ folders?$`));
    expect(byName["old-imap-login"].detail).toMatch(new RegExp(`^logged in as ${U.replace(".", "\\.")}\\*admin; \\d+ folders?$`));
  });

  test("without --user the logins are skipped, saying how to test them", async () => {
    const r = await runCli(h.home, ["test-connection", "example.com"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("skip old-imap-login");
    expect(r.stdout).toContain("hint: add --user someone@<domain>");
  });

  test("wrong password: the login check fails with the reason and the fix; the password is never printed", async () => {
    const pw = join(h.home, "old-master.pw");
    const good = await Bun.file(pw).text();
    await Bun.write(pw, "not-the-password-42\n");
    try {
      const r = await runCli(h.home, ["test-connection", "example.com", "--user", U, "--json"]);
      expect(r.code).toBe(1);
      const c = JSON.parse(r.stdout).checks.find((x: any) => x.name === "old-imap-login");
      expect(c.status).toBe("fail");
      expect(c.detail).toMatch(/^login refused for alice@example\.com/);
      expect(c.hint).toContain("password file");
      expect(r.stdout + r.stderr).not.toContain("not-the-password-42");
      expect(r.stdout + r.stderr).not.toContain("master-secret");
    } finally {
      await Bun.write(pw, good);
    }
  });

  test("old servers down: IMAP and SMTP fail with hints, the old login is skipped, the new server still checked", async () => {
    const dead = await freePort();
    await runCliOk(h.home, ["domain", "set", "example.com", `migration.old.imapPort=${dead}`, `migration.old.smtpPort=${dead}`]);
    try {
      const r = await runCli(h.home, ["test-connection", "example.com", "--user", U]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`FAIL old-imap\\s+127\\.0\\.0\\.1:${dead}\\s+cannot connect|FAIL old-imap\\s+127\\.0\\.0\\.1:${dead}\\s+.*(ECONNREFUSED|refused)`));
      expect(r.stdout).toContain("hint: check migration.old.host and the port");
      expect(r.stdout).toMatch(/skip old-imap-login .* the server could not be reached/);
      expect(r.stdout).toMatch(/FAIL old-smtp/);
      expect(r.stdout).toMatch(/ok   new-imap-login/);
    } finally {
      await runCliOk(h.home, ["domain", "set", "example.com", `migration.old.imapPort=${h.old.port}`, `migration.old.smtpPort=${h.old.smtpPort}`]);
    }
  });

  test("a server that refuses LOGIN without TLS (LOGINDISABLED) is named as such, with the fix", async () => {
    // Dovecot treats a client on its own address as secure: listen on 127.0.0.2
    const strict = await startDovecot({ label: "strict", listen: "127.0.0.2", disablePlaintextAuth: true, users: [{ user: U, password: "x" }] });
    try {
      await runCliOk(h.home, ["domain", "set", "example.com", `migration.old.host=127.0.0.2`, `migration.old.imapPort=${strict.port}`]);
      const r = await runCli(h.home, ["test-connection", "example.com", "--json"]);
      const c = JSON.parse(r.stdout).checks.find((x: any) => x.name === "old-imap");
      expect(c.status).toBe("fail");
      expect(c.detail).toStartWith("the server refuses LOGIN on an unencrypted connection (LOGINDISABLED)");
      expect(c.hint).toBe("set migration.old.imapTls=starttls (or implicit with port 993)");
    } finally {
      await strict.stop();
      await runCliOk(h.home, ["domain", "set", "example.com", `migration.old.host=${h.old.host}`, `migration.old.imapPort=${h.old.port}`]);
    }
  });
});
