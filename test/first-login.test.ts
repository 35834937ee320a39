// First-login account creation end to end: the new Dovecot's passdb is its passwd-file,
// then automigrate's checkpassword helper. A user known only to the old server logs in to
// the NEW server with the OLD password: the account appears and the daemon migrates it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expectSameMail } from "./support/compare.ts";
import { accountState, startDaemon, userLogin, waitFor, type DaemonProc, withDaemonOutput } from "./support/daemon.ts";
import { freePort, type Dovecot } from "./support/dovecot.ts";
import { loginFails as loginFailsOn, startFirstLoginLab, type FirstLoginLab } from "./support/first-login-lab.ts";
import { runCli, runCliOk } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed } from "./support/mail.ts";

const N = 20;
const pw = (u: string) => `old-pw-${u.split("@")[0]}-Zq9`;
const newbies = Array.from({ length: N }, (_, i) => `crowd${i}@example.com`);
const OLD_USERS = ["newbie@example.com", "wrongpw@example.com", "downtime@example.com", "intern@interns.example", "imp1@example.com", ...newbies];

let root: string;
let home: string;
let old: Dovecot;
let target: Dovecot;
let d: DaemonProc;

let lab: FirstLoginLab;
const passwdHas = (user: string) => lab.passwdLine(user) !== undefined;
const loginFails = (user: string, password: string) => loginFailsOn(target, user, password);

beforeAll(async () => {
  lab = await startFirstLoginLab("firstlogin", OLD_USERS.map((user) => ({ user, password: pw(user) })), ["license.premiumSeats=5"]);
  ({ root, home, old, target } = lab);
  await seed(old, "newbie@example.com", [{ path: "Projects" }], Array.from({ length: 8 }, (_, i) => ({ folder: i % 2 ? "INBOX" : "Projects", raw: makeMessage(i) })));
  for (const dom of ["example.com", "interns.example"]) {
    await runCliOk(home, ["domain", "add", dom, `migration.old.host=${old.host}`, `migration.old.imapPort=${old.port}`, "migration.old.imapTls=none", "migration.old.auth.mode=captured", "migration.premiumByLicense=true"]);
  }
  await runCliOk(home, ["class", "add", "example.com", "staff", "quota=2G"]);
  await runCliOk(home, ["domain", "set", "example.com", "migration.accountClass=staff"]);
  await runCliOk(home, ["class", "set", "interns.example", "domain-default", "autoMigration=false"]);
  await runCliOk(home, ["domain", "enable", "example.com"]);
  await runCliOk(home, ["domain", "enable", "interns.example"]);
  d = await startDaemon(home);
}, 120_000);

afterAll(async () => {
  if (d?.proc.exitCode === null) await d.stop();
  await lab?.stop();
});

describe("first login on the new server", () => {
  test("the old password creates the account (class, premium seat), the daemon migrates the mail", async () => {
    const U = "newbie@example.com";
    expect(passwdHas(U)).toBe(false);
    await userLogin(target, U, pw(U));
    const line = readFileSync(target.passwdPath, "utf8").split("\n").find((l) => l.startsWith(`${U}:`))!;
    expect(line).toMatch(/^newbie@example\.com:\{ARGON2ID\}\$argon2id\$/);
    expect(line).toContain("userdb_quota_rule=*:storage=2G userdb_automigrate_class=staff userdb_automigrate_tier=premium");
    expect(line).not.toContain(pw(U));
    await waitFor(async () => (await accountState(home, U))?.lastRun?.status === "done", 20_000, "newbie migrated").catch(withDaemonOutput(d));
    expect((await accountState(home, U)).account).toMatchObject({ className: "staff", tier: "premium", via: "first-login" });
    expectSameMail(await digestMailbox(old, U), await digestMailbox(target, U));
    // continuous migration is off and the migration is complete, but its catch-up passes (mail
    // still reaching the old server) need the captured password: kept until the last one
    expect(existsSync(join(home, "vault", `${U}.json`))).toBe(true);
    expect((await d.status()).jobs.find((j: { user: string }) => j.user === U)).toMatchObject({ state: "scheduled", reason: "catch-up" });
    // with no catch-up pass left, the next complete run wipes it
    await runCliOk(home, ["domain", "set", "example.com", "migration.catchUp=[]"]);
    await runCliOk(home, ["migrate", U, "--queue"]);
    await waitFor(() => !existsSync(join(home, "vault", `${U}.json`)), 15_000, "vault record wiped").catch(withDaemonOutput(d));
    expect((await d.status()).jobs.some((j: { user: string }) => j.user === U)).toBe(false);
    await runCliOk(home, ["domain", "set", "example.com", `migration.catchUp=${JSON.stringify(["15m", "1d", "6d"])}`]);
  });

  test("the next login goes through the passwd-file, not the helper (the old server is not asked)", async () => {
    const U = "newbie@example.com";
    await runCliOk(home, ["domain", "set", "example.com", `migration.old.imapPort=${await freePort()}`]);
    try {
      await userLogin(target, U, pw(U));
    } finally {
      await runCliOk(home, ["domain", "set", "example.com", `migration.old.imapPort=${old.port}`]);
    }
  });

  test("a master-user login is only a lookup: known accounts pass, others fail, the master password is never used", async () => {
    const { connectAs } = await import("./support/mail.ts");
    const c = await connectAs(target, "newbie@example.com"); // created by automigrate
    await c.logout();
    const err = await connectAs(target, "crowd0@example.com").then(
      () => "accepted",
      (e) => (e as { responseText?: string }).responseText ?? String(e),
    );
    expect(err).toMatch(/Authorization failed/);
    expect(await accountState(home, "crowd0@example.com")).toBeUndefined();
    expect(readFileSync(target.logPath, "utf8")).toContain("crowd0@example.com: refused: master-user login for an account automigrate did not create");
  });

  test("a wrong password: auth failure, no account, nothing stored", async () => {
    const U = "wrongpw@example.com";
    expect(await loginFails(U, "not-the-old-password")).toMatch(/AUTHENTICATIONFAILED|Authentication failed/);
    expect(passwdHas(U)).toBe(false);
    expect(await accountState(home, U)).toBeUndefined();
    expect(existsSync(join(home, "vault", `${U}.json`))).toBe(false);
  });

  test("old server down: a temporary failure, no account", async () => {
    const U = "downtime@example.com";
    await runCliOk(home, ["domain", "set", "example.com", `migration.old.imapPort=${await freePort()}`]);
    try {
      expect(await loginFails(U, pw(U))).toMatch(/UNAVAILABLE|Temporary/i);
    } finally {
      await runCliOk(home, ["domain", "set", "example.com", `migration.old.imapPort=${old.port}`]);
    }
    expect(passwdHas(U)).toBe(false);
    const log = readFileSync(target.logPath, "utf8");
    expect(log).toMatch(/downtime@example\.com: temporary failure: old server: cannot connect: .*ECONNREFUSED/);
    expect(log).toContain("Connection closed (auth service reported temporary failure): user=<downtime@example.com>");
  });

  test("a class without automatic migration: login refused, no account", async () => {
    const U = "intern@interns.example";
    await loginFails(U, pw(U));
    expect(passwdHas(U)).toBe(false);
    expect(readFileSync(target.logPath, "utf8")).toContain(`${U}: refused: class "domain-default" of interns.example has automatic migration off`);
  });

  test(`${N} concurrent first logins with 4 seats left: exactly 4 premium`, async () => {
    const before = JSON.parse((await runCli(home, ["license", "--json"])).stdout);
    expect(before).toEqual({ seats: 5, used: 1, available: 4 });
    await Promise.all(newbies.map((u) => userLogin(target, u, pw(u))));
    const tiers = newbies.map((u) => /userdb_automigrate_tier=(\w+)/.exec(readFileSync(target.passwdPath, "utf8").split("\n").find((l) => l.startsWith(`${u}:`))!)![1]);
    expect(tiers.filter((t) => t === "premium").length).toBe(4);
    expect(tiers.filter((t) => t === "basic").length).toBe(N - 4);
    expect(JSON.parse((await runCli(home, ["license", "--json"])).stdout)).toEqual({ seats: 5, used: 5, available: 0 });
    // every account exactly once in the passwd-file
    const names = readFileSync(target.passwdPath, "utf8").split("\n").filter(Boolean).map((l) => l.split(":")[0]);
    expect(names.length).toBe(new Set(names).size);
  });

  test("import-users: a per-line report of what was created, queued or refused and why", async () => {
    const csv = join(root, "users.csv");
    writeFileSync(csv, ["# staff", "imp1@example.com;Imported-pw-1", "stranger@nowhere.example;x", "imp2@example.com", "intern2@interns.example;y", ""].join("\n"));
    const r = await runCli(home, ["import-users", csv, "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual([
      { line: 2, user: "imp1@example.com", result: "created", tier: "basic" },
      { line: 3, user: "stranger@nowhere.example", result: "refused", reason: "domain nowhere.example is not configured" },
      { line: 4, user: "imp2@example.com", result: "refused", reason: "a line without a password needs the domain's old-server access in master or oauth2 mode" },
      { line: 5, user: "intern2@interns.example", result: "refused", reason: 'class "domain-default" of interns.example has automatic migration off' },
    ]);
    expect(passwdHas("imp1@example.com")).toBe(true);
    await userLogin(target, "imp1@example.com", "Imported-pw-1");
  });

  test("import-users refuses what no login can carry, keys on one spelling per user, and never says created for a password it did not store", async () => {
    const csv = join(root, "hostile.csv");
    const nfc = "\u00e9mile@example.com";
    const nfd = "e\u0301mile@example.com";
    writeFileSync(csv, ["/etc/passwd@example.com;x", "%u@example.com;x", "*@example.com;x", "a*admin@example.com;x", `${nfc};Emile-pw-1`, `${nfd};Emile-pw-2`, "IMP3@Example.com;first-pw", "imp3@example.com;second-pw", "imp1@example.com;another-pw"].join("\n"));
    const r = await runCli(home, ["import-users", csv, "--json"]);
    const rows = JSON.parse(r.stdout) as { line: number; user: string; result: string; reason?: string }[];
    const at = (line: number) => rows.find((x) => x.line === line)!;
    for (const [line, ch] of [[1, "/"], [2, "%"], [3, "*"], [4, "*"]] as const) expect(at(line)).toMatchObject({ result: "refused", reason: expect.stringContaining(`holds "${ch}"`) });
    expect(at(5)).toMatchObject({ user: nfc, result: "created" });
    expect(at(6)).toMatchObject({ user: nfc, result: "refused", reason: expect.stringContaining("the same user as line 5") });
    expect(at(7)).toMatchObject({ user: "imp3@example.com", result: "created" });
    expect(at(8)).toMatchObject({ user: "imp3@example.com", result: "refused", reason: expect.stringContaining("the same user as line 7") });
    expect(at(9)).toMatchObject({ user: "imp1@example.com", result: "exists", reason: "created before: its password is not changed" });
    // one account for émile, the first password; imp1 keeps its own
    expect(readFileSync(target.passwdPath, "utf8").split("\n").filter((l) => l.normalize("NFC").startsWith(`${nfc}:`)).length).toBe(1);
    for (const bad of ["/etc/passwd@example.com", "%u@example.com", "*@example.com", "a*admin@example.com"]) expect(passwdHas(bad)).toBe(false);
    await userLogin(target, "imp3@example.com", "first-pw");
    await userLogin(target, "imp1@example.com", "Imported-pw-1");
  });

  test("the first-login socket under hostile clients: malformed, oversized, a connection flood; it keeps answering", async () => {
    const ask = async (raw: string | Buffer): Promise<{ reply: string; closed: boolean }> => {
      let reply = "";
      let closed = false;
      const conn = await Bun.connect({ unix: lab.socket, socket: { data: (_s, b) => void (reply += Buffer.from(b).toString()), close: () => void (closed = true) } });
      conn.write(raw);
      await waitFor(() => /^\d+:.*,$/s.test(reply) || closed, 5000, "an answer");
      conn.end();
      return { reply, closed };
    };
    const ns = (s: string) => `${Buffer.byteLength(s)}:${s},`;
    expect((await ask(ns("check\x00stranger@nowhere.example\x00pw\x00192.0.2.9"))).reply).toBe(ns("NO domain nowhere.example is not configured"));
    expect((await ask(ns("check\x00only-two-fields"))).reply).toBe(ns("TEMP malformed request: expected 4 NUL-separated fields, got 2"));
    expect((await ask(ns("lookup\x00../../etc/passwd@example.com\x00\x00"))).reply).toMatch(/^\d+:NO .*not a valid user address/);
    // a 10 KB password with CR/LF: refused by size, never echoed, never logged
    const secret = `Sekr1t\r\n${"z".repeat(10_000)}`;
    const big = await ask(ns(`check\x00a@example.com\x00${secret}\x00`));
    expect(big.reply).toMatch(/^\d+:TEMP request of \d+ bytes is longer than 4096,$/);
    expect(big.closed).toBe(true);
    // more connections than the cap: the extra ones are told so and closed; then it answers again
    const idle = await Promise.all(Array.from({ length: 260 }, () => Bun.connect({ unix: lab.socket, socket: { data: () => {} } })));
    const over = await ask(ns("check\x00x@example.com\x00pw\x00"));
    expect(over.reply).toBe(ns("TEMP too many connections (256)"));
    for (const c of idle) c.end();
    await Bun.sleep(200);
    expect((await ask(ns("check\x00stranger@nowhere.example\x00pw\x00"))).reply).toBe(ns("NO domain nowhere.example is not configured"));
    expect(d.proc.exitCode).toBeNull();
    expect(d.output()).not.toContain("Sekr1t");
  });

  test("passwords appear nowhere: logs, state, status, JSON, and files in clear", async () => {
    await d.stop();
    const secrets = [...OLD_USERS.map(pw), "not-the-old-password", "Imported-pw-1", target.master.password];
    const texts: [string, string][] = [
      ["daemon output", d.output()],
      ["dovecot log", readFileSync(target.logPath, "utf8")],
      ["status", (await runCli(home, ["status", "--json"])).stdout],
    ];
    const walk = (dir: string) => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else texts.push([p, readFileSync(p, "latin1")]);
      }
    };
    walk(home);
    for (const [where, text] of texts) for (const s of secrets) expect({ where, leaks: text.includes(s) }).toEqual({ where, leaks: false });
  });
});
