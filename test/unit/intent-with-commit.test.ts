// A batch's commit also writes the next batch's intent (one state write per batch, not two);
// the crash matrix (engine-crash.test.ts) proves a kill at any write still ends exact. Here:
// when that intent may stand for the next APPEND, that it halves the writes, and that a run
// stopped between batches leaves no intent behind.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configSchema } from "../../src/config/schema.ts";
import { intentStillFits } from "../../src/migrate/copy-folder.ts";
import { migrateUser } from "../../src/migrate/migrate-user.ts";
import { AccountStateStore } from "../../src/store/account-state.ts";
import { TIMEOUTS } from "../../src/timeouts.ts";
import { MemoryMailbox, memoryOpener } from "../support/memory-store.ts";

const USER = "ada@example.com";
const config = configSchema.parse({ domains: { "example.com": { migration: { enabled: true, parallelFolders: 1, old: { host: "old.example" } } } } });
const LIMITS = { maxMessages: 4, maxBytes: 1 << 20, largeMessageBytes: 1 << 20 };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function home(): string {
  const d = mkdtempSync(join(tmpdir(), "am-intent-"));
  dirs.push(d);
  return d;
}

function mailbox(n: number): MemoryMailbox {
  const old = new MemoryMailbox();
  for (let i = 1; i <= n; i++) old.add("INBOX", `From: a${i}@example.org\r\nSubject: m${i}\r\n\r\nbody ${i}\r\n`, [], new Date(Date.UTC(2020, 0, i)));
  return old;
}

/** A new server has its INBOX. */
function newServer(): MemoryMailbox {
  const t = new MemoryMailbox();
  t.folder("INBOX", 7000);
  return t;
}

/** State writes of one first run over `n` messages. */
async function writesFor(n: number): Promise<number> {
  const original = AccountStateStore.prototype.update;
  let writes = 0;
  AccountStateStore.prototype.update = function (change) {
    writes++;
    return original.call(this, change);
  };
  try {
    const target = newServer();
    const r = await migrateUser({ home: home(), config, user: USER, opener: memoryOpener(mailbox(n), target), limits: LIMITS });
    expect(r.status).toBe("done");
    expect(target.folders.get("INBOX")?.messages.length).toBe(n);
  } finally {
    AccountStateStore.prototype.update = original;
  }
  return writes;
}

describe("the next batch's intent written with this batch's commit", () => {
  test("it stands for the next APPEND only for the same UIDs and only while fresh", () => {
    const p = { uids: [5, 6, 7], targetUidNext: 10, targetUidValidity: 1, at: 1_000 };
    expect(intentStillFits(p, [5, 6, 7], 1_000)).toBe(true);
    expect(intentStillFits(p, [5, 6, 7], 1_000 + TIMEOUTS.intentReuseMs)).toBe(true);
    // written too long before the APPEND: the late-commit wait would count from too early
    expect(intentStillFits(p, [5, 6, 7], 1_001 + TIMEOUTS.intentReuseMs)).toBe(false);
    expect(intentStillFits(p, [5, 6], 1_000)).toBe(false);
    expect(intentStillFits(p, [5, 6, 8], 1_000)).toBe(false);
    // an intent from a state written before intents had a time
    expect(intentStillFits({ uids: [5, 6, 7], targetUidNext: 10, targetUidValidity: 1 }, [5, 6, 7], 1_000)).toBe(false);
  });

  test("each further batch costs one state write, not two", async () => {
    // 5 batches of 4, then 10: the fixed writes (folder records, the account's outcome) cancel out
    const five = await writesFor(20);
    const ten = await writesFor(40);
    expect(ten - five).toBe(5);
  });

  test("a run stopped between two batches leaves no intent for the batch it did not send", async () => {
    const h = home();
    const target = newServer();
    const stop = new AbortController();
    let appends = 0;
    target.onAppend = (phase) => {
      if (phase === "after" && ++appends === 2) stop.abort();
    };
    await migrateUser({ home: h, config, user: USER, opener: memoryOpener(mailbox(20), target), limits: LIMITS, signal: stop.signal });
    const copied = target.folders.get("INBOX")?.messages.length ?? 0;
    expect(copied).toBe(8);
    const state = await AccountStateStore.open(h, USER);
    try {
      expect(state.folder("INBOX")?.lastUid).toBe(8);
      expect(state.folder("INBOX")?.pending).toBeUndefined();
    } finally {
      state.close();
    }
  });
});
