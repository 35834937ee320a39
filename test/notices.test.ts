// Notices to users, from the built entry against real Dovecots: a "migration started" and a
// "migration completed" message put once into the user's INBOX on the new server (by APPEND),
// never twice (a rerun, a continuous pass, a kill -9 right after the APPEND), the completed one
// saying in words what did not come across; a bad template refused when set, with its line;
// shown by status and the report.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parse } from "csv-parse/sync";
import { migrateJson, runCli, runCliOk, startHarness, type Harness } from "./support/harness.ts";
import { makeMessage, seed, withClient } from "./support/mail.ts";

const STARTED = "From: IT desk <it@example.com>\nSubject: Your mailbox is moving, {user}\n\nDear {user},\n\nyour {folders} folders are being copied to the new server since {date}.\n";
const COMPLETED = "From: IT desk <it@example.com>\nSubject: Migration terminée\n\n{messages} messages in {folders} folders came across.\n{skippedList}\n";
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ users: ["alice@example.com", "bob@example.com", "carol@example.com"], domainSettings: ["migration.maxMessageBytes=1048576", "migration.continuous=true"] });
  await seed(h.old, "alice@example.com", [{ path: "Work" }], [...[1, 2, 3].map((i) => ({ folder: "INBOX", raw: makeMessage(i) })), { folder: "Work", raw: makeMessage(4) }]);
  await seed(h.old, "bob@example.com", [], [
    { folder: "INBOX", raw: makeMessage(1) },
    { folder: "INBOX", raw: makeMessage(2, { bodyBytes: 1_200_000 }) },
  ]);
  await seed(h.old, "carol@example.com", [], [1, 2].map((i) => ({ folder: "INBOX", raw: makeMessage(i) })));
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

/** The INBOX on the new server: each message's subject and Message-ID, and the notices' bodies. */
async function inbox(user: string): Promise<{ subjects: string[]; notices: string[] }> {
  return withClient(h.target, user, async (c) => {
    await c.mailboxOpen("INBOX");
    const subjects: string[] = [];
    const notices: string[] = [];
    for await (const m of c.fetch("1:*", { envelope: true, source: true })) {
      subjects.push(m.envelope?.subject ?? "");
      if (m.envelope?.messageId?.startsWith("<automigrate-notice-")) notices.push(m.source!.toString());
    }
    return { subjects, notices };
  });
}

describe("notices to users", () => {
  test("a bad template is refused when it is set, naming the key and the line; a good one is kept as written", async () => {
    const bad = await runCli(h.home, ["domain", "set", "example.com", "migration.notice.started=From: IT <it@example.com>\nSubjet Hello\n\nbody"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("migration.notice.started");
    expect(bad.stderr).toContain('line 2 ("Subjet Hello") is not a header');
    const placeholder = await runCli(h.home, ["domain", "set", "example.com", "migration.notice.started=From: a@b.c\nSubject: x\n\n{messages}"]);
    expect(placeholder.code).toBe(2);
    expect(placeholder.stderr).toContain("{messages} is not a placeholder of the started notice");
    await runCliOk(h.home, ["domain", "set", "example.com", `migration.notice.started=${STARTED}`, `migration.notice.completed=${COMPLETED}`]);
    expect(JSON.parse(await runCliOk(h.home, ["domain", "show", "example.com", "--json"])).migration.notice).toEqual({ started: STARTED, completed: COMPLETED });
  });

  test("started and completed go into the INBOX once: not again on a rerun or a continuous pass", async () => {
    const first = await migrateJson(h.home, "alice@example.com");
    expect(first.report.status).toBe("done");
    expect(first.report.notices.map((n: { kind: string; status: string }) => [n.kind, n.status])).toEqual([["started", "delivered"], ["completed", "delivered"]]);
    const after = await inbox("alice@example.com");
    // the three old messages (all copied: the notice in the empty INBOX did not hide any) and the two notices
    expect(after.subjects.sort()).toEqual(["Migration terminée", "Your mailbox is moving, alice@example.com", "message 1", "message 2", "message 3"]);
    expect(after.notices[0]).toContain("\r\n\r\nDear alice@example.com,\r\n\r\nyour 2 folders are being copied");
    expect(after.notices[1]).toContain("4 messages in 2 folders came across.\r\nEvery message came across.\r\n");
    expect(after.notices[1]).toContain("Subject: =?UTF-8?B?");
    // new mail on the old server, a continuous pass: copied, no notice again
    await seed(h.old, "alice@example.com", [], [{ folder: "INBOX", raw: makeMessage(5) }]);
    const again = await migrateJson(h.home, "alice@example.com");
    expect(again.report.messages).toBe(1);
    expect(again.report.notices).toBeUndefined();
    expect((await migrateJson(h.home, "alice@example.com")).report.notices).toBeUndefined();
    expect((await inbox("alice@example.com")).notices.length).toBe(2);
    expect((await runCliOk(h.home, ["status", "alice@example.com"]))).toMatch(/notices: started delivered \S+; completed delivered \S+/);
  });

  test("the completed notice says in words what did not come across", async () => {
    const r = await migrateJson(h.home, "bob@example.com");
    expect(r.report.status).toBe("partial");
    expect(r.report.notices.map((n: { kind: string }) => n.kind)).toEqual(["started", "completed"]);
    const { notices } = await inbox("bob@example.com");
    expect(notices[1]).toContain("1 messages in 1 folders came across.\r\n- 1 message: larger than the migration's size limit\r\n");
  });

  test("killed right after the APPEND (kill -9): the next run finds the notice by its Message-ID and does not put it in twice", async () => {
    const killed = await runCli(h.home, ["migrate", "carol@example.com"], { AUTOMIGRATE_TEST_CRASH_AT: "notice-appended" });
    expect(killed.signal).toBe("SIGKILL");
    expect((await inbox("carol@example.com")).notices.length).toBe(1);
    const r = await migrateJson(h.home, "carol@example.com");
    expect(r.report.status).toBe("done");
    expect(r.report.notices).toEqual([expect.objectContaining({ kind: "started", status: "delivered", found: true }), expect.objectContaining({ kind: "completed", status: "delivered" })]);
    const after = await inbox("carol@example.com");
    expect(after.notices.length).toBe(2);
    expect(after.subjects.filter((s) => s.startsWith("Your mailbox is moving")).length).toBe(1);
    expect(after.subjects.filter((s) => s.startsWith("message ")).sort()).toEqual(["message 1", "message 2"]);
  });

  test("the report says which notices each account got", async () => {
    const rows = parse((await runCliOk(h.home, ["report", "--format", "csv"])), { columns: true }) as Record<string, string>[];
    for (const r of rows) expect(r.notices).toMatch(/^started delivered \S+; completed delivered \S+$/);
    expect(rows.length).toBe(3);
  });
});
