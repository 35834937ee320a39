// Cluster mode when the database goes away: PostgreSQL restarted in the middle of a large
// migration run by the daemon (the run fails as temporary, is retried, resumes exact), and a
// login made while the database is down (queued, not lost: migrated once it is back).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateMaildir } from "../bench/mailgen.ts";
import { countAll, expectSameMail } from "./support/compare.ts";
import { startDaemon, userLogin, waitFor, type DaemonProc } from "./support/daemon.ts";
import { runCliOk, startHarness, type Harness } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed } from "./support/mail.ts";
import { startPostgres, type Postgres } from "./support/postgres.ts";

const BIG = "carol@example.com";
const LATE = "dave@example.com";
let pg: Postgres;
let h: Harness;
let dir: string;
let d: DaemonProc | undefined;

const inDb = (q: string) => {
  try {
    return pg.sql(q, "automigrate");
  } catch {
    return ""; // down
  }
};
const copied = (user: string) => Number(inDb(`select coalesce(sum((f.value->>'messages')::int), 0) from automigrate_accounts, jsonb_each(doc->'folders') f where username = '${user}'`) || 0);
const lastStatus = (user: string) => inDb(`select doc->'lastRun'->>'status' from automigrate_accounts where username = '${user}'`);

beforeAll(async () => {
  [pg, h] = await Promise.all([startPostgres(), startHarness({ users: [BIG, LATE] })]);
  pg.addRole("automigrate", "restart-pw");
  dir = mkdtempSync(join(tmpdir(), "automigrate-restart-"));
  writeFileSync(join(dir, "db.pw"), "restart-pw\n", { mode: 0o600 });
  await seed(h.old, LATE, [{ path: "Work" }], [{ folder: "INBOX", raw: makeMessage(1) }, { folder: "Work", raw: makeMessage(2) }]);
  generateMaildir(h.old.maildir(BIG), { folders: ["INBOX", "Archive"], messages: 4000, size: (_i, r) => 3000 + Math.floor(r() * 6000) }, process.getuid?.() === 0 ? { uid: 8, gid: 8 } : undefined);
  await runCliOk(h.home, ["config", "set", `logins.0.path=${h.target.logPath}`, "logins.0.format=dovecot", "workers.retryBaseSec=1", "workers.retryMaxSec=2", "storage.driver=postgres", `storage.url=postgres://automigrate@127.0.0.1:${pg.port}/automigrate`, `storage.passwordFile=${join(dir, "db.pw")}`]);
  await runCliOk(h.home, ["storage", "import", "--from", h.home]);
  await runCliOk(h.home, ["domain", "enable", "example.com"]);
  // about 10 s for carol's 24 MB: the restart lands in the middle of the run
  await runCliOk(h.home, ["domain", "set", "example.com", "migration.old.maxBytesPerSec=2500000"]);
  d = await startDaemon(h.home);
}, 120_000);

afterAll(async () => {
  if (d?.proc.exitCode === null) await d.stop();
  await h?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("PostgreSQL restarted in the middle of a run: the daemon retries and the run resumes exact", async () => {
  await userLogin(h.target, BIG);
  await waitFor(() => copied(BIG) > 300, 60_000, "carol's migration under way");
  await pg.down();
  await Bun.sleep(1500);
  await pg.up();
  expect(copied(BIG)).toBeLessThan(4000);
  await waitFor(() => lastStatus(BIG) === "done", 90_000, "carol migrated after the restart");
  const target = await digestMailbox(h.target, BIG);
  expect(countAll(target)).toBe(4000);
  expectSameMail(await digestMailbox(h.old, BIG), target);
  // the failed attempt says why, with the database's code
  expect(d!.output()).toContain('"code":"STORAGE"');
}, 180_000);

test("a login while the database is down is not lost: queued, and migrated once it is back", async () => {
  await pg.down();
  try {
    await userLogin(h.target, LATE);
    await waitFor(() => d!.output().includes(`"user":"${LATE}"`), 10_000, "the login seen");
    await Bun.sleep(2000);
  } finally {
    await pg.up();
  }
  await waitFor(() => lastStatus(LATE) === "done", 60_000, "dave migrated once the database is back");
  expectSameMail(await digestMailbox(h.old, LATE), await digestMailbox(h.target, LATE));
  expect(d!.proc.exitCode).toBeNull();
}, 120_000);
