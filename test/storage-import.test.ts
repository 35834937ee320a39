// `storage import` of a single-host home with 1,000 accounts, a paused queue and failed jobs
// into a real PostgreSQL, from the built entry: the counts reported are the rows written,
// `status` on the node (its daemon stopped) reads the queue from the database, a second
// import is refused unless --replace, and a job the home's daemon was running is queued.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accountFileName } from "../src/store/account-state.ts";
import { pausedQueue } from "./support/daemon.ts";
import { runCli, runCliOk } from "./support/harness.ts";
import { startPostgres, type Postgres } from "./support/postgres.ts";

const PASSWORD = "import-db-pw";
const N = 1000;
const users = Array.from({ length: N }, (_, i) => `user${String(i).padStart(4, "0")}@example.com`);
let pg: Postgres;
let dir: string;
let from: string;
let node: string;

beforeAll(async () => {
  pg = await startPostgres();
  pg.addRole("automigrate", PASSWORD);
  dir = mkdtempSync(join(tmpdir(), "automigrate-import-"));
  writeFileSync(join(dir, "db.pw"), PASSWORD + "\n", { mode: 0o600 });
  writeFileSync(join(dir, "old.pw"), "x\n", { mode: 0o600 });
  from = join(dir, "single-host");
  await runCliOk(from, ["domain", "add", "example.com", "migration.old.host=127.0.0.1", "migration.old.imapPort=1", "migration.old.imapTls=none", "migration.old.auth.mode=master", "migration.old.auth.user=admin", `migration.old.auth.passwordFile=${join(dir, "old.pw")}`]);
  // 1,000 accounts migrated by the single host: each with its folders' watermarks and a last run
  const accounts = join(from, "state", "accounts");
  mkdirSync(accounts, { recursive: true });
  for (const [i, user] of users.entries()) {
    writeFileSync(
      join(accounts, accountFileName(user)),
      JSON.stringify({
        version: 1,
        user,
        folders: { INBOX: { target: "INBOX", uidValidity: 7, lastUid: 10 + i, messages: 10 + i, bytes: 1000 * (10 + i) }, Sent: { target: "Sent", uidValidity: 8, lastUid: 3, messages: 3, bytes: 3000 } },
        runs: 1,
        lastRun: { status: "done", startedAt: "2026-12-01T10:00:00.000Z", finishedAt: "2026-12-01T10:00:05.000Z", messages: 13 + i, bytes: 1000 * (13 + i), errors: [] },
      }),
    );
  }
  // its daemon's queue: 300 queued (paused), one that was running when it stopped, 5 failed
  pausedQueue(from, users.slice(0, 300));
  writeFileSync(join(from, "state", "queue", accountFileName(users[300]!)), JSON.stringify({ user: users[300], domain: "example.com", oldServer: "127.0.0.1:1", reason: "login", priority: 0, state: "running", attempts: 0, enqueuedAt: Date.now() }));
  mkdirSync(join(from, "state", "failed"), { recursive: true });
  for (const user of users.slice(995)) {
    writeFileSync(join(from, "state", "failed", accountFileName(user)), JSON.stringify({ user, domain: "example.com", oldServer: "127.0.0.1:1", reason: "login", priority: 0, state: "queued", attempts: 6, enqueuedAt: Date.now(), lastError: "the old server refused the login", lastErrorCode: "LOGIN_REFUSED", failedAt: Date.now() }));
  }
  node = join(dir, "node");
  await runCliOk(node, ["config", "set", "storage.driver=postgres", `storage.url=postgres://automigrate@127.0.0.1:${pg.port}/automigrate`, `storage.passwordFile=${join(dir, "db.pw")}`, "node.name=n1"]);
}, 60_000);

afterAll(async () => {
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const q = (sql: string) => pg.sql(sql, "automigrate");

describe("storage import of a home with 1,000 accounts", () => {
  test("settings, account states, queue, failed jobs and pause flags, counted as written", async () => {
    const r = JSON.parse(await runCliOk(node, ["storage", "import", "--from", from, "--json"]));
    expect(r).toMatchObject({ domains: 1, accounts: N, jobs: 301, failedJobs: 5, replaced: false });
    expect(q("select count(*) from automigrate_accounts")).toBe(String(N));
    expect(q(`select (doc->'folders'->'INBOX'->>'lastUid') from automigrate_accounts where username = '${users[999]}'`)).toBe("1009");
    expect(q("select count(*) from automigrate_jobs where state = 'queued'")).toBe("301");
    expect(q("select count(*) from automigrate_jobs where state = 'running'")).toBe("0");
    expect(q("select count(*) from automigrate_failed")).toBe("5");
    expect(q("select paused->>'all' from automigrate_queue_state")).toBe("true");
  });

  test("status on the node, its daemon stopped, reads the queue from the database", async () => {
    const st = JSON.parse(await runCliOk(node, ["status", "--json"]));
    expect(st.daemon).toBe("not running");
    expect(st.jobs.length).toBe(301);
    expect(st.paused.all).toBe(true);
    expect(st.failed.map((f: { user: string }) => f.user).sort()).toEqual(users.slice(995));
    expect(st.accounts.length).toBe(N);
    const one = JSON.parse(await runCliOk(node, ["status", users[997]!, "--json"]));
    expect(one.failed).toMatchObject({ user: users[997], lastErrorCode: "LOGIN_REFUSED" });
  });

  test("a second import is refused and changes nothing; with --replace it overwrites", async () => {
    const again = await runCli(node, ["storage", "import", "--from", from, "--json"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already holds settings");
    expect(again.stderr).toContain(`${N} account states`);
    expect(again.stderr).toContain("--replace");
    const replaced = JSON.parse(await runCliOk(node, ["storage", "import", "--from", from, "--replace", "--json"]));
    expect(replaced).toMatchObject({ accounts: N, jobs: 301, failedJobs: 5, replaced: true });
    expect(q("select count(*) from automigrate_jobs")).toBe("301");
  });

  test("a job row that does not read as a job (edited by hand) is named with the fix, never read as something else", async () => {
    q(`insert into automigrate_jobs (username, domain, old_server, state, priority, enqueued_at, doc) values ('broken@example.com', 'example.com', 'x', 'queued', 0, 0, '{"user": "broken@example.com", "state": "stuck"}')`);
    const r = await runCli(node, ["status", "--json"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("the queue's job row of broken@example.com is invalid");
    expect(r.stderr).toContain("delete from automigrate_jobs where username = 'broken@example.com'");
    q("delete from automigrate_jobs where username = 'broken@example.com'");
    expect((await runCli(node, ["status", "--json"])).code).toBe(0);
  });
});
