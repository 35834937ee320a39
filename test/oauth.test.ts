// OAuth2 admin access to the old server (and the new one), from the built entry, against a
// local token server (test/support/oauth-server.ts: Microsoft's client credentials with a
// secret and with a certificate assertion, Google's JWT bearer grant, a token command) and a
// real Dovecot that takes the tokens over IMAP SASL (OAUTHBEARER/XOAUTH2; passdb oauth2 by
// introspection for per-user tokens, an app-role check for Microsoft's app-wide ones).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportPKCS8, generateKeyPair } from "jose";
import { expectSameMail } from "./support/compare.ts";
import { BUN, migrateJson, runCli, runCliOk, startHarness, type Harness } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed } from "./support/mail.ts";
import { startTokenServer, type TokenServer } from "./support/oauth-server.ts";
import { accountState, startDaemon, waitFor, type DaemonProc } from "./support/daemon.ts";
import { startDovecot } from "./support/dovecot.ts";

setDefaultTimeout(60_000);

const D = "example.com";
const AUTH = "migration.old.auth";
const TOKEN_COMMAND = join(import.meta.dir, "support", "oauth-token-command.ts");
const USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "heidi", "ivan", "judy", "ken", "lena"].map((u) => `${u}@${D}`);

let ts: TokenServer;
let h: Harness;
/** Everything automigrate printed, to grep for tokens at the end. */
let printed = "";

function microsoftSecret(): string[] {
  const m = ts.microsoft;
  return [`${AUTH}.mode=oauth2`, `${AUTH}.provider=microsoft`, `${AUTH}.tenant=${m.tenant}`, `${AUTH}.clientId=${m.clientId}`, `${AUTH}.clientSecretFile=${m.secretFile}`, `${AUTH}.tokenUrl=${ts.microsoftTokenUrl()}`];
}

function google(keyFile = ts.google.keyFile): string[] {
  return [`${AUTH}.mode=oauth2`, `${AUTH}.provider=google`, `${AUTH}.serviceAccountKeyFile=${keyFile}`];
}

function command(prefix: string, argv: string[]): string[] {
  return [`${prefix}.mode=oauth2`, `${prefix}.provider=command`, `${prefix}.command=${JSON.stringify(argv)}`];
}

async function configure(settings: string[]): Promise<void> {
  // a settings change starts the variant afresh: go through master first so the keys of the previous provider go
  printed += await runCliOk(h.home, ["domain", "set", D, `${AUTH}.mode=csv`]);
  printed += await runCliOk(h.home, ["domain", "set", D, ...settings]);
}

async function migrated(user: string): Promise<any> {
  const r = await migrateJson(h.home, user);
  printed += JSON.stringify(r.report) + r.stderr;
  return r;
}

/** How `user` logged in to the old server, from `since` (an offset into its log). */
function oldLoginMethods(user: string, since: number): string[] {
  return readFileSync(h.old.logPath)
    .subarray(since)
    .toString("utf8")
    .split("\n")
    .filter((l) => l.includes("imap-login: Info: Login:") && l.includes(`user=<${user}>`))
    .map((l) => /method=(\S+?),/.exec(l)?.[1] ?? "?");
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

beforeAll(async () => {
  ts = await startTokenServer();
  const oauth2 = { introspectUrl: ts.introspectUrl, appCheck: { script: join(import.meta.dir, "support", "oauth-app-checkpassword.pl"), introspectUrl: ts.appIntrospectUrl } };
  h = await startHarness({ users: USERS, old: { oauth2 }, target: { oauth2: { introspectUrl: ts.introspectUrl } } });
  for (const u of USERS) await seed(h.old, u, [{ path: "Work" }], Array.from({ length: 5 }, (_, i) => ({ folder: i % 2 ? "INBOX" : "Work", raw: makeMessage(i, { subject: `${u} ${i}` }), flags: i === 1 ? ["\\Seen"] : [] })));
}, 60_000);

afterAll(async () => {
  await h?.stop();
  await ts?.stop();
});

describe("OAuth2 access to the old server", () => {
  test("microsoft, client secret: mail exact; one app token serves every login of the run", async () => {
    const U = USERS[0]!;
    await configure(microsoftSecret());
    const before = ts.count("microsoft:ok");
    const logAt = statSync(h.old.logPath).size;
    const { code, report } = await migrated(U);
    expect(code).toBe(0);
    expect(report).toMatchObject({ user: U, status: "done", folders: 2, messages: 5 });
    // the old server saw several logins with that token, over SASL OAUTHBEARER (Dovecot offers it)
    const methods = oldLoginMethods(U, logAt);
    expect(methods.length).toBeGreaterThanOrEqual(2);
    expect(new Set(methods)).toEqual(new Set(["OAUTHBEARER"]));
    expect(ts.count("microsoft:ok") - before).toBe(1);
    expectSameMail(await digestMailbox(h.old, U), await digestMailbox(h.target, U));
  });

  test("microsoft, certificate: a client assertion signed with the app's key (x5t of its certificate)", async () => {
    const U = USERS[1]!;
    const m = ts.microsoft;
    await configure([`${AUTH}.mode=oauth2`, `${AUTH}.provider=microsoft`, `${AUTH}.tenant=${m.tenant}`, `${AUTH}.clientId=${m.clientId}`, `${AUTH}.certificateFile=${m.certificateFile}`, `${AUTH}.keyFile=${m.keyFile}`, `${AUTH}.tokenUrl=${ts.microsoftTokenUrl()}`]);
    const before = ts.count("microsoft:ok");
    const { code, report } = await migrated(U);
    expect({ code, status: report.status }).toEqual({ code: 0, status: "done" });
    expectSameMail(await digestMailbox(h.old, U), await digestMailbox(h.target, U));
    expect(ts.count("microsoft:ok") - before).toBe(1);
  });

  test("google: the JWT bearer grant, one token per user (its subject), token_uri from the key file", async () => {
    const [A, B] = [USERS[2]!, USERS[3]!];
    await configure(google());
    for (const U of [A, B]) {
      const { code, report } = await migrated(U);
      expect({ U, code, status: report.status }).toEqual({ U, code: 0, status: "done" });
      expectSameMail(await digestMailbox(h.old, U), await digestMailbox(h.target, U));
    }
    expect(ts.issuedFor.get(`user:${A}`)).toBe(1);
    expect(ts.issuedFor.get(`user:${B}`)).toBe(1);
  });

  test("a wrong key: the provider's own words, the setting to check, and test-connection tells the token from the login", async () => {
    const other = await generateKeyPair("RS256", { extractable: true });
    const genuine = JSON.parse(readFileSync(ts.google.keyFile, "utf8"));
    const wrongKey = join(h.home, "stale-key.json");
    writeFileSync(wrongKey, JSON.stringify({ ...genuine, private_key: await exportPKCS8(other.privateKey) }), { mode: 0o600 });
    await configure(google(wrongKey));
    const U = USERS[4]!;
    const r = await runCli(h.home, ["migrate", U]);
    printed += r.stdout + r.stderr;
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("the identity provider (google) refused a token for " + U + ": invalid_grant: Invalid JWT Signature.");
    expect(r.stdout).toContain(`hint: check that the user exists in the Workspace (the old login is the token's subject), that the key in domains.${D}.${AUTH}.serviceAccountKeyFile is still valid`);
    const tc = JSON.parse((await runCli(h.home, ["test-connection", D, "--user", U, "--json"])).stdout);
    const byName = Object.fromEntries(tc.checks.map((c: any) => [c.name, c]));
    expect(byName["old-imap"].status).toBe("pass");
    expect(byName["old-token"]).toMatchObject({ status: "fail" });
    expect(byName["old-token"].detail).toContain("invalid_grant");
    expect(byName["old-imap-login"]).toMatchObject({ status: "skip", detail: "no access token to log in with" });

    // a token the provider issues but the server refuses: the login is what failed
    await configure(command(AUTH, [BUN, "-e", "console.log('not-a-token-the-server-knows')"]));
    const tc2 = JSON.parse((await runCli(h.home, ["test-connection", D, "--user", U, "--json"])).stdout);
    const byName2 = Object.fromEntries(tc2.checks.map((c: any) => [c.name, c]));
    expect(byName2["old-token"].status).toBe("pass");
    expect(byName2["old-imap-login"].status).toBe("fail");
    expect(byName2["old-imap-login"].hint).toContain(`domains.${D}.${AUTH}.command`);
    // good settings: both pass (the app-wide token needs no user)
    await configure(microsoftSecret());
    const tc3 = JSON.parse((await runCli(h.home, ["test-connection", D, "--user", U, "--json"])).stdout);
    expect(tc3.checks.filter((c: any) => c.name.startsWith("old-")).map((c: any) => `${c.name} ${c.status}`)).toEqual(["old-imap pass", "old-token pass", "old-imap-login pass", "old-smtp fail"]);
    const tc4 = JSON.parse((await runCli(h.home, ["test-connection", D, "--json"])).stdout);
    expect(tc4.checks.find((c: any) => c.name === "old-token").status).toBe("pass");
  });

  test("command: a token from an admin's argv (plain or JSON); a failing command's exit and stderr are shown", async () => {
    const U = USERS[5]!;
    await configure(command(AUTH, [BUN, TOKEN_COMMAND, ts.mintUrl, "{user}", "--json"]));
    const { code, report } = await migrated(U);
    expect({ code, status: report.status }).toEqual({ code: 0, status: "done" });
    expectSameMail(await digestMailbox(h.old, U), await digestMailbox(h.target, U));
    expect(ts.issuedFor.get(`user:${U}`)).toBe(1);

    const r = await runCli(h.home, ["migrate", `unknown.person@${D}`, "--json"]);
    printed += r.stdout + r.stderr;
    expect(r.code).toBe(1);
    const failed = JSON.parse(r.stdout);
    expect(failed.errors[0].code).toBe("TOKEN_REFUSED");
    expect(failed.errors[0].message).toContain("exited 3: token command: no such user: unknown.person@example.com");
  });

  test("a server that offers only XOAUTH2 gets XOAUTH2; one that offers neither is told apart from a refused token", async () => {
    const U = USERS[11]!;
    const only = await startDovecot({ label: "old-xoauth2", users: [{ user: U, password: "user-pw" }], oauth2: { introspectUrl: ts.introspectUrl, mechanisms: "xoauth2" } });
    const none = await startDovecot({ label: "old-plain", users: [{ user: U, password: "user-pw" }] });
    try {
      await seed(only, U, [], [{ folder: "INBOX", raw: makeMessage(1, { subject: "x" }) }]);
      await configure([...google(), `migration.old.imapPort=${only.port}`]);
      const { code, report } = await migrated(U);
      expect({ code, status: report.status, messages: report.messages }).toEqual({ code: 0, status: "done", messages: 1 });
      const methods = readFileSync(only.logPath, "utf8").split("\n").filter((l) => l.includes("imap-login: Info: Login:") && l.includes(`user=<${U}>`) && !l.includes("method=PLAIN")).map((l) => /method=(\S+?),/.exec(l)?.[1]);
      // one login: the connection that listed the folders goes on to read them
      expect(methods).toEqual(["XOAUTH2"]);
      await configure([...google(), `migration.old.imapPort=${none.port}`]);
      const r = await runCli(h.home, ["migrate", U, "--json"]);
      const failed = JSON.parse(r.stdout);
      expect(failed.errors[0].code).toBe("CONFIG");
      expect(failed.errors[0].message).toContain("the server offers neither AUTH=OAUTHBEARER nor AUTH=XOAUTH2");
    } finally {
      await runCliOk(h.home, ["domain", "set", D, `migration.old.imapPort=${h.old.port}`]);
      await Promise.all([only.stop(), none.stop()]);
    }
  });

  test("the new server behind an identity provider too (target.auth.mode=oauth2)", async () => {
    const U = USERS[6]!;
    await configure(microsoftSecret());
    printed += await runCliOk(h.home, ["config", "set", ...command("target.auth", [BUN, TOKEN_COMMAND, ts.mintUrl, "{user}"])]);
    try {
      const { code, report } = await migrated(U);
      expect({ code, status: report.status }).toEqual({ code: 0, status: "done" });
      expectSameMail(await digestMailbox(h.old, U), await digestMailbox(h.target, U));
      expect(ts.issuedFor.get(`user:${U}`)).toBe(1);
    } finally {
      printed += await runCliOk(h.home, ["config", "set", "target.auth.mode=master", `target.auth.user=${h.target.master.user}`, `target.auth.passwordFile=${join(h.home, "new-master.pw")}`]);
    }
  });
});

describe("OAuth2 in the daemon", () => {
  let d: DaemonProc;
  beforeAll(async () => {
    await configure(microsoftSecret());
    printed += await runCliOk(h.home, ["domain", "enable", D]);
    d = await startDaemon(h.home);
  });
  afterAll(async () => {
    if (d?.proc.exitCode === null) await d.stop();
  });

  const done = (user: string) => waitFor(async () => (await accountState(h.home, user))?.lastRun?.status === "done", 30_000, `${user} migrated`);

  test("one app token for many users; a token the server stops taking is replaced once; a revoked app fails with AADSTS and no retry storm", async () => {
    const [a, b, c, e] = [USERS[7]!, USERS[8]!, USERS[9]!, USERS[10]!];
    const before = ts.count("microsoft:ok");
    for (const u of [a, b, c]) await d.post("/migrate", { user: u });
    for (const u of [a, b, c]) await done(u);
    expect(ts.count("microsoft:ok") - before).toBe(1);

    // the server stops taking every token issued so far (expired or revoked early): one new token, the job succeeds
    ts.expireAll();
    await d.post("/migrate", { user: e });
    await done(e);
    expect(ts.count("microsoft:ok") - before).toBe(2);
    expectSameMail(await digestMailbox(h.old, e), await digestMailbox(h.target, e));

    // the app is disabled in the tenant: each job fails for good with the provider's words
    ts.revokeApp(true);
    ts.expireAll();
    const victims = [USERS[11]!, USERS[0]!, USERS[1]!];
    for (const u of victims) await d.post("/migrate", { user: u });
    await waitFor(async () => (await d.status()).failed.filter((f: any) => victims.includes(f.user)).length === victims.length, 30_000, "the three jobs failed");
    const failed = (await d.status()).failed.filter((f: any) => victims.includes(f.user));
    for (const f of failed) {
      expect(f.lastErrorCode ?? f.code).toBe("TOKEN_REFUSED");
      expect(f.lastError).toContain("AADSTS7000112: Application '11111111-2222-3333-4444-555555555555' is disabled.");
    }
    // at most a couple of token requests while it keeps failing (the failure is remembered and paused)
    expect(ts.count("microsoft:unauthorized_client")).toBeLessThanOrEqual(2);
    ts.revokeApp(false);

    // no token anywhere: not in the home's files, the daemon's output, what the CLI printed, or any process's argv
    const haystacks = [d.output(), printed, ...filesUnder(h.home).filter((f) => statSync(f).size < 50e6).map((f) => readFileSync(f, "latin1"))];
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      try {
        haystacks.push(readFileSync(`/proc/${pid}/cmdline`, "latin1"));
      } catch {}
    }
    expect(ts.tokens.length).toBeGreaterThan(5);
    const leaked = ts.tokens.filter((t) => haystacks.some((s) => s.includes(t)));
    expect(leaked).toEqual([]);
  }, 90_000);
});
