// The engine against the mail-store port in memory: each server quirk and fault ends in an
// exact copy or an explicit, counted skip — never a watermark past a message that did not land.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AutomigrateError } from "../../src/errors.ts";
import { copyFolder, type CopyContext } from "../../src/migrate/copy-folder.ts";
import { AccountStateStore } from "../../src/store/account-state.ts";
import { MemoryMailbox } from "../support/memory-store.ts";

const USER = "ada@example.com";
const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function message(i: number, extra = ""): string {
  return `From: a${i}@example.org\r\nSubject: message ${i}\r\nMessage-ID: <${i}@example.org>\r\n\r\nbody ${i} ${extra}${"x".repeat(i % 7)}\r\n`;
}

async function setup(n: number) {
  const home = mkdtempSync(join(tmpdir(), "am-port-"));
  homes.push(home);
  const old = new MemoryMailbox();
  const target = new MemoryMailbox();
  old.folder("INBOX");
  target.folder("INBOX", 5000);
  for (let i = 1; i <= n; i++) old.add("INBOX", message(i), i % 2 ? ["\\Seen"] : ["\\Flagged", "$Label1"], new Date(Date.UTC(2019, 0, 1 + i)));
  const state = await AccountStateStore.open(home, USER);
  const run = async (over: Partial<CopyContext> = {}) => {
    const ctx: CopyContext = {
      user: USER,
      old: old.store(),
      appender: target.writer(),
      targetReader: async () => target.store(),
      reopenOld: async () => old.store(),
      state,
      limits: { maxMessages: 10, maxBytes: 1 << 20, largeMessageBytes: 300 },
      spoolDir: join(home, "spool"),
      ...over,
    };
    return copyFolder(ctx, { old: "INBOX", target: "INBOX", selectable: true, subscribed: true });
  };
  return { home, old, target, state, run };
}

/** Every old message on the target exactly once: bytes, flags, date. */
function expectExact(old: MemoryMailbox, target: MemoryMailbox, except: number[] = []) {
  const key = (m: { body: Buffer; flags: Set<string>; internalDate: Date }) => `${m.body.toString("hex")}|${[...m.flags].sort()}|${m.internalDate.toISOString()}`;
  const want = old.folder("INBOX").messages.filter((m) => !except.includes(m.uid)).map(key).sort();
  expect(target.folder("INBOX").messages.map(key).sort()).toEqual(want);
}

describe("the engine through the mail-store port", () => {
  test("old folders named __proto__, constructor and toString keep their state across runs: a rerun from the file copies nothing", async () => {
    const home = mkdtempSync(join(tmpdir(), "am-port-"));
    homes.push(home);
    const old = new MemoryMailbox();
    const target = new MemoryMailbox();
    const names = ["__proto__", "constructor", "toString"];
    for (const [i, name] of names.entries()) {
      old.folder(name);
      target.folder(name);
      for (let k = 1; k <= 3; k++) old.add(name, message(10 * i + k));
    }
    const copyAll = async () => {
      // a fresh read of the state file each time, as a new run does
      const state = await AccountStateStore.open(home, USER);
      let copied = 0;
      for (const name of names) {
        const ctx: CopyContext = { user: USER, old: old.store(), appender: target.writer(), targetReader: async () => target.store(), state, limits: { maxMessages: 10, maxBytes: 1 << 20, largeMessageBytes: 1 << 20 }, spoolDir: join(home, "spool") };
        copied += (await copyFolder(ctx, { old: name, target: name, selectable: true, subscribed: true })).messages;
      }
      state.close();
      return { copied, keys: Object.keys((await AccountStateStore.open(home, USER)).data.folders).sort() };
    };
    expect(await copyAll()).toEqual({ copied: 9, keys: [...names].sort() });
    expect(await copyAll()).toEqual({ copied: 0, keys: [...names].sort() });
    for (const name of names) expect(target.folder(name).messages.length).toBe(3);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("a folder copies exactly in batches (large messages spooled); a rerun copies nothing", async () => {
    const { old, target, run, home } = await setup(45);
    old.add("INBOX", message(46, "L".repeat(2000)), ["\\Answered"]);
    const first = await run();
    expect(first.messages).toBe(46);
    expect(first.skipped).toEqual([]);
    expectExact(old, target);
    expect((await run()).messages).toBe(0);
    expect(target.folder("INBOX").messages.length).toBe(46);
    // no spool file stays behind
    expect(readdirSync(join(home, "spool"))).toEqual([]);
  });

  test("no UIDNEXT in EXAMINE and no STATUS: the highest UID is used, and later mail still comes", async () => {
    const { old, target, run } = await setup(12);
    old.quirks = { noUidNext: true, noStatus: true };
    expect((await run()).messages).toBe(12);
    old.add("INBOX", message(13));
    expect((await run()).messages).toBe(1);
    expectExact(old, target);
  });

  test("a body-less FETCH answer is a counted skip, retried later, never passed silently", async () => {
    const { old, target, run, state } = await setup(20);
    old.quirks = { bodyless: new Set([7]) };
    const first = await run();
    expect(first.messages).toBe(19);
    expect(first.skipped.map((s) => s.uid)).toEqual([7]);
    expect(first.skipped[0]!.reason).toContain("without the message's body");
    expect(state.folder("INBOX")!.skipped.map((s) => s.uid)).toEqual([7]);
    expectExact(old, target, [7]);
    old.quirks = {};
    const second = await run();
    expect(second.messages).toBe(1);
    expect(state.folder("INBOX")!.skipped).toEqual([]);
    expectExact(old, target);
  });

  test("a message expunged between sizes and bodies is not a skip; one still listed but not returned is", async () => {
    const { old, target, run } = await setup(10);
    old.quirks = { vanishOnFetch: new Set([3]) };
    const r = await run();
    expect(r.skipped.map((s) => s.uid)).toEqual([3]);
    expect(r.skipped[0]!.reason).toContain("still lists it");
    // really gone now: the retry drops it from the skipped list without copying anything
    old.folder("INBOX").messages = old.folder("INBOX").messages.filter((m) => m.uid !== 3);
    old.quirks = {};
    const again = await run();
    expect(again.messages).toBe(0);
    expectExact(old, target);
  });

  test("the new server refusing one message of a batch: the others land, that one is skipped with the server's words", async () => {
    const { old, target, run } = await setup(15);
    target.quirks = { refuseContaining: "message 4\r\n" };
    const r = await run();
    expect(r.messages).toBe(14);
    expect(r.skipped).toEqual([{ folder: "INBOX", uid: 4, code: "REFUSED_BY_NEW_SERVER", reason: expect.stringContaining("the new server refused it: NO [OVERQUOTA]") }]);
    target.quirks = {};
    expect((await run()).messages).toBe(1);
    expectExact(old, target);
  });

  /** Large (spooled) messages 1, 5 and 9 with small ones between them: batches [1] [2-4] [5] [6-8] [9]. */
  async function alternating() {
    const env = await setup(0);
    for (let i = 1; i <= 9; i++) env.old.add("INBOX", message(i, i % 4 === 1 ? "L".repeat(2000) : ""));
    const events: string[] = [];
    const store = env.old.store();
    const logged = (slow = 0): CopyContext["old"] => ({
      ...store,
      bodies: async (range, limits) => {
        events.push(`fetch ${range}`);
        if (slow) await Bun.sleep(slow);
        return store.bodies(range, limits);
      },
      streamBody: async (uid, sink, limits) => {
        events.push(`spool ${uid}`);
        return store.streamBody(uid, sink, limits);
      },
    });
    return { ...env, events, logged };
  }

  test("a large message is spooled while the one before it is appended, even with a batch of small ones between them", async () => {
    const { old, target, run, events, logged } = await alternating();
    const writer = target.writer();
    const appender: CopyContext["appender"] = {
      ...writer,
      appendBatch: async (path, messages) => {
        events.push(`append ${messages.length}`);
        await Bun.sleep(30);
        const r = await writer.appendBatch(path, messages);
        events.push(`appended ${messages.length}`);
        return r;
      },
    };
    expect((await run({ old: logged(), appender })).messages).toBe(9);
    expectExact(old, target);
    // before message 1 has been appended, the small batch after it and message 5 are fetched, not more
    const before = events.slice(0, events.indexOf("appended 1"));
    expect(before).toEqual(["spool 1", "fetch 2:4", "spool 5", "append 1"]);
  });

  test("once the copy stops, no fetch waiting its turn begins", async () => {
    const { target, run, events, logged } = await alternating();
    const writer = target.writer();
    const appender: CopyContext["appender"] = {
      ...writer,
      appendBatch: async () => {
        throw new AutomigrateError("the new server is gone", { user: USER }, { code: "CONNECT", transient: true });
      },
    };
    // the small batch is still being fetched when the first APPEND fails; message 5 waits behind it
    await expect(run({ old: logged(50), appender, reopenOld: undefined })).rejects.toThrow("the new server is gone");
    await Bun.sleep(100);
    expect(events).toContain("fetch 2:4");
    expect(events).not.toContain("spool 5");
  });

  test("a message that drops the connection every time is isolated: the rest of its batch lands", async () => {
    const { old, target, run } = await setup(25);
    old.quirks = { dropOn: new Set([12]) };
    const r = await run();
    expect(r.messages).toBe(24);
    expect(r.skipped.map((s) => s.uid)).toEqual([12]);
    expect(r.skipped[0]!.reason).toContain("drops the connection");
    expectExact(old, target, [12]);
  });

  for (const noUidPlus of [false, true]) {
    test(`the connection drops after the new server stored a batch${noUidPlus ? " (no UIDPLUS)" : ""}: the rerun finds it by fingerprint, no duplicate`, async () => {
      const { old, target, run, state } = await setup(30);
      target.quirks = { dropAfterStoringBatch: 2, noUidPlus };
      await expect(run()).rejects.toThrow("closed the connection");
      // the intent of the batch in flight was kept
      expect(state.folder("INBOX")!.pending?.uids.length).toBe(10);
      expect(target.folder("INBOX").messages.length).toBe(20);
      target.quirks = { noUidPlus };
      const again = await run();
      expect(again.messages).toBe(10);
      expectExact(old, target);
      expect(state.folder("INBOX")!.messages).toBe(30);
    });
  }

  test("a new UIDVALIDITY on the old folder: everything matched again by fingerprint, nothing copied twice", async () => {
    const { old, target, run } = await setup(8);
    await run();
    old.folder("INBOX").uidValidity = 4242;
    old.add("INBOX", message(9));
    expect((await run()).messages).toBe(1);
    expectExact(old, target);
  });
});
