// The deployment the README documents, with real Dovecot: Dovecot's auth service keeps its
// default user ("dovecot", no vsz_limit change), the daemon runs as the unprivileged
// `automigrate` system user, and the two meet only at the first-login socket (0660, group
// dovecot). Both front-ends are run: the checkpassword helper (Dovecot 2.3) and the Lua passdb
// (2.3's dovecot-auth-lua; 2.4's only way). First login, wrong password, a burst of wrong
// passwords (rate-limited: the old server is asked a bounded number of times), old server
// down, master-user lookups.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expectSameMail } from "./support/compare.ts";
import { accountState, startDaemon, userLogin, waitFor, type DaemonProc, type RunAs, withDaemonOutput } from "./support/daemon.ts";
import { freePort } from "./support/dovecot.ts";
import { loginFails, loginFrom, startFirstLoginLab, type FirstLoginLab } from "./support/first-login-lab.ts";
import { runCliOk } from "./support/harness.ts";
import { rootProblem } from "./support/privileges.ts";
import { describeNeeding } from "./support/requires.ts";
import { connectAs, digestMailbox, makeMessage, seed } from "./support/mail.ts";

const pw = (u: string) => `old-${u.split("@")[0]}-Pw7`;
const USERS = ["first@example.com", "wrong@example.com", "burst@example.com", "down@example.com"];

function gid(group: string): number {
  const line = readFileSync("/etc/group", "utf8").split("\n").find((l) => l.startsWith(`${group}:`));
  if (!line) throw new Error(`no group ${group}`);
  return Number(line.split(":")[2]);
}

/** The `automigrate` system user, as the Debian package's postinst creates it. */
function systemUser(): RunAs {
  const id = (flag: string) => spawnSync("id", [flag, "automigrate"], { encoding: "utf8" });
  if (id("-u").status !== 0) {
    const r = spawnSync("useradd", ["--system", "--user-group", "--home-dir", "/var/lib/automigrate", "--no-create-home", "--shell", "/usr/sbin/nologin", "automigrate"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`useradd automigrate: ${r.stderr}`);
  }
  return { uid: Number(id("-u").stdout), gid: Number(id("-g").stdout), groups: [gid("adm"), gid("dovecot")] };
}

for (const frontEnd of ["checkpassword", "lua"] as const) {
  describeNeeding("root", rootProblem("these tests create the automigrate system user and run Dovecot's auth as its default user"))(`${frontEnd} front-end: Dovecot auth as its default user, the daemon as "automigrate"`, () => {
    let lab: FirstLoginLab;
    let d: DaemonProc;
    let as: RunAs;

    beforeAll(async () => {
      as = systemUser();
      lab = await startFirstLoginLab(`unpriv-${frontEnd}`, USERS.map((user) => ({ user, password: pw(user) })), ["firstLogin.failuresPerUser=3", "firstLogin.limitedCheckEverySec=10"], { frontEnd, daemonUser: as });
      await seed(lab.old, "first@example.com", [{ path: "Projects" }], Array.from({ length: 6 }, (_, i) => ({ folder: i % 2 ? "INBOX" : "Projects", raw: makeMessage(i) })));
      await runCliOk(lab.home, ["domain", "add", "example.com", `migration.old.host=${lab.old.host}`, `migration.old.imapPort=${lab.old.port}`, "migration.old.imapTls=none", "migration.old.auth.mode=captured"]);
      await runCliOk(lab.home, ["domain", "enable", "example.com"]);
      d = await startDaemon(lab.home, { as });
    }, 120_000);

    afterAll(async () => {
      if (d?.proc.exitCode === null) await d.stop();
      await lab?.stop();
    });

    test("nothing runs as root: the daemon's uid, the socket's mode and group, Dovecot's auth settings", async () => {
      // the daemon answers on its control socket a moment before the first-login socket is up
      await waitFor(async () => Boolean((await d.status()).firstLogin), 10_000, "the first-login socket");
      const status = readFileSync(`/proc/${d.proc.pid}/status`, "utf8");
      expect(/^Uid:\s+(\d+)/m.exec(status)![1]).toBe(String(as.uid));
      expect(/^CapEff:\s+(\w+)/m.exec(status)![1]).toBe("0000000000000000");
      const st = statSync(lab.socket);
      expect((st.mode & 0o777).toString(8)).toBe("660");
      expect(st.gid).toBe(gid("dovecot"));
      expect(st.uid).toBe(as.uid);
      const conf = readFileSync(join(lab.target.dir, "dovecot.conf"), "utf8");
      expect(conf).not.toMatch(/user = root|vsz_limit/);
      expect(conf).toContain(frontEnd === "lua" ? "driver = lua" : "driver = checkpassword");
    });

    test("a first login with the old password creates the account; the daemon migrates the mail", async () => {
      const U = "first@example.com";
      await userLogin(lab.target, U, pw(U)).catch((e) => {
        throw new Error(`${(e as Error).message}: ${(e as { responseText?: string }).responseText}\ndaemon:\n${d.output()}`);
      });
      expect(lab.passwdLine(U)).toMatch(/^first@example\.com:\{ARGON2ID\}/);
      await waitFor(async () => (await accountState(lab.home, U))?.lastRun?.status === "done", 20_000, "first migrated").catch(withDaemonOutput(d));
      expectSameMail(await digestMailbox(lab.old, U), await digestMailbox(lab.target, U));
      // the daemon wrote its files as itself, and the passwd-file stays readable for Dovecot
      expect(statSync(join(lab.home, "state")).uid).toBe(as.uid);
      expect(existsSync(lab.passwdLine(U) ? lab.target.passwdPath : "")).toBe(true);
    });

    test("a wrong password is an authentication failure and creates nothing", async () => {
      const U = "wrong@example.com";
      expect(await loginFails(lab.target, U, "not-it")).toMatch(/AUTHENTICATIONFAILED|Authentication failed/);
      expect(lab.passwdLine(U)).toBeUndefined();
      expect(await accountState(lab.home, U)).toBeUndefined();
    });

    test("wrong passwords from several sources, then the right one: a temporary failure at worst, then in; the old server asked a bounded number of times and told each client's address", async () => {
      const U = "burst@example.com";
      const sources = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
      // two wrong guesses from each source, the sources at once
      await Promise.all(sources.map(async (ip) => {
        for (const g of ["guess-a", "guess-b"]) expect(await loginFrom(lab.target, ip, U, `${g}-${ip}`)).toMatch(/^NO \[AUTHENTICATIONFAILED\]|^NO \[UNAVAILABLE\]/);
      }));
      // a client whose wrong guess just went through (the user is over the limit by now), then
      // the right password from there: never "wrong password"; in at the latest after the interval
      const shared = "127.0.0.5";
      expect(await loginFrom(lab.target, shared, U, "guess-c")).toMatch(/^NO \[AUTHENTICATIONFAILED\]/);
      const answers: string[] = [];
      await waitFor(async () => {
        answers.push(await loginFrom(lab.target, shared, U, pw(U)));
        return answers.at(-1) === "OK";
      }, 30_000, "the right password accepted");
      // within the interval after that source's own guess: a temporary failure, then in
      expect(answers.length).toBeGreaterThan(1);
      expect(answers.slice(0, -1).every((a) => /UNAVAILABLE|Temporary/i.test(a))).toBe(true);
      expect(lab.passwdLine(U)).toMatch(/^burst@example\.com:\{ARGON2ID\}/);
      const oldLog = readFileSync(lab.old.logPath, "utf8").split("\n");
      const asked = oldLog.filter((l) => l.includes(`(${U},`) && /mismatch/i.test(l)).length;
      // failuresPerUser (3), then one check per source per interval at most
      expect(asked).toBeGreaterThanOrEqual(3);
      expect(asked).toBeLessThanOrEqual(3 + sources.length + 1);
      // the old server saw each client's own address (IMAP ID x-originating-ip), not the daemon's
      for (const ip of [...sources, shared]) expect(oldLog.some((l) => l.includes(`(${U},${ip}`) || (l.includes(U) && l.includes(`rip=${ip}`)))).toBe(true);
      expect(d.output()).toContain(`wrong passwords for ${U} since`);
    });

    test("old server down: a temporary failure, never 'wrong password'", async () => {
      const U = "down@example.com";
      await runCliOk(lab.home, ["domain", "set", "example.com", `migration.old.imapPort=${await freePort()}`]);
      try {
        expect(await loginFails(lab.target, U, pw(U))).toMatch(/UNAVAILABLE|Temporary/i);
      } finally {
        await runCliOk(lab.home, ["domain", "set", "example.com", `migration.old.imapPort=${lab.old.port}`]);
      }
      expect(lab.passwdLine(U)).toBeUndefined();
      expect(readFileSync(lab.target.logPath, "utf8")).toMatch(/down@example\.com: temporary failure: old server: cannot connect/);
    });

    test("master-user logins: a lookup that knows automigrate's accounts only", async () => {
      const c = await connectAs(lab.target, "first@example.com");
      await c.logout();
      const err = await connectAs(lab.target, "wrong@example.com").then(
        () => "accepted",
        (e) => (e as { responseText?: string }).responseText ?? String(e),
      );
      expect(err).toMatch(/Authorization failed|AUTHENTICATIONFAILED|Authentication failed/);
    });

    test("the daemon down: a temporary failure, never 'wrong password'", async () => {
      await d.stop();
      expect(await loginFails(lab.target, "wrong@example.com", "whatever")).toMatch(/UNAVAILABLE|Temporary/i);
      expect(readFileSync(lab.target.logPath, "utf8")).toContain("temporary failure: cannot reach the daemon at");
    });
  });
}
