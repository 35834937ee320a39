// The order a run copies its folders in (migrate-user.ts, largestFirst in batches.ts): the
// most UIDs ahead of the watermark first, so that a large folder listed last does not start
// after all the others. Through migrateUser with one folder worker on in-memory stores.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configSchema } from "../../src/config/schema.ts";
import { migrateUser } from "../../src/migrate/migrate-user.ts";
import { MemoryMailbox, memoryOpener } from "../support/memory-store.ts";

const USER = "ada@example.com";
const config = configSchema.parse({ domains: { "example.com": { migration: { enabled: true, parallelFolders: 1, old: { host: "old.example" } } } } });
const LIMITS = { maxMessages: 4, maxBytes: 1 << 20, largeMessageBytes: 1 << 20 };
const home = mkdtempSync(join(tmpdir(), "am-order-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

function add(box: MemoryMailbox, folder: string, n: number, from: number): void {
  for (let i = from; i < from + n; i++) box.add(folder, `From: a${i}@example.org\r\nSubject: m${i}\r\n\r\nbody ${i}\r\n`, [], new Date(Date.UTC(2020, 0, 1 + (i % 28))));
}

async function order(old: MemoryMailbox, target: MemoryMailbox): Promise<string[]> {
  const started: string[] = [];
  const r = await migrateUser({ home, config, user: USER, opener: memoryOpener(old, target), limits: LIMITS, onProgress: (e) => e.type === "folder" && started.push(e.folder) });
  expect(r.status).toBe("done");
  return started;
}

test("the folder with the most to copy goes first, on the first run and on a later one", async () => {
  const old = new MemoryMailbox();
  add(old, "INBOX", 2, 1);
  add(old, "Archive", 9, 100);
  add(old, "Sent", 4, 200);
  const target = new MemoryMailbox();
  target.folder("INBOX", 7000);
  expect(await order(old, target)).toEqual(["Archive", "Sent", "INBOX"]);
  // later: what arrived since counts, not what the folder holds
  add(old, "INBOX", 5, 300);
  add(old, "Sent", 1, 400);
  expect(await order(old, target)).toEqual(["INBOX", "Sent"]);
  expect(target.folders.get("INBOX")?.messages.length).toBe(7);
  expect(target.folders.get("Archive")?.messages.length).toBe(9);
});
