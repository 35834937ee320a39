// One message the old server cannot read (a maildir file with mode 000: Dovecot drops the
// connection whenever it is fetched) must not block its folder forever: the others are
// copied, that one is skipped with the reason, and once it is readable again the next run
// copies it. Real Dovecot on both sides.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { expectSameMail } from "./support/compare.ts";
import { migrateJson, startHarness, type Harness } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed } from "./support/mail.ts";

const U = "alice@example.com";
let h: Harness;
let bad: string;

beforeAll(async () => {
  h = await startHarness();
  await seed(h.old, U, [{ path: "Work" }], [
    ...Array.from({ length: 30 }, (_, i) => ({ folder: "INBOX", raw: makeMessage(i) })),
    ...Array.from({ length: 5 }, (_, i) => ({ folder: "Work", raw: makeMessage(100 + i) })),
  ]);
  const dir = join(h.old.maildir(U), "new");
  bad = join(dir, readdirSync(dir).sort()[10]!);
  chmodSync(bad, 0);
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

test("the unreadable message is skipped with the reason, every other one is copied; fixed, it is copied on the next run", async () => {
  const r = await migrateJson(h.home, U);
  expect({ code: r.code, status: r.report.status, messages: r.report.messages }).toEqual({ code: 3, status: "partial", messages: 34 });
  expect(r.report.skipped).toEqual([{ folder: "INBOX", uid: expect.any(Number), code: "UNREADABLE", reason: expect.stringContaining("drops the connection whenever this message is fetched") }]);
  const target = await digestMailbox(h.target, U);
  expect(target.get("INBOX")!.length).toBe(29);
  expect(target.get("Work")!.length).toBe(5);
  chmodSync(bad, 0o600);
  const again = await migrateJson(h.home, U);
  expect({ status: again.report.status, messages: again.report.messages, skipped: again.report.skipped }).toEqual({ status: "done", messages: 1, skipped: [] });
  expectSameMail(await digestMailbox(h.old, U), await digestMailbox(h.target, U));
});
