// Old and new servers that advertise nothing beyond IMAP4rev1 (real Dovecots with
// imap_capability = IMAP4rev1): no MULTIAPPEND, LITERAL+, SPECIAL-USE, CONDSTORE, LIST-STATUS,
// NAMESPACE, ENABLE or SASL-IR. The engine must not use what is not offered (single APPENDs
// with synchronising literals, folders by name) and still end exact, also after kill -9.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { countAll, expectSameMail } from "./support/compare.ts";
import { migrateJson, runCli, startHarness, type Harness } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed } from "./support/mail.ts";

const U = "alice@example.com";
const K = "kim@example.com";
let h: Harness;

const EIGHT_BIT = Buffer.from("From: J\xfcrgen <j@example.com>\r\nSubject: Gr\xfc\xdfe\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nK\xf6rper\r\n", "latin1");

beforeAll(async () => {
  h = await startHarness({ users: [U, K], old: { capability: "IMAP4rev1" }, target: { capability: "IMAP4rev1" } });
  const folders = [{ path: "Sent" }, { path: "Work" }, { path: "Work/2024" }];
  await seed(h.old, U, folders, [
    ...Array.from({ length: 30 }, (_, i) => ({ folder: "INBOX", raw: makeMessage(i, { bodyBytes: 200 + i * 150 }), flags: i % 3 ? ["\\Seen"] : ["$Label1"] })),
    { folder: "INBOX", raw: EIGHT_BIT, flags: ["\\Flagged"], date: new Date("2020-02-29T23:59:59Z") },
    { folder: "Sent", raw: makeMessage(100), flags: ["\\Seen"] },
    { folder: "Work/2024", raw: makeMessage(101, { bodyBytes: 200_000 }) },
  ]);
  await seed(h.old, K, [{ path: "Work" }], Array.from({ length: 60 }, (_, i) => ({ folder: i % 2 ? "INBOX" : "Work", raw: makeMessage(200 + i) })));
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

describe("servers that offer only IMAP4rev1", () => {
  test("every folder and message exact, flags, keywords, dates and 8-bit bytes; a rerun copies 0", async () => {
    const r = await migrateJson(h.home, U);
    expect({ code: r.code, status: r.report.status, messages: r.report.messages, errors: r.report.errors }).toEqual({ code: 0, status: "done", messages: 33, errors: [] });
    expectSameMail(await digestMailbox(h.old, U), await digestMailbox(h.target, U));
    expect((await migrateJson(h.home, U)).report).toMatchObject({ status: "done", messages: 0 });
  });

  test("kill -9 after an APPEND was answered, then a rerun: exact, nothing twice", async () => {
    const crashed = await runCli(h.home, ["migrate", K, "--json"], { AUTOMIGRATE_TEST_CRASH_AT: "appended:2" });
    expect(crashed.signal).toBe("SIGKILL");
    const r = await migrateJson(h.home, K);
    expect({ status: r.report.status, errors: r.report.errors }).toEqual({ status: "done", errors: [] });
    const now = await digestMailbox(h.target, K);
    expect(countAll(now)).toBe(60);
    expectSameMail(await digestMailbox(h.old, K), now);
  });
});
