// Cluster mode, its first part: the shared settings in a real PostgreSQL (storage.driver
// postgres). Two node homes on one database, old and new Dovecot: a home's settings imported
// once, read and changed from either node, concurrent admins losing nothing, an invalid change
// refused whole, the schema created once by nodes starting together, the password only in its
// 0600 file, and a running daemon acting on a change made on the other node.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectSameMail } from "./support/compare.ts";
import { startDaemon, userLogin, waitFor, type DaemonProc } from "./support/daemon.ts";
import { CLI, runCli, runCliOk, shq, startHarness, type Harness } from "./support/harness.ts";
import { startTerm } from "./support/tmux.ts";
import { digestMailbox, makeMessage, seed } from "./support/mail.ts";
import { startPostgres, type Postgres } from "./support/postgres.ts";
import { SCHEMA_VERSION } from "../src/storage/postgres/schema.ts";

const PASSWORD = "s3cret-db-pw";
/** Where a node's own keys are (routing and firstLogin: their socket keys only). */
const NODE_TOP_LEVEL = ["version", "storage", "node", "logins", "metrics", "routing", "firstLogin"];
let pg: Postgres;
let h: Harness;
/** Node n1 is the harness's home (imported into the database); n2 a fresh home. */
let n1: string;
let n2: string;
let dir: string;

const dbUrl = (db = "automigrate") => `postgres://automigrate@127.0.0.1:${pg.port}/${db}`;
const version = () => Number(pg.sql("select version from automigrate_settings where id = 1", "automigrate") || 0);

/** A node home that uses the database: config.json gets only the storage keys and the node's name. */
async function nodeHome(name: string, db = "automigrate"): Promise<string> {
  const home = join(dir, name);
  await runCliOk(home, ["config", "set", "storage.driver=postgres", `storage.url=${dbUrl(db)}`, `storage.passwordFile=${join(dir, "db.pw")}`, `node.name=${name}`]);
  return home;
}

beforeAll(async () => {
  [pg, h] = await Promise.all([startPostgres(), startHarness({ users: ["alice@example.com", "bob@example.com"] })]);
  pg.addRole("automigrate", PASSWORD);
  dir = mkdtempSync(join(tmpdir(), "automigrate-nodes-"));
  writeFileSync(join(dir, "db.pw"), PASSWORD + "\n", { mode: 0o600 });
  n1 = h.home;
  await seed(h.old, "alice@example.com", [{ path: "Work" }], [{ folder: "INBOX", raw: makeMessage(1) }, { folder: "Work", raw: makeMessage(2) }]);
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("settings in PostgreSQL", () => {
  test("a URL with a password in it is refused, pointing at storage.passwordFile", async () => {
    const r = await runCli(join(dir, "bad-url"), ["config", "set", "storage.driver=postgres", `storage.url=postgres://automigrate:${PASSWORD}@127.0.0.1:${pg.port}/automigrate`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("storage.url");
    expect(r.stderr).toContain("storage.passwordFile");
    expect(r.stderr).not.toContain(PASSWORD);
  });

  test("a home with settings of its own must be imported first; import copies them and leaves config.json with the node's keys", async () => {
    const before = JSON.parse(readFileSync(join(n1, "config.json"), "utf8"));
    await runCliOk(n1, ["config", "set", "storage.driver=postgres", `storage.url=${dbUrl()}`, `storage.passwordFile=${join(dir, "db.pw")}`, "node.name=n1"]);
    const refused = await runCli(n1, ["domain", "list"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("storage import --from");
    expect(refused.stderr).toContain("target");

    const imported = JSON.parse(await runCliOk(n1, ["storage", "import", "--from", n1, "--json"]));
    expect(imported).toMatchObject({ database: dbUrl(), domains: 1, replaced: false, keptAs: join(n1, "config.json.before-import") });
    expect(imported).toMatchObject({ jobs: 0, failedJobs: 0 });
    const local = JSON.parse(readFileSync(join(n1, "config.json"), "utf8"));
    expect(local).toMatchObject({ storage: { driver: "postgres" }, node: { name: "n1" } });
    expect(Object.keys(local).filter((k) => !NODE_TOP_LEVEL.includes(k))).toEqual([]);
    expect(JSON.parse(readFileSync(imported.keptAs, "utf8")).domains).toEqual(before.domains);
    // in the database, the shared half only: no node's storage keys, no password anywhere
    const doc = pg.sql("select doc::text from automigrate_settings", "automigrate");
    expect(JSON.parse(doc).domains["example.com"].migration.old.host).toBe(h.old.host);
    expect(doc).not.toContain("storage");
    expect(doc).not.toContain(PASSWORD);

    // another single-host home (here: the same settings, copied) is not imported over them
    const other = join(dir, "other-home");
    mkdirSync(other);
    copyFileSync(imported.keptAs, join(other, "config.json"));
    const again = await runCli(n1, ["storage", "import", "--from", other]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already holds settings");
    expect(again.stderr).toContain("--replace");
  });

  test("a second node reads the settings and its change reaches the first", async () => {
    n2 = await nodeHome("n2");
    expect(Object.keys(JSON.parse(readFileSync(join(n2, "config.json"), "utf8"))).filter((k) => !NODE_TOP_LEVEL.includes(k))).toEqual([]);
    const list = JSON.parse(await runCliOk(n2, ["domain", "list", "--json"]));
    expect(list.map((d: { name: string }) => d.name)).toEqual(["example.com"]);
    const v = version();
    await runCliOk(n2, ["domain", "set", "example.com", "migration.parallelFolders=3"]);
    expect(version()).toBe(v + 1);
    expect(JSON.parse(await runCliOk(n1, ["domain", "show", "example.com"])).migration.parallelFolders).toBe(3);
    // a per-node key changed on n2 stays n2's
    await runCliOk(n2, ["config", "set", `logins.0.path=${join(dir, "n2.log")}`]);
    expect(version()).toBe(v + 1);
    expect(JSON.parse(await runCliOk(n1, ["config", "get", "logins"]))).toEqual([]);
    expect(JSON.parse(await runCliOk(n2, ["config", "get", "logins"]))[0].path).toBe(join(dir, "n2.log"));
  });

  test("two admins on two nodes at once: no update is lost", async () => {
    const v = version();
    const names = Array.from({ length: 8 }, (_, i) => `d${i}.example`);
    const results = await Promise.all(names.map((d, i) => runCli(i % 2 ? n1 : n2, ["domain", "add", d, `migration.old.host=old${i}.example`])));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(await runCliOk(n1, ["domain", "list", "--json"])).map((d: { name: string }) => d.name);
    for (const d of names) expect(list).toContain(d);
    expect(version()).toBe(v + names.length);
  });

  test("an invalid change is refused whole: nothing of it is written", async () => {
    const v = version();
    const r = await runCli(n2, ["domain", "set", "example.com", "migration.parallelFolders=5", "migration.old.imapPort=99999"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("imapPort");
    expect(version()).toBe(v);
    expect(JSON.parse(await runCliOk(n1, ["domain", "show", "example.com"])).migration.parallelFolders).toBe(3);
  });

  test("the password file: another's mode is refused with the fix; a wrong password is named without showing it", async () => {
    const pw = join(dir, "db.pw");
    chmodSync(pw, 0o644);
    try {
      const r = await runCli(n2, ["domain", "list"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`chmod 600 ${pw}`);
    } finally {
      chmodSync(pw, 0o600);
    }
    const wrong = join(dir, "wrong.pw");
    writeFileSync(wrong, "not-the-password\n", { mode: 0o600 });
    const n3 = join(dir, "n3");
    await runCliOk(n3, ["config", "set", "storage.driver=postgres", `storage.url=${dbUrl()}`, `storage.passwordFile=${wrong}`]);
    const r = await runCli(n3, ["storage", "check"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("LOGIN_REFUSED");
    expect(r.stderr).toContain("storage.passwordFile");
    expect(r.stderr).not.toContain("not-the-password");
  });

  test("nodes starting at once on an empty database create the schema once", async () => {
    pg.sql('create database "fresh" owner "automigrate"');
    const homes = await Promise.all(["a", "b", "c"].map((n) => nodeHome(`fresh-${n}`, "fresh")));
    const checks = await Promise.all(homes.map((home) => runCli(home, ["storage", "check", "--json"])));
    for (const c of checks) {
      expect(c.code, c.stderr).toBe(0);
      expect(JSON.parse(c.stdout)).toMatchObject({ driver: "postgres", ok: true, schema: { version: SCHEMA_VERSION, current: SCHEMA_VERSION } });
    }
    expect(pg.sql("select count(*) from automigrate_schema", "fresh")).toBe("1");
  });
});

describe("a daemon on the shared settings", () => {
  let d: DaemonProc | undefined;
  afterAll(async () => {
    if (d?.proc.exitCode === null) await d.stop();
  });

  test("a change made on another node is acted on at once; a second daemon with the same node name is refused by name", async () => {
    await runCliOk(n1, ["config", "set", `logins.0.path=${h.target.logPath}`, "logins.0.format=dovecot"]);
    await runCliOk(n2, ["domain", "disable", "example.com"]);
    d = await startDaemon(n1);
    await waitFor(() => d!.output().includes("cluster mode: settings and queue in the database"), 10_000, "cluster mode");

    // another home that calls itself n1 too
    const twin = await nodeHome("n1");
    const second = await runCli(twin, ["daemon"]);
    expect(second.code).toBe(1);
    expect(second.stdout + second.stderr).toContain("a daemon named n1 already runs on the database");
    expect(second.stdout + second.stderr).toContain(`pid ${d.proc.pid}`);
    expect(second.stdout + second.stderr).toContain("node.name=");

    const check = JSON.parse(await runCliOk(n2, ["storage", "check", "--json"]));
    expect(check.nodes).toEqual([expect.objectContaining({ name: "n1", pid: d.proc.pid, alive: true })]);

    // enabled on n2: n1's daemon reloads from the NOTIFY, then migrates the next login
    await runCliOk(n2, ["domain", "enable", "example.com"]);
    const enabledAt = Date.now();
    const v = version();
    await waitFor(() => d!.output().includes(`settings changed in the database (version ${v})`), 5_000, "the reload");
    const line = d.output().split("\n").find((l) => l.includes(`settings changed in the database (version ${v})`) && l.includes("settings reloaded"))!;
    expect(Date.parse(JSON.parse(line).time) - enabledAt).toBeLessThan(1_000);
    await userLogin(h.target, "alice@example.com");
    // the account's state is in the database now, not in n1's home
    await waitFor(() => pg.sql("select doc->'lastRun'->>'status' from automigrate_accounts where username = 'alice@example.com'", "automigrate") === "done", 30_000, "alice migrated");
    expect(existsSync(join(n1, "state", "accounts", "alice@example.com.json"))).toBe(false);
    expectSameMail(await digestMailbox(h.old, "alice@example.com"), await digestMailbox(h.target, "alice@example.com"));

    expect(await d.stop()).toBe(0);
    expect(pg.sql("select count(*) from automigrate_nodes", "automigrate")).toBe("0");
    expect(existsSync(join(n1, "config.json"))).toBe(true);
  });
});

describe("the console in cluster mode", () => {
  test("it reads the database's settings, follows another node's change at once, and shows the nodes", async () => {
    const term = startTerm(`${shq(CLI)} --home ${shq(n2)} tui`, undefined, { cols: 120, rows: 30 });
    try {
      await term.waitFor("d0.example", 20_000);
      await term.waitFor("node n2 (0/0 nodes alive, 0 running)");
      // a domain added on another node shows up without a key pressed (NOTIFY, then a redraw)
      await runCliOk(n1, ["domain", "add", "from-n1.example"]);
      await term.waitFor("from-n1.example", 5_000);
    } finally {
      term.kill();
    }
  });
});

describe("Postfix routes from the database, no daemon in the path", () => {
  const cf = () => join(dir, "transport.pgsql.cf");
  /** Postfix's own client on the pgsql: map: exit 0 and the route, 1 for not found, other for a lookup error. */
  const postmap = (key: string) => {
    const r = Bun.spawnSync(["postmap", "-c", join(dir, "postfix"), "-q", key, `pgsql:${cf()}`], { stderr: "pipe" });
    return { code: r.exitCode, out: r.stdout.toString().trim(), err: r.stderr.toString() };
  };
  /** What the daemon's socketmap answers (routing lookup is the same function). */
  const socketmapAnswer = async (key: string) => JSON.parse(await runCliOk(n1, ["routing", "lookup", key, "--json"]));

  beforeAll(() => {
    mkdirSync(join(dir, "postfix"), { recursive: true });
    writeFileSync(join(dir, "postfix", "main.cf"), "");
    // the shipped example, pointed at the test database, with Postfix's own role that may only ask for routes
    pg.sql("create role automigrate_postfix login password 'postfix-pw'");
    pg.sql("grant execute on function automigrate_route(text) to automigrate_postfix", "automigrate");
    const hba = readFileSync(join(pg.dir, "data", "pg_hba.conf"), "utf8");
    writeFileSync(join(pg.dir, "data", "pg_hba.conf"), `host all automigrate_postfix 127.0.0.1/32 scram-sha-256\n${hba}`);
    pg.sql("select pg_reload_conf()");
    const example = readFileSync(join(import.meta.dir, "..", "examples", "postfix", "automigrate-transport.pgsql.cf"), "utf8");
    writeFileSync(cf(), example.replace("hosts = db.example.com", `hosts = inet:127.0.0.1:${pg.port}`).replace("password = CHANGE-ME", "password = postfix-pw"), { mode: 0o600 });
  });
  beforeAll(() => runCliOk(n2, ["domain", "set", "example.com", "migration.old.smtpHost=127.0.0.1", "migration.old.smtpPort=2525"]));

  test("a local account while routing.localTransport is unset: the lookup fails (Postfix defers), as the socketmap's TEMP", async () => {
    // routing.localTransport is not set yet in these settings
    expect(JSON.parse(await runCliOk(n2, ["config", "get", "routing"])).localTransport).toBeUndefined();
    expect((await socketmapAnswer("alice@example.com")).kind).toBe("temp");
    // postmap exits 1 for "not found" too, but silently; here the table reports a query error,
    // which Postfix's delivery agents treat as a temporary lookup failure (the mail is deferred)
    const got = postmap("alice@example.com");
    expect(got.code).not.toBe(0);
    expect(got.err).toContain("query error");
    expect(got.err).toContain("routing.localTransport is not set");
    expect(postmap("nobody@unknown.example").err).toBe("");
    expect(postmap("bob@example.com").out).toBe("smtp:[127.0.0.1]:2525");
  });

  test("postmap -q on the pgsql: map answers what the socketmap answers, for every kind of key", async () => {
    await runCliOk(n2, ["config", "set", "routing.localTransport=lmtp:unix:private/dovecot-lmtp"]);
    // alice was migrated by n1's daemon (published at the route switch); bob never logged in
    const keys = ["alice@example.com", "ALICE+news@Example.com", "bob@example.com", "bob+x@example.com", "someone@d0.example", "carol@unknown.example", "example.com", "@example.com", "alice@"];
    for (const key of keys) {
      const want = await socketmapAnswer(key);
      const got = postmap(key);
      if (want.kind === "found") {
        expect({ key, code: got.code, out: got.out }).toEqual({ key, code: 0, out: want.transport });
      } else {
        // not found is silent (no row, not a NULL that Postfix would warn about on every lookup)
        expect({ key, kind: want.kind, code: got.code, out: got.out, err: got.err }).toEqual({ key, kind: "notfound", code: 1, out: "", err: "" });
      }
    }
    expect(postmap("alice@example.com").out).toBe("lmtp:unix:private/dovecot-lmtp");
    expect(postmap("bob@example.com").out).toBe("smtp:[127.0.0.1]:2525");
  });

  test("Postfix's role may ask for routes and nothing else", () => {
    const asPostfix = (q: string) => Bun.spawnSync(["psql", "-h", "127.0.0.1", "-p", String(pg.port), "-U", "automigrate_postfix", "-d", "automigrate", "-tA", "-c", q], { env: { ...process.env, PGPASSWORD: "postfix-pw" }, stderr: "pipe" });
    const route = asPostfix("select automigrate_route('bob@example.com')");
    expect(route.exitCode).toBe(0);
    expect(route.stdout.toString().trim()).toBe("smtp:[127.0.0.1]:2525");
    const read = asPostfix("select doc from automigrate_settings");
    expect(read.exitCode).not.toBe(0);
    expect(read.stderr.toString()).toContain("permission denied");
  });
});
