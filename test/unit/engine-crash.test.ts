// isync's run-tests.pl, for automigrate: a whole migration (several folders, large messages,
// a message the new server refuses, then new mail and a UIDVALIDITY change) through the
// mail-store port in memory, killed after EVERY state write and EVERY append — before it and
// after it — and run again: every rerun must end exact, with nothing twice. A "kill" here is
// what a kill -9 leaves: the state file as last written, the new server as last appended;
// nothing after it is written anywhere. (The kill -9 tests against real servers are in
// test/migrate-crash.test.ts.)
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configSchema } from "../../src/config/schema.ts";
import { migrateUser, type MigrationReport } from "../../src/migrate/migrate-user.ts";
import { AccountStateStore } from "../../src/store/account-state.ts";
import { MemoryMailbox, memoryOpener } from "../support/memory-store.ts";

const USER = "ada@example.com";
// one folder at a time: the same run has its events in the same order every time
const config = configSchema.parse({ domains: { "example.com": { migration: { enabled: true, parallelFolders: 1, old: { host: "old.example" } } } } });
const LIMITS = { maxMessages: 4, maxBytes: 1 << 20, largeMessageBytes: 600 };
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const msg = (i: number, extra = "") => `From: a${i}@example.org\r\nSubject: m${i}\r\nMessage-ID: <m${i}@example.org>\r\n\r\nbody ${i} ${extra}\r\n`;

/** The old mailbox: three folders, two large messages (spooled), one the new server refuses. */
function oldMailbox(): MemoryMailbox {
  const old = new MemoryMailbox();
  let n = 0;
  for (const f of ["INBOX", "Work", "Archive"]) for (let i = 0; i < 7; i++) old.add(f, msg(++n, n % 9 === 0 ? "L".repeat(900) : ""), n % 2 ? ["\\Seen"] : ["$Label1"], new Date(Date.UTC(2020, 0, n)));
  old.add("Work", msg(99, "REFUSE-ME"));
  return old;
}

function newMailbox(): MemoryMailbox {
  const t = new MemoryMailbox();
  t.folder("INBOX", 7000);
  t.quirks.refuseContaining = "REFUSE-ME";
  return t;
}

/** Every old message (but the refused one) is on the new server in its folder exactly once: bytes, flags, date. */
function expectExact(old: MemoryMailbox, target: MemoryMailbox, what: string): void {
  const key = (m: { body: Buffer; flags: Set<string>; internalDate: Date }) => `${m.body.toString("base64")}|${[...m.flags].sort()}|${m.internalDate.getTime()}`;
  for (const [path, f] of old.folders) {
    const want = f.messages.filter((m) => !m.body.includes("REFUSE-ME")).map(key).sort();
    const got = (target.folders.get(path)?.messages ?? []).map(key).sort();
    expect({ what, path, got }).toEqual({ what, path, got: want });
  }
}

/** Counts state writes and appends; the n-th one (before or after it happens) is the kill. */
function killSwitch() {
  const original = AccountStateStore.prototype.update;
  const k = { events: 0, at: Infinity, when: "before" as "before" | "after", dead: false };
  const kill = () => {
    k.dead = true;
    throw new Error("killed");
  };
  const before = (): number => {
    if (k.dead) throw new Error("killed");
    const idx = ++k.events;
    if (idx === k.at && k.when === "before") kill();
    return idx;
  };
  const after = (idx: number) => {
    if (k.dead) throw new Error("killed");
    if (idx === k.at && k.when === "after") kill();
  };
  AccountStateStore.prototype.update = function (change) {
    let idx: number;
    try {
      idx = before();
    } catch (e) {
      return Promise.reject(e);
    }
    return original.call(this, change).then(() => after(idx));
  };
  // an APPEND happens synchronously between its two calls
  let appending = 0;
  const onAppend = (phase: "before" | "after") => (phase === "before" ? void (appending = before()) : after(appending));
  return { k, onAppend, restore: () => (AccountStateStore.prototype.update = original) };
}

async function run(home: string, old: MemoryMailbox, target: MemoryMailbox): Promise<MigrationReport | "killed"> {
  try {
    const r = await migrateUser({ home, config, user: USER, opener: memoryOpener(old, target), limits: LIMITS });
    return r;
  } catch {
    return "killed";
  }
}

/**
 * From a starting point (a home directory and the two mailboxes), the run `step` is killed at
 * each of its events in turn, then run again undisturbed: each must end exact.
 */
async function sweep(label: string, start: { home: string; old: MemoryMailbox; target: MemoryMailbox }): Promise<number> {
  // how many events an undisturbed run has
  const probe = killSwitch();
  const dry = { home: mkdtempSync(join(tmpdir(), "am-crash-")), target: start.target.clone() };
  dirs.push(dry.home);
  cpSync(start.home, dry.home, { recursive: true });
  dry.target.onAppend = probe.onAppend;
  await run(dry.home, start.old.clone(), dry.target);
  probe.restore();
  const total = probe.k.events;
  expect(total).toBeGreaterThan(10);
  for (let at = 1; at <= total; at++) {
    for (const when of ["before", "after"] as const) {
      const home = mkdtempSync(join(tmpdir(), "am-crash-"));
      dirs.push(home);
      cpSync(start.home, home, { recursive: true });
      const old = start.old.clone();
      const target = start.target.clone();
      const ks = killSwitch();
      ks.k.at = at;
      ks.k.when = when;
      target.onAppend = ks.onAppend;
      try {
        await run(home, old, target);
      } finally {
        ks.restore();
        target.onAppend = undefined;
      }
      expect({ label, at, when, killed: ks.k.dead }).toEqual({ label, at, when, killed: true });
      // the next run, undisturbed, ends exact (the refused message stays skipped, coded)
      const again = await run(home, old, target);
      expect(again).not.toBe("killed");
      const r = again as MigrationReport;
      expect({ label, at, when, status: r.status, skipped: r.skipped.map((s) => s.code) }).toEqual({ label, at, when, status: "partial", skipped: ["REFUSED_BY_NEW_SERVER"] });
      expectExact(old, target, `${label}, killed ${when} event ${at}`);
      rmSync(home, { recursive: true, force: true });
    }
  }
  return total;
}

describe("a migration killed after every state write and every append, then run again", () => {
  test("the first run: every kill ends exact after the rerun, nothing twice", async () => {
    const home = mkdtempSync(join(tmpdir(), "am-crash-"));
    dirs.push(home);
    const events = await sweep("first run", { home, old: oldMailbox(), target: newMailbox() });
    expect(events).toBeGreaterThan(20);
  }, 120_000);

  test("an incremental run with new mail and a UIDVALIDITY change: every kill ends exact after the rerun", async () => {
    const home = mkdtempSync(join(tmpdir(), "am-crash-"));
    dirs.push(home);
    const old = oldMailbox();
    const target = newMailbox();
    expect((await run(home, old, target)) as MigrationReport).toMatchObject({ status: "partial" });
    // new mail, and Work renumbered under a new UIDVALIDITY (a restored or rebuilt folder)
    old.add("INBOX", msg(200), ["\\Flagged"]);
    old.add("Archive", msg(201, "L".repeat(900)));
    const work = old.folders.get("Work")!;
    work.uidValidity += 100;
    work.messages.forEach((m, i) => (m.uid = i + 1));
    work.uidNext = work.messages.length + 1;
    old.add("Work", msg(202));
    await sweep("incremental run", { home, old, target });
  }, 120_000);
});
