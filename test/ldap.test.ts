// Account creation from LDAP authentication, end to end: the new Dovecot's passdb is its
// passwd-file then automigrate's checkpassword helper; a real OpenLDAP (slapd) decides who
// may log in. The domain also migrates, so the daemon then pulls the user's mail.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expectSameMail } from "./support/compare.ts";
import { accountState, startDaemon, userLogin, waitFor, type DaemonProc, withDaemonOutput } from "./support/daemon.ts";
import type { Dovecot } from "./support/dovecot.ts";
import { loginFails as loginFailsOn, startFirstLoginLab, type FirstLoginLab } from "./support/first-login-lab.ts";
import { CLI, runCli, runCliOk } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed } from "./support/mail.ts";
import { PEOPLE, startSlapd, type Slapd } from "./support/slapd.ts";

// LDAP passwords differ from the old server's: the directory is what is asked
const LDAP_PW = (uid: string) => `ldap-${uid}-Pw7`;
const PEOPLE_IN_LDAP = [
  { uid: "ann", mail: "ann@example.com" },
  { uid: "bob", mail: "bob@example.com" },
  { uid: "cat", mail: "cat@example.com" },
  { uid: "carol", mail: "carol@staff.example" },
  { uid: "dave", mail: "dave@staff.example" },
  { uid: "erin", mail: "erin@staff.example" },
  { uid: "hank", mail: "hank@both.example" },
].map((p) => ({ ...p, password: LDAP_PW(p.uid) }));

let root: string;
let home: string;
let old: Dovecot;
let target: Dovecot;
let ldap: Slapd;
let d: DaemonProc;

let lab: FirstLoginLab;
const passwdLine = (user: string) => lab.passwdLine(user);
const loginFails = (user: string, password: string) => loginFailsOn(target, user, password);

/** The helper as Dovecot runs it: user\0password\0 on fd 3. */
function helper(user: string, password: string): { code: number; stderr: string } {
  const r = Bun.spawnSync(["sh", "-c", `printf '%s\\0%s\\0' "$U" "$P" | "${CLI}" checkpassword --socket "${lab.socket}" /bin/true 3<&0`], { env: { ...process.env, U: user, P: password }, stderr: "pipe" });
  return { code: r.exitCode, stderr: r.stderr.toString() };
}

beforeAll(async () => {
  ldap = await startSlapd(PEOPLE_IN_LDAP);
  lab = await startFirstLoginLab("ldap", ["ann@example.com", "bob@example.com"].map((user) => ({ user, password: "old-pw" })), ["license.premiumSeats=1"]);
  ({ root, home, old, target } = lab);
  await seed(old, "ann@example.com", [{ path: "Projects" }], Array.from({ length: 6 }, (_, i) => ({ folder: i % 2 ? "INBOX" : "Projects", raw: makeMessage(i) })));
  writeFileSync(join(root, "old.pw"), old.master.password, { mode: 0o600 });
  const directory = [`ldap.bindDn=${ldap.bindDn}`, `ldap.bindPasswordFile=${ldap.bindPasswordFile}`, `ldap.baseDn=${PEOPLE}`];
  // migrates, and creates accounts from LDAP (plain ldap:// here; TLS on staff.example)
  await runCliOk(home, ["domain", "add", "example.com", `migration.old.host=${old.host}`, `migration.old.imapPort=${old.port}`, "migration.old.imapTls=none", "migration.old.auth.mode=master", "migration.old.auth.user=admin", `migration.old.auth.passwordFile=${join(root, "old.pw")}`, "migration.old.auth.method=separator", "migration.premiumByLicense=true", "ldap.authCreate=true", `ldap.url=${ldap.url}`, ...directory]);
  await runCliOk(home, ["domain", "enable", "example.com"]);
  // creates accounts from LDAP over ldaps:// with the CA checked, and does not migrate
  await runCliOk(home, ["domain", "add", "staff.example", "ldap.authCreate=true", `ldap.url=${ldap.ldapsUrl}`, `ldap.caFile=${ldap.caFile}`, "ldap.filter=(uid={localpart})", ...directory]);
  d = await startDaemon(home);
}, 120_000);

afterAll(async () => {
  if (d?.proc.exitCode === null) await d.stop();
  await Promise.all([lab?.stop(), ldap?.destroy()]);
});

describe("account creation from LDAP authentication (real slapd)", () => {
  test("the LDAP password creates the account (class, premium seat) and the daemon migrates the mail", async () => {
    const U = "ann@example.com";
    expect(passwdLine(U)).toBeUndefined();
    await userLogin(target, U, LDAP_PW("ann"));
    expect(passwdLine(U)).toMatch(/^ann@example\.com:\{ARGON2ID\}\$argon2id\$.* userdb_automigrate_tier=premium/);
    await waitFor(async () => (await accountState(home, U))?.lastRun?.status === "done", 20_000, "ann migrated").catch(withDaemonOutput(d));
    expect((await accountState(home, U)).account).toMatchObject({ className: "domain-default", tier: "premium", via: "first-login" });
    expectSameMail(await digestMailbox(old, U), await digestMailbox(target, U));
  });

  test("a wrong password is refused (the old server's password is not asked either); no account", async () => {
    const U = "bob@example.com";
    await loginFails(U, "old-pw");
    await loginFails(U, "not-it");
    expect(passwdLine(U)).toBeUndefined();
    const h = helper(U, "not-it");
    expect(h.code).toBe(1);
    expect(h.stderr).toContain(`${U}: refused: wrong password for uid=bob,${PEOPLE}`);
    expect(h.stderr).not.toContain("not-it");
  });

  test("a user without an LDAP entry is refused; an empty password never binds", async () => {
    const h = helper("nobody@example.com", "whatever");
    expect(h.code).toBe(1);
    expect(h.stderr).toContain(`refused: no LDAP entry for nobody@example.com under ${PEOPLE}`);
    expect(helper("bob@example.com", "").code).toBe(1);
    expect(passwdLine("nobody@example.com")).toBeUndefined();
    expect(passwdLine("bob@example.com")).toBeUndefined();
  });

  test("LDAP down: a temporary failure, no account; back up: the same login works", async () => {
    const U = "cat@example.com";
    await ldap.stop();
    try {
      expect(await loginFails(U, LDAP_PW("cat"))).toMatch(/UNAVAILABLE|Temporary/i);
      const h = helper(U, LDAP_PW("cat"));
      expect(h.code).toBe(111);
      expect(h.stderr).toMatch(new RegExp(`temporary failure: LDAP server ${ldap.url} unreachable: .*ECONNREFUSED`));
    } finally {
      await ldap.start();
    }
    expect(passwdLine(U)).toBeUndefined();
    await userLogin(target, U, LDAP_PW("cat"));
    // the only premium seat went to ann
    expect(passwdLine(U)).toContain("userdb_automigrate_tier=basic");
  });

  test("ldaps:// with the CA checked creates the account; a domain without migration queues nothing", async () => {
    const U = "carol@staff.example";
    await userLogin(target, U, LDAP_PW("carol"));
    expect(passwdLine(U)).toBeDefined();
    await waitFor(async () => (await d.status()).ignored.some((i: any) => i.user === U && i.reason === "migration is disabled for staff.example"), 5000, "carol's login ignored by the daemon");
    expect((await accountState(home, U)).runs).toBe(0);
  });

  test("certificates are checked: a CA that did not sign the server's certificate is a temporary failure", async () => {
    await runCliOk(home, ["domain", "set", "staff.example", `ldap.caFile=${ldap.otherCaFile}`]);
    try {
      const h = helper("dave@staff.example", LDAP_PW("dave"));
      expect(h.code).toBe(111);
      expect(h.stderr).toContain("TLS certificate not trusted");
      expect(h.stderr).toContain("set ldap.caFile");
    } finally {
      await runCliOk(home, ["domain", "set", "staff.example", `ldap.caFile=${ldap.caFile}`]);
    }
    expect(passwdLine("dave@staff.example")).toBeUndefined();
  });

  test("StartTLS on ldap:// with the CA checked", async () => {
    const url = ldap.url.replace("127.0.0.1", "localhost");
    await runCliOk(home, ["domain", "set", "staff.example", `ldap.url=${url}`, "ldap.startTls=true"]);
    expect(helper("dave@staff.example", LDAP_PW("dave")).code).toBe(0);
    expect(passwdLine("dave@staff.example")).toBeDefined();
    await runCliOk(home, ["domain", "set", "staff.example", `ldap.caFile=${ldap.otherCaFile}`]);
    const h = helper("erin@staff.example", LDAP_PW("erin"));
    expect(h.code).toBe(111);
    expect(h.stderr).toContain("TLS certificate not trusted");
  });

  test("settings: authCreate without a server or base is refused with the field's path", async () => {
    const r = await runCli(home, ["domain", "add", "new.example", "ldap.authCreate=true"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ldap.url");
    expect(r.stderr).toContain("ldap.baseDn");
    const s = await runCli(home, ["domain", "set", "example.com", "ldap.url=ldaps://x.example", "ldap.startTls=true"]);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain("ldap.startTls");
  });
});

describe("the LDAP-sync guard in the settings file loader", () => {
  test("a hand-edited domain with migration and LDAP sync both on: reported, and the daemon does not migrate it", async () => {
    const file = join(home, "config.json");
    const c = JSON.parse(readFileSync(file, "utf8"));
    c.domains["both.example"] = structuredClone(c.domains["example.com"]);
    c.domains["both.example"].ldap.sync = true; // migration.enabled is true, copied from example.com
    writeFileSync(file, JSON.stringify(c, null, 2), { mode: 0o600 });
    const list = JSON.parse((await runCli(home, ["domain", "list", "--json"])).stdout);
    expect(list.find((x: any) => x.name === "both.example").problems[0]).toStartWith("Domain migration couldn't be enabled! both.example has both migration and LDAP synchronisation on");
    // LDAP still creates the account; the login that follows is not migrated
    const U = "hank@both.example";
    await waitFor(async () => {
      try {
        await userLogin(target, U, LDAP_PW("hank"));
        return true;
      } catch {
        return false; // until the daemon and the helper see the new file
      }
    }, 10_000, "hank's first login");
    await waitFor(async () => (await d.status()).ignored.some((i: any) => i.user === U && i.reason.startsWith("Domain migration couldn't be enabled! both.example")), 5000, "hank's login ignored");
    expect((await accountState(home, U)).runs).toBe(0);
  });
});
