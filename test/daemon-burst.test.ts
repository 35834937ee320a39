// 1,000 login events over 200 users in a burst: no event lost, each user migrated once.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { appendFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { accountState, startDaemon, waitFor, type DaemonProc } from "./support/daemon.ts";
import { runCliOk, startHarness, type Harness } from "./support/harness.ts";
import { makeMessage, seed } from "./support/mail.ts";

const N = 200;
const users = Array.from({ length: N }, (_, i) => `u${i}@example.com`);
let h: Harness;
let d: DaemonProc;
let log: string;

beforeAll(async () => {
  h = await startHarness({ users: [...users, "template@example.com"] });
  await seed(h.old, "template@example.com", [{ path: "Work" }], [0, 1, 2].map((i) => ({ folder: i ? "INBOX" : "Work", raw: makeMessage(i) })));
  for (const u of users) expect(spawnSync("cp", ["-a", h.old.maildir("template@example.com"), h.old.maildir(u)]).status).toBe(0);
  log = join(h.home, "burst.jsonl");
  writeFileSync(log, "");
  await runCliOk(h.home, ["config", "set", `logins.0.path=${log}`, "logins.0.format=jsonl", "workers.total=4", "workers.perOldServer=4"]);
  await runCliOk(h.home, ["domain", "enable", "example.com"]);
  d = await startDaemon(h.home);
}, 120_000);

afterAll(async () => {
  if (d?.proc.exitCode === null) await d.stop();
  await h.stop();
});

test("1,000 logins over 200 users: every user migrated, each exactly once", async () => {
  const events = users.flatMap((u) => Array.from({ length: 5 }, () => u));
  for (let i = events.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [events[i], events[j]] = [events[j]!, events[i]!];
  }
  // written in bursts of 50 lines, as fast as the file takes them
  for (let i = 0; i < events.length; i += 50) {
    appendFileSync(log, events.slice(i, i + 50).map((u) => JSON.stringify({ time: new Date().toISOString(), user: u, service: "imap", ip: "192.0.2.10" }) + "\n").join(""));
  }
  await waitFor(async () => (await d.status()).eventsSeen === 1000, 30_000, "all 1,000 events read");
  await waitFor(async () => {
    const s = await d.status();
    return s.counts.queued + s.counts.running + s.counts.waiting === 0;
  }, 120_000, "the queue to drain");
  const states = await Promise.all(users.map((u) => accountState(h.home, u)));
  expect(states.filter((s) => s?.lastRun?.status === "done").length).toBe(N);
  expect(states.map((s) => s.runs).filter((r) => r !== 1)).toEqual([]);
  expect((await d.status()).failed).toEqual([]);
  expect(readdirSync(join(h.target.dir, "mail", "example.com")).filter((u) => u.startsWith("u")).length).toBe(N);
}, 180_000);
