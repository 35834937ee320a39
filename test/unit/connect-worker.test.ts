// A folder worker opens its old and new connections at once (migrate-user.ts connectWorker):
// the two logins overlap, and whatever opened is left for the caller to close when the other
// failed. Pure promise logic: the "connections" are plain objects.
import { describe, expect, test } from "bun:test";
import { connectWorker, type WorkerConnections } from "../../src/migrate/migrate-user.ts";
import type { FolderReader, MailWriter } from "../../src/mailstore/port.ts";

const reader = { name: "old" } as unknown as FolderReader;
const writer = { name: "new" } as unknown as MailWriter;

/** An open that resolves (or rejects) only when told, and records that it began. */
function pending<T>(log: string[], name: string) {
  let settle!: (v: { ok: T } | { err: Error }) => void;
  const open = () => {
    log.push(`${name} began`);
    return new Promise<T>((resolve, reject) => (settle = (v) => ("ok" in v ? resolve(v.ok) : reject(v.err))));
  };
  return { open, settle: (v: { ok: T } | { err: Error }) => settle(v) };
}

describe("connectWorker", () => {
  test("both logins begin before either has answered", async () => {
    const log: string[] = [];
    const o = pending<FolderReader>(log, "old");
    const w = pending<MailWriter>(log, "new");
    const c: WorkerConnections = {};
    const done = connectWorker(c, o.open, w.open);
    expect(log).toEqual(["old began", "new began"]);
    w.settle({ ok: writer });
    o.settle({ ok: reader });
    expect(await done).toEqual({ old: reader, appender: writer });
    expect(c).toEqual({ old: reader, appender: writer });
  });

  test("connections the worker holds are kept, not opened again", async () => {
    const log: string[] = [];
    const o = pending<FolderReader>(log, "old");
    const c: WorkerConnections = { appender: writer };
    const done = connectWorker(c, o.open, () => Promise.reject(new Error("must not be called")));
    expect(log).toEqual(["old began"]);
    o.settle({ ok: reader });
    expect(await done).toEqual({ old: reader, appender: writer });
  });

  test("the new server refusing: the old connection that opened stays in the worker's hands to be closed", async () => {
    const c: WorkerConnections = {};
    const refused = new Error("new server refused the login");
    await expect(connectWorker(c, async () => reader, async () => Promise.reject(refused))).rejects.toBe(refused);
    expect(c.old).toBe(reader);
    expect(c.appender).toBeUndefined();
  });

  test("both failing: the old server's failure is the one reported", async () => {
    const c: WorkerConnections = {};
    const oldDown = new Error("old server down");
    await expect(connectWorker(c, () => Promise.reject(oldDown), () => Promise.reject(new Error("new server down")))).rejects.toBe(oldDown);
    expect(c).toEqual({});
  });
});
