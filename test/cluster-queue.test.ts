// Cluster mode's queue: three daemons (node.name n1..n3, each tailing its own login log) on one
// real PostgreSQL, against the same old and new Dovecot, from the built entry. A burst of
// logins for the same users on all three logs migrates each user once; workers.perOldServer
// holds across the nodes, as the old server itself sees it (doveadm who); a node killed with
// kill -9 mid-migration loses its job to another node, which finishes it exact; a cron
// schedule fires once per cluster; first logins on three nodes take exactly the free seats;
// pause, resume, cancel and retry act from any node.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { generateMaildir } from "../bench/mailgen.ts";
import { countAll, expectSameMail } from "./support/compare.ts";
import { startDaemon, waitFor, type DaemonProc } from "./support/daemon.ts";
import { doveadm } from "./support/dovecot.ts";
import { runCliOk, startHarness, type Harness } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed } from "./support/mail.ts";
import { startPostgres, type Postgres } from "./support/postgres.ts";
import { encodeAuthRequest, parseAuthReply, type AuthReply } from "../src/accounts/auth-protocol.ts";
import { takeNetstring } from "../src/netstring.ts";

setDefaultTimeout(180_000);

const PASSWORD = "cluster-queue-pw";
const D = "example.com";
const BURST = Array.from({ length: 24 }, (_, i) => `b${i}@${D}`);
const LIMITED = Array.from({ length: 8 }, (_, i) => `l${i}@${D}`);
const BIG = `big@${D}`;
const BIG2 = `big2@${D}`;
const NODES = ["n1", "n2", "n3"] as const;
/** First logins: 20 users of a domain whose accounts are created at their first login, for 7 premium seats, and one user on all three nodes. */
const SEATS = Array.from({ length: 20 }, (_, i) => `seat${i}@seats.example`);
const SAME = "same@seats.example";

let pg: Postgres;
let h: Harness;
let dir: string;
const homes: Record<string, string> = {};
const logs: Record<string, string> = {};
const daemons: Record<string, DaemonProc> = {};

const q = (sql: string) => pg.sql(sql, "automigrate");
/** Messages the database's state of `user` says were copied, over all folders. */
const copiedInDb = (user: string) => Number(q(`select coalesce(sum((f.value->>'messages')::int), 0) from automigrate_accounts, jsonb_each(doc->'folders') f where username = '${user}'`));
const runsInDb = (user: string) => Number(q(`select coalesce((doc->>'runs')::int, 0) from automigrate_accounts where username = '${user}'`) || 0);
const lastStatus = (user: string) => q(`select doc->'lastRun'->>'status' from automigrate_accounts where username = '${user}'`);

/** Login lines in a node's own log (the jsonl format), as Dovecot would write them. */
function login(node: string, users: string[]): void {
  appendFileSync(logs[node]!, users.map((u) => JSON.stringify({ time: new Date().toISOString(), user: u, service: "imap", ip: "192.0.2.10" }) + "\n").join(""));
}

/** The JSON log lines of every daemon, each with the node that wrote it. */
function lines(): { node: string; line: Record<string, any> }[] {
  return Object.entries(daemons).flatMap(([node, d]) =>
    d
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => ({ node, line: JSON.parse(l) })),
  );
}

const started = (user: string) => lines().filter((l) => l.line.msg === "migration started" && l.line.user === user);

async function queueEmpty(): Promise<boolean> {
  return q("select count(*) from automigrate_jobs where state <> 'scheduled'") === "0";
}

/** Users with an IMAP session on the old server now (automigrate logs in as the user through the master user). */
function usersOnOldServer(): string[] {
  const out = doveadm(h.old, ["who", "-1"]);
  return [...new Set(out.split("\n").slice(1).map((l) => l.trim().split(/\s+/)[0]!).filter((u) => u && u.includes("@")))];
}

beforeAll(async () => {
  [pg, h] = await Promise.all([startPostgres(), startHarness({ users: [...BURST, ...LIMITED, BIG, BIG2, "template@example.com", ...SEATS, SAME] })]);
  pg.addRole("automigrate", PASSWORD);
  dir = mkdtempSync(join(tmpdir(), "automigrate-cluster-queue-"));
  writeFileSync(join(dir, "db.pw"), PASSWORD + "\n", { mode: 0o600 });
  const owner = process.getuid?.() === 0 ? { uid: 8, gid: 8 } : undefined;
  await seed(h.old, "template@example.com", [{ path: "Work" }], [0, 1, 2].map((i) => ({ folder: i ? "INBOX" : "Work", raw: makeMessage(i) })));
  for (const u of BURST) expect(spawnSync("cp", ["-a", h.old.maildir("template@example.com"), h.old.maildir(u)]).status).toBe(0);
  for (const u of LIMITED) generateMaildir(h.old.maildir(u), { folders: ["INBOX", "Archive"], messages: 300, size: () => 20_000 }, owner);
  generateMaildir(h.old.maildir(BIG), { folders: ["INBOX", "Archive"], messages: 4000, size: (_i, r) => 3000 + Math.floor(r() * 6000) }, owner);
  generateMaildir(h.old.maildir(BIG2), { folders: ["INBOX", "Archive"], messages: 4000, size: (_i, r) => 3000 + Math.floor(r() * 6000) }, owner);

  const storage = (name: string) => ["storage.driver=postgres", `storage.url=postgres://automigrate@127.0.0.1:${pg.port}/automigrate`, `storage.passwordFile=${join(dir, "db.pw")}`, `node.name=${name}`];
  // n1 is the harness's home, moved into the database; n2 and n3 join it with their own homes
  homes.n1 = h.home;
  await runCliOk(h.home, ["config", "set", ...storage("n1")]);
  await runCliOk(h.home, ["storage", "import", "--from", h.home]);
  for (const n of NODES) {
    homes[n] ??= join(dir, n);
    logs[n] = join(dir, `${n}.log`);
    writeFileSync(logs[n]!, "");
    await runCliOk(homes[n]!, ["config", "set", ...(n === "n1" ? [] : storage(n)), `logins.0.path=${logs[n]}`, "logins.0.format=jsonl", `firstLogin.socket=${join(dir, `${n}.auth.sock`)}`]);
  }
  // accounts of seats.example are created at their first login (the old password checked on the old server)
  await runCliOk(homes.n2!, ["config", "set", "provisioning.driver=passwd-file", `provisioning.passwdFile=${join(dir, "passwd")}`, "license.premiumSeats=7"]);
  writeFileSync(join(dir, "passwd"), "");
  await runCliOk(homes.n3!, ["domain", "add", "seats.example", `migration.old.host=${h.old.host}`, `migration.old.imapPort=${h.old.port}`, "migration.old.imapTls=none", "migration.old.auth.mode=captured", "migration.premiumByLicense=true"]);
  await runCliOk(homes.n3!, ["domain", "enable", "seats.example"]);
  // the vault's key: one, copied to every node before the daemons start (README "Several nodes")
  const key = randomBytes(32);
  for (const n of NODES) {
    mkdirSync(join(homes[n]!, "vault"), { recursive: true, mode: 0o700 });
    writeFileSync(join(homes[n]!, "vault", "key"), key, { mode: 0o600 });
  }
  await runCliOk(homes.n2!, ["config", "set", "workers.total=4", "workers.perOldServer=6", "workers.retryBaseSec=1", "workers.retryMaxSec=2"]);
  await runCliOk(homes.n3!, ["domain", "enable", D]);
  for (const n of NODES) daemons[n] = await startDaemon(homes[n]!);
}, 240_000);

afterAll(async () => {
  if (process.env.AUTOMIGRATE_TEST_KEEP_LOGS) for (const [n, d] of Object.entries(daemons)) writeFileSync(join(process.env.AUTOMIGRATE_TEST_KEEP_LOGS, `${n}.log`), d.output());
  for (const d of Object.values(daemons)) if (d.proc.exitCode === null) await d.stop();
  await h?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One first login through a node's first-login socket, as Dovecot's checkpassword helper or Lua passdb asks it. */
function firstLogin(node: string, user: string): Promise<AuthReply | { error: string }> {
  return new Promise((resolve, reject) => {
    const c = connect(join(dir, `${node}.auth.sock`));
    let buf = Buffer.alloc(0);
    c.on("connect", () => c.write(encodeAuthRequest({ kind: "check", user, password: "user-pw", address: "192.0.2.10" })));
    c.on("data", (d) => {
      buf = Buffer.concat([buf, Buffer.from(d)]);
      const r = takeNetstring(buf);
      if ("request" in r) {
        c.end();
        resolve(parseAuthReply(r.request));
      }
    });
    c.on("error", reject);
  });
}

describe("one queue for three daemons", () => {
  test("a burst of logins for the same users on all three logs: each user migrated once, exact, the work spread over the nodes", async () => {
    // every user logs in three times on each node, in a shuffled order
    for (const n of NODES) {
      const events = BURST.flatMap((u) => [u, u, u]);
      for (let i = events.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [events[i], events[j]] = [events[j]!, events[i]!];
      }
      login(n, events);
    }
    await waitFor(() => BURST.every((u) => lastStatus(u) === "done"), 90_000, "every burst user migrated");
    await waitFor(queueEmpty, 30_000, "the queue to drain");
    // the daemons' log lines reach their output a moment later
    await waitFor(() => BURST.every((u) => started(u).length > 0), 5_000, "every start logged");
    await Bun.sleep(500);
    for (const u of BURST) {
      expect({ user: u, started: started(u).length, runs: runsInDb(u) }).toEqual({ user: u, started: 1, runs: 1 });
    }
    expectSameMail(await digestMailbox(h.old, BURST[0]!), await digestMailbox(h.target, BURST[0]!));
    expectSameMail(await digestMailbox(h.old, BURST[23]!), await digestMailbox(h.target, BURST[23]!));
    // more than one node did the work
    expect(new Set(BURST.map((u) => started(u)[0]!.node)).size).toBeGreaterThan(1);
    // status on any node shows the nodes, all alive
    const status = JSON.parse(await runCliOk(homes.n3!, ["status", "--json"]));
    expect(status.cluster.nodes.map((n: any) => [n.name, n.alive]).sort()).toEqual([["n1", true], ["n2", true], ["n3", true]]);
  });

  test("workers.perOldServer holds across the cluster, as the old server sees it", async () => {
    await runCliOk(homes.n1!, ["config", "set", "workers.perOldServer=2"]);
    await waitFor(() => NODES.every((n) => daemons[n]!.output().includes("settings changed in the database")), 5_000, "every node to reload");
    await Bun.sleep(1200);
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, usersOnOldServer().filter((u) => LIMITED.includes(u)).length);
        await Bun.sleep(30);
      }
    })();
    // each node gets logins for every user: 3 nodes × 4 workers could run all 8 at once
    for (const n of NODES) login(n, LIMITED);
    await waitFor(() => LIMITED.every((u) => lastStatus(u) === "done"), 120_000, "the limited users migrated");
    sampling = false;
    await sampler;
    // the limit was reached (the test can see a breach) and never exceeded
    expect(most).toBe(2);
    // the daemons' log lines reach their output a moment after the database says done
    await waitFor(() => LIMITED.every((u) => started(u).length > 0), 5_000, "every start logged");
    await Bun.sleep(500);
    for (const u of LIMITED) expect(started(u).length).toBe(1);
    const t = await digestMailbox(h.target, LIMITED[0]!);
    expect(countAll(t)).toBe(300);
    await runCliOk(homes.n1!, ["config", "set", "workers.perOldServer=6"]);
  });

  test("kill -9 of the node running a large migration: another node takes the job over at once and finishes it exact", async () => {
    login("n2", [BIG]);
    await waitFor(() => copiedInDb(BIG) > 300, 60_000, "the big migration under way");
    const runner = q(`select node from automigrate_jobs where username = '${BIG}'`);
    expect(NODES as readonly string[]).toContain(runner);
    await daemons[runner]!.kill9();
    const killedAt = Date.now();
    const before = copiedInDb(BIG);
    expect(before).toBeLessThan(4000);
    // the job's lease went with the killed process's connection: another node claims it
    await waitFor(() => {
      const n = q(`select node from automigrate_jobs where username = '${BIG}' and state = 'running'`);
      return n !== "" && n !== runner;
    }, 60_000, "another node to take the job over");
    const takeover = Date.now() - killedAt;
    expect(takeover).toBeLessThan(60_000);
    // the third node's status names the node that runs it now
    const heir = q(`select node from automigrate_jobs where username = '${BIG}'`);
    const third = NODES.find((n) => n !== runner && n !== heir)!;
    await waitFor(async () => (await runCliOk(homes[third]!, ["status"])).includes(`running  ${BIG}  on node ${heir}`), 10_000, "the third node's status to name the runner");
    // done: the job leaves the queue, or waits as the domain's next catch-up pass
    await waitFor(() => lastStatus(BIG) === "done" && q(`select count(*) from automigrate_jobs where username = '${BIG}' and state <> 'scheduled'`) === "0", 120_000, "the big migration finished");
    expect(started(BIG).length).toBe(2);
    const target = await digestMailbox(h.target, BIG);
    expect(countAll(target)).toBe(4000);
    expectSameMail(await digestMailbox(h.old, BIG), target);
    // the killed node comes back under its name
    daemons[runner] = await startDaemon(homes[runner]!);
  });

  test("cancel on one node stops a migration another node runs, at its next safe point", async () => {
    login("n3", [BIG2]);
    await waitFor(() => copiedInDb(BIG2) > 300, 60_000, "big2's migration under way");
    const runner = q(`select node from automigrate_jobs where username = '${BIG2}'`);
    const other = NODES.find((n) => n !== runner)!;
    const r = JSON.parse(await runCliOk(homes[other]!, ["cancel", BIG2, "--json"]));
    expect(r.stopping).toEqual([BIG2]);
    await waitFor(() => q(`select count(*) from automigrate_jobs where username = '${BIG2}'`) === "0", 20_000, "the job to leave the queue");
    await waitFor(() => lines().some((l) => l.node === runner && l.line.msg === "migration cancelled" && l.line.user === BIG2), 5_000, "the runner's log to say so");
    // what it committed stays; the rest comes with the next login, nothing twice
    const copied = copiedInDb(BIG2);
    expect(copied).toBeLessThan(4000);
    login(other, [BIG2]);
    await waitFor(() => lastStatus(BIG2) === "done" && copiedInDb(BIG2) === 4000, 120_000, "big2 finished after a new login");
    const target = await digestMailbox(h.target, BIG2);
    expect(countAll(target)).toBe(4000);
    expectSameMail(await digestMailbox(h.old, BIG2), target);
  });

  test("a cron schedule fires once per cluster, not once per node", async () => {
    const mark = Date.now();
    await runCliOk(homes.n3!, ["config", "set", "schedules.retryFailed=* * * * * *"]);
    await Bun.sleep(5_500);
    await runCliOk(homes.n3!, ["config", "set", "schedules.retryFailed=0 0 1 1 *"]);
    const fired = lines().filter((l) => l.line.msg === "scheduled retry of failed jobs" && Date.parse(l.line.time) >= mark);
    // every node's cron fired each second; one node ran each firing
    const seconds = fired.map((l) => Math.floor(Date.parse(l.line.time) / 1000));
    expect(fired.length).toBeGreaterThanOrEqual(3);
    expect(new Set(seconds).size).toBe(fired.length);
  });

  test("first logins on three nodes at once: exactly the free premium seats; one user logging in on all three is created once", async () => {
    const replies = await Promise.all([...SEATS.map((u, i) => firstLogin(NODES[i % 3]!, u)), ...NODES.map((n) => firstLogin(n, SAME))]);
    expect(replies.filter((r) => "answer" in r && r.answer === "OK").length).toBe(SEATS.length + 3);
    const lines = readFileSync(join(dir, "passwd"), "utf8").split("\n").filter(Boolean);
    for (const u of [...SEATS, SAME]) expect({ u, lines: lines.filter((l) => l.startsWith(`${u}:`)).length }).toEqual({ u, lines: 1 });
    const premium = lines.filter((l) => l.includes("userdb_automigrate_tier=premium")).length;
    expect(premium).toBe(7);
    expect(q("select count(*) from automigrate_seats")).toBe("7");
    expect(JSON.parse(await runCliOk(homes.n1!, ["license", "--json"]))).toEqual({ seats: 7, used: 7, available: 0 });
  });

  test("pause on one node holds every node; status elsewhere shows the queue; resume elsewhere releases it; cancel and retry from any node", async () => {
    await runCliOk(homes.n2!, ["pause"]);
    const u = BURST[0]!;
    const before = started(u).length;
    await runCliOk(homes.n1!, ["migrate", u, "--queue"]);
    await Bun.sleep(2_500);
    const st = JSON.parse(await runCliOk(homes.n3!, ["status", "--json"]));
    expect(st.paused.all).toBe(true);
    expect(st.jobs.map((j: any) => [j.user, j.state])).toContainEqual([u, "queued"]);
    expect(started(u).length).toBe(before);
    // cancelled on n3, gone for all
    await runCliOk(homes.n3!, ["cancel", u]);
    await waitFor(() => q(`select count(*) from automigrate_jobs where username = '${u}'`) === "0", 5_000, "the job cancelled");
    await runCliOk(homes.n1!, ["migrate", u, "--queue"]);
    await runCliOk(homes.n3!, ["resume"]);
    await waitFor(() => started(u).length === before + 1, 20_000, "the job started after resume");
    await waitFor(() => runsInDb(u) === 2, 30_000, "the second pass done");
    // a user the old server does not know fails for good; any node sees it, any node retries it
    const ghost = `ghost@${D}`;
    await runCliOk(homes.n1!, ["migrate", ghost, "--queue"]);
    await waitFor(() => q(`select count(*) from automigrate_failed where username = '${ghost}'`) === "1", 30_000, "the ghost's job failed");
    await waitFor(async () => JSON.parse(await runCliOk(homes.n2!, ["status", "--json"])).failed.some((f: any) => f.user === ghost), 5_000, "n2 to show the failure");
    const failedAt = q(`select failed_at from automigrate_failed where username = '${ghost}'`);
    expect(JSON.parse(await runCliOk(homes.n3!, ["retry", ghost, "--json"]))).toEqual({ retried: 1 });
    await waitFor(() => q(`select failed_at from automigrate_failed where username = '${ghost}'`) > failedAt, 30_000, "the retried job to run and fail again");
  });
});
