// Cluster mode: account state, seats and account creation in a real PostgreSQL. A single-host
// home's migrated account is imported and a run from another node copies nothing twice; a run
// killed with kill -9 on one node is resumed exactly by another; while one node runs a user,
// another is refused by name; concurrent creations on three nodes take exactly the free seats.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateMaildir } from "../bench/mailgen.ts";
import { countAll, expectSameMail } from "./support/compare.ts";
import { waitFor } from "./support/daemon.ts";
import { migrateJson, runCli, runCliOk, spawnCli, startHarness, type Harness } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed } from "./support/mail.ts";
import { startPostgres, type Postgres } from "./support/postgres.ts";

const PASSWORD = "accounts-db-pw";
const ALICE = "alice@example.com";
const BOB = "bob@example.com";
let pg: Postgres;
let h: Harness;
let dir: string;
/** Node a: the harness's home (files first, then imported); node b: a fresh home on the same database. */
let a: string;
let b: string;

const storageKeys = (name: string) => ["storage.driver=postgres", `storage.url=postgres://automigrate@127.0.0.1:${pg.port}/automigrate`, `storage.passwordFile=${join(dir, "db.pw")}`, `node.name=${name}`];
/** Messages the database's state of `user` says were copied, over all folders. */
const copiedInDb = (user: string) => Number(pg.sql(`select coalesce(sum((f.value->>'messages')::int), 0) from automigrate_accounts, jsonb_each(doc->'folders') f where username = '${user}'`, "automigrate"));

beforeAll(async () => {
  [pg, h] = await Promise.all([startPostgres(), startHarness({ users: [ALICE, BOB] })]);
  pg.addRole("automigrate", PASSWORD);
  dir = mkdtempSync(join(tmpdir(), "automigrate-accounts-"));
  writeFileSync(join(dir, "db.pw"), PASSWORD + "\n", { mode: 0o600 });
  a = h.home;
  b = join(dir, "node-b");
  await seed(h.old, ALICE, [{ path: "Work" }], [{ folder: "INBOX", raw: makeMessage(1) }, { folder: "Work", raw: makeMessage(2) }, { folder: "Work", raw: makeMessage(3) }]);
  generateMaildir(h.old.maildir(BOB), { folders: ["INBOX", "Archive"], messages: 4000, size: (_i, r) => 3000 + Math.floor(r() * 6000) }, process.getuid?.() === 0 ? { uid: 8, gid: 8 } : undefined);
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("account state in PostgreSQL", () => {
  test("a home's migrated account is imported: another node's run finds it up to date and copies nothing twice", async () => {
    const first = await migrateJson(a, ALICE);
    expect(first.report).toMatchObject({ status: "done", messages: 3 });
    await runCliOk(a, ["config", "set", ...storageKeys("a")]);
    const imported = JSON.parse(await runCliOk(a, ["storage", "import", "--from", a, "--json"]));
    expect(imported).toMatchObject({ accounts: 1, localAccounts: 1 });
    expect(imported.notImported).not.toContain("account state");
    expect(copiedInDb(ALICE)).toBe(3);
    expect(pg.sql(`select count(*) from automigrate_local_accounts where username = '${ALICE}'`, "automigrate")).toBe("1");

    await runCliOk(b, ["config", "set", ...storageKeys("b")]);
    const again = await migrateJson(b, ALICE);
    expect(again.report).toMatchObject({ status: "done", messages: 0 });
    expectSameMail(await digestMailbox(h.old, ALICE), await digestMailbox(h.target, ALICE));
    // status on node b reads the state from the database
    const st = JSON.parse(await runCliOk(b, ["status", ALICE, "--json"]));
    expect(st.state.runs).toBe(2);
    expect(st.state.lastRun.status).toBe("done");
  });

  test("one run per user across the nodes: the second is refused with the node that holds it; kill -9, and another node resumes it exact", async () => {
    const running = spawnCli(a, ["migrate", BOB]);
    try {
      await waitFor(() => copiedInDb(BOB) > 300, 60_000, "bob's migration under way on node a");
      const refused = await runCli(b, ["migrate", BOB, "--json"]);
      expect(refused.code).toBe(1);
      expect(refused.stdout + refused.stderr).toContain(`a migration of ${BOB} is already running on node a`);
      expect(refused.stdout + refused.stderr).toContain(`pid ${running.pid}`);
      // any node's status says which node runs which user
      const status = JSON.parse(await runCliOk(b, ["status", "--json"]));
      expect(status.cluster).toMatchObject({ node: "b", running: [{ user: BOB, node: "a", pid: running.pid }] });
    } finally {
      running.kill("SIGKILL");
      await running.exited;
    }
    // killed: its row is left, but not its lock; no run is shown
    expect(JSON.parse(await runCliOk(b, ["status", "--json"])).cluster.running).toEqual([]);
    const before = copiedInDb(BOB);
    expect(before).toBeLessThan(4000);
    // the lock went with the dead process's connection: node b takes over at once
    const resumed = await migrateJson(b, BOB);
    expect(resumed.report.status).toBe("done");
    expect(resumed.report.messages).toBeLessThanOrEqual(4000 - before);
    const target = await digestMailbox(h.target, BOB);
    expect(countAll(target)).toBe(4000);
    expectSameMail(await digestMailbox(h.old, BOB), target);
    expect(pg.sql(`select count(*) from automigrate_runs`, "automigrate")).toBe("0");
  }, 180_000);

  test("seats and first creations across three nodes at once: exactly the free premium seats, one account per user", async () => {
    const c = join(dir, "node-c");
    await runCliOk(c, ["config", "set", ...storageKeys("c")]);
    const passwd = join(dir, "passwd");
    writeFileSync(passwd, "");
    await runCliOk(b, ["config", "set", "provisioning.driver=passwd-file", `provisioning.passwdFile=${passwd}`, "license.premiumSeats=7"]);
    await runCliOk(c, ["domain", "set", "example.com", "migration.premiumByLicense=true"]);
    await runCliOk(c, ["domain", "enable", "example.com"]);
    // 20 different users spread over the three nodes, and one user on all three
    const nodes = [a, b, c];
    const users = Array.from({ length: 20 }, (_, i) => `seat${i}@example.com`);
    const csvs = nodes.map((_, n) => {
      const f = join(dir, `users-${n}.csv`);
      writeFileSync(f, [...users.filter((_, i) => i % 3 === n).map((u) => `${u};pw-${u}`), "same@example.com;same-pw", ""].join("\n"));
      return f;
    });
    const runs = await Promise.all(nodes.map((home, n) => runCli(home, ["import-users", csvs[n]!, "--json"])));
    const rows = runs.flatMap((r) => {
      expect(r.code, r.stdout + r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { user: string; result: string; tier?: string }[];
    });
    const premium = rows.filter((r) => r.result === "created" && r.tier === "premium").map((r) => r.user);
    expect(premium.length).toBe(7);
    expect(JSON.parse(await runCliOk(a, ["license", "--json"]))).toEqual({ seats: 7, used: 7, available: 0 });
    expect(pg.sql("select count(*) from automigrate_seats", "automigrate")).toBe("7");
    // the user on all three nodes: created once, found created by the other two
    expect(rows.filter((r) => r.user === "same@example.com").map((r) => r.result).sort()).toEqual(["created", "exists", "exists"]);
    const lines = readFileSync(passwd, "utf8").split("\n").filter(Boolean);
    expect(lines.filter((l) => l.startsWith("same@example.com:")).length).toBe(1);
    for (const u of users) expect(lines.filter((l) => l.startsWith(`${u}:`)).length).toBe(1);
  }, 60_000);

  test("the vault: sealed with the key file every node holds; a node with another key is told so, by path, with the fix", async () => {
    const c = join(dir, "node-c");
    const d = join(dir, "node-d");
    const keyOf = (home: string) => join(home, "vault", "key");
    // b's first use of the vault (its migrate above) made b's key the cluster's
    expect(JSON.parse(await runCliOk(b, ["storage", "check", "--json"])).vaultKey).toBe("right");
    const wrong = await runCli(a, ["storage", "check", "--json"]);
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ ok: false, vaultKey: "wrong" });
    for (const home of [a, c]) {
      mkdirSync(join(home, "vault"), { recursive: true, mode: 0o700 });
      copyFileSync(keyOf(b), keyOf(home));
      chmodSync(keyOf(home), 0o600);
    }
    expect(JSON.parse(await runCliOk(a, ["storage", "check", "--json"])).vaultKey).toBe("right");

    // a password captured on node a (here imported) is used by a run on node c
    await runCliOk(b, ["domain", "set", "example.com", 'migration.old.auth={"mode":"captured"}']);
    const csv = join(dir, "alice.csv");
    writeFileSync(csv, `${ALICE};user-pw\n`);
    const created = JSON.parse((await runCli(a, ["import-users", csv, "--json"])).stdout);
    expect(created).toMatchObject([{ user: ALICE, result: "created" }]);
    const sealed = pg.sql(`select record::text from automigrate_vault where username = '${ALICE}'`, "automigrate");
    expect(sealed).not.toBe("");
    expect(sealed).not.toContain("user-pw");
    await seed(h.old, ALICE, [], [{ folder: "INBOX", raw: makeMessage(40) }]);
    const run = await migrateJson(c, ALICE);
    expect(run.report).toMatchObject({ status: "done", messages: 1 });

    // node d has a key of its own: its run needs the password and says which key is wrong
    await runCliOk(d, ["config", "set", ...storageKeys("d")]);
    const refused = await migrateJson(d, ALICE);
    expect(refused.report.status).toBe("failed");
    const text = JSON.stringify(refused.report.errors) + refused.stderr;
    expect(text).toContain(`this node's vault key (${keyOf(d)}) is not the key`);
    expect(text).toContain("storage check");
    expect(text).not.toContain("user-pw");
  }, 60_000);
});
