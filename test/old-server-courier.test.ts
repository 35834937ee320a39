// A real Courier-IMAP 5.0 as the OLD server (Debian's, started by the test beside Dovecot):
// no [UIDNEXT] in its SELECT/EXAMINE reply, no MULTIAPPEND, LITERAL+, SPECIAL-USE, CONDSTORE
// or LIST-STATUS, "." separator under "INBOX.", keywords kept in courierimapkeywords, and no
// master user: credentials come from import-users (mode csv). With bare logins
// (migration.old.login={localpart}) and with full addresses. Every run is compared message
// by message with what Courier holds.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { countAll, expectSameMail } from "./support/compare.ts";
import { courierProblem, startCourier, type Courier } from "./support/courier.ts";
import { describeNeeding } from "./support/requires.ts";
import { startDovecot, type Dovecot } from "./support/dovecot.ts";
import { migrateJson, runCli, runCliOk } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed, withClient } from "./support/mail.ts";


// "INBOX.Projects.2024" on Courier is "Projects/2024" on the new Dovecot
const toTarget = (f: string) => (f === "INBOX" ? "INBOX" : f.replace(/^INBOX\./, "").replaceAll(".", "/"));

const EIGHT_BIT = Buffer.concat([Buffer.from("From: J\xfcrgen <j@example.com>\r\nTo: alice@example.com\r\nSubject: Gr\xfc\xdfe 8bit\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <8bit@example.com>\r\n\r\n", "latin1"), Buffer.from("K\xf6rper\r\n", "latin1")]);

describeNeeding("courier", courierProblem())("Courier-IMAP as the old server", () => {
  let courier: Courier;
  let target: Dovecot;
  let home: string;
  const ALICE = "alice@bare.example"; // Courier login "alice"
  const DAN = "dan@bare.example"; // Courier login "dan": the kill -9 mailbox
  const BOB = "bob@example.com"; // Courier login "bob@example.com"
  const GHOST = "ghost@bare.example"; // known to Courier's authdaemon, no maildir

  beforeAll(async () => {
    [courier, target] = await Promise.all([
      startCourier({
        label: "old",
        users: [
          { login: "alice", password: "a-pw" },
          { login: "dan", password: "d-pw" },
          { login: "bob@example.com", password: "b-pw" },
          { login: "ghost", password: "g-pw", mailbox: false },
        ],
      }),
      startDovecot({ label: "courier-new", users: [ALICE, DAN, BOB, GHOST].map((user) => ({ user, password: "new-pw" })) }),
    ]);
    await seed(courier, "alice", [{ path: "INBOX.Projects" }, { path: "INBOX.Projects.2024" }, { path: "INBOX.Archive" }], [
      { folder: "INBOX", raw: makeMessage(1), flags: ["\\Seen"] },
      { folder: "INBOX", raw: EIGHT_BIT, flags: ["\\Flagged", "$Label1"], date: new Date("2024-01-01T10:00:05Z") },
      { folder: "INBOX", raw: makeMessage(2), flags: ["\\Answered", "\\Seen", "NonJunk"], date: new Date("2020-02-29T23:59:59Z") },
      { folder: "INBOX.Projects", raw: makeMessage(3), flags: ["\\Draft"] },
      { folder: "INBOX.Projects.2024", raw: makeMessage(4, { bodyBytes: 300_000 }) },
      { folder: "INBOX.Archive", raw: makeMessage(5), flags: ["\\Seen"], date: new Date("2001-09-09T01:46:40Z") },
    ]);
    await seed(courier, "dan", [{ path: "INBOX.Work" }], [
      ...Array.from({ length: 150 }, (_, i) => ({ folder: "INBOX", raw: makeMessage(100 + i, { bodyBytes: 400 + (i % 5) * 500 }), flags: i % 2 ? ["\\Seen"] : [] })),
      ...Array.from({ length: 40 }, (_, i) => ({ folder: "INBOX.Work", raw: makeMessage(300 + i) })),
    ]);
    await seed(courier, "bob@example.com", [], [{ folder: "INBOX", raw: makeMessage(6) }]);
    home = mkdtempSync(join(tmpdir(), "automigrate-courier-home-"));
    writeFileSync(join(home, "new.pw"), target.master.password, { mode: 0o600 });
    await runCliOk(home, ["config", "set", `target.host=${target.host}`, `target.port=${target.port}`, "target.tls=none", "target.auth.mode=master", "target.auth.user=admin", `target.auth.passwordFile=${join(home, "new.pw")}`]);
    const old = [`migration.old.host=${courier.host}`, `migration.old.imapPort=${courier.port}`, "migration.old.imapTls=none", "migration.old.auth.mode=csv"];
    await runCliOk(home, ["domain", "add", "bare.example", ...old, "migration.old.login={localpart}"]);
    await runCliOk(home, ["domain", "add", "example.com", ...old]);
    for (const d of ["bare.example", "example.com"]) await runCliOk(home, ["domain", "enable", d]);
    writeFileSync(join(home, "users.csv"), `${ALICE};a-pw\n${DAN};d-pw\n${BOB};b-pw\n${GHOST};g-pw\n`);
    const imported = await runCli(home, ["import-users", join(home, "users.csv")]);
    expect(imported.stdout).toContain(`line 1: ${ALICE}: created`);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([courier?.stop(), target?.stop()]);
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test("test-connection logs in as the mapped bare name with the imported password", async () => {
    // Courier offers no AUTH=PLAIN without TLS but takes LOGIN (no LOGINDISABLED): not a failure
    const r = await runCli(home, ["test-connection", "bare.example", "--user", ALICE, "--json"]);
    const checks = Object.fromEntries(JSON.parse(r.stdout).checks.map((c: { name: string }) => [c.name, c]));
    expect(checks["old-imap"]).toMatchObject({ status: "pass" });
    expect(checks["old-imap-login"]).toMatchObject({ status: "pass", detail: expect.stringMatching(/^logged in as alice;/) });
    // the old server's SMTP is not running here: the only failure
    expect(Object.values(checks).filter((c: any) => c.status === "fail").map((c: any) => c.name)).toEqual(["old-smtp"]);
  });

  test("every folder and message byte for byte: flags, keywords, dates, 8-bit headers (no UIDNEXT in SELECT)", async () => {
    const r = await migrateJson(home, ALICE);
    expect({ code: r.code, status: r.report.status, errors: r.report.errors }).toEqual({ code: 0, status: "done", errors: [] });
    const old = await digestMailbox(courier, "alice");
    expect(countAll(old)).toBe(6);
    expect(r.report.messages).toBe(6);
    const now = await digestMailbox(target, ALICE);
    expect([...now.keys()].filter((k) => now.get(k)!.length > 0).sort()).toEqual(["Archive", "INBOX", "Projects", "Projects/2024"]);
    expectSameMail(old, now, toTarget);
  });

  test("a rerun copies nothing; new mail on Courier is copied exactly once", async () => {
    expect((await migrateJson(home, ALICE)).report).toMatchObject({ status: "done", messages: 0 });
    await seed(courier, "alice", [], [
      { folder: "INBOX.Projects", raw: makeMessage(7), flags: ["$Later"] },
      { folder: "INBOX", raw: makeMessage(8) },
    ]);
    expect((await migrateJson(home, ALICE)).report).toMatchObject({ status: "done", messages: 2 });
    expect((await migrateJson(home, ALICE)).report).toMatchObject({ status: "done", messages: 0 });
    expectSameMail(await digestMailbox(courier, "alice"), await digestMailbox(target, ALICE), toTarget);
  });

  test("a full-address Courier login (the default {user}) is copied too", async () => {
    const r = await migrateJson(home, BOB);
    expect({ code: r.code, status: r.report.status, messages: r.report.messages }).toEqual({ code: 0, status: "done", messages: 1 });
    expectSameMail(await digestMailbox(courier, "bob@example.com"), await digestMailbox(target, BOB), toTarget);
  });

  for (const point of ["intent-written:2", "appended:3"]) {
    test(`kill -9 at ${point}, then a rerun: exact, no duplicate`, async () => {
      const crashed = await runCli(home, ["migrate", DAN, "--json"], { AUTOMIGRATE_TEST_CRASH_AT: point });
      expect(crashed.signal).toBe("SIGKILL");
      const r = await migrateJson(home, DAN);
      expect({ code: r.code, status: r.report.status, errors: r.report.errors }).toEqual({ code: 0, status: "done", errors: [] });
      const old = await digestMailbox(courier, "dan");
      const now = await digestMailbox(target, DAN);
      expect(countAll(now)).toBe(190);
      expectSameMail(old, now, toTarget);
      // next round: a fresh state and a fresh target, crashed at the other point
      rmSync(join(home, "state", "accounts", `${DAN}.json`), { force: true });
      await withClient(target, DAN, async (c) => {
        for (const f of ["INBOX", "Work"]) {
          await c.mailboxOpen(f);
          await c.messageDelete("1:*");
        }
      });
    });
  }

  test("an identity Courier knows but without a mailbox fails with the reason; never DONE", async () => {
    const r = await migrateJson(home, GHOST);
    expect(r.code).not.toBe(0);
    expect(r.report.status).toBe("failed");
    expect(r.report.messages).toBe(0);
    // Courier accepts the login, then ends the session with a BYE: the reason is in the report
    expect(r.report.errors).toEqual([expect.objectContaining({ message: expect.stringContaining('the server ended the session for ghost: BYE "Temporary problem') })]);
    expect((await runCli(home, ["status", GHOST])).stdout).not.toMatch(/\bdone\b/i);
  });

  test("verify and verify --deep catch a message deleted, one added and one re-dated on the new server", async () => {
    const verify = async (...args: string[]) => {
      const r = await runCli(home, ["verify", ALICE, "--json", ...args]);
      return { code: r.code, report: JSON.parse(r.stdout) };
    };
    for (const args of [[], ["--deep"]]) expect(await verify(...args)).toMatchObject({ code: 0, report: { exact: true } });
    await withClient(target, ALICE, async (c) => {
      await c.mailboxOpen("Archive");
      await c.messageDelete("1:*"); // the only message of Archive: missing
      await c.mailboxOpen("INBOX");
      const [first] = await Array.fromAsync(c.fetch("1", { source: true, flags: true }));
      await c.messageDelete("1");
      await c.append("INBOX", first!.source!, [...first!.flags!], new Date("1999-12-31T00:00:00Z")); // same bytes, another date: altered
      await c.append("INBOX", makeMessage(99), [], new Date()); // the user's new mail: extra
    });
    const counts = await verify();
    expect(counts.code).toBe(1);
    expect(counts.report.folders.find((f: { folder: string }) => f.folder === "INBOX.Archive")).toMatchObject({ target: "Archive", old: 1, onTarget: 0, missing: 1, exact: false });
    const deep = await verify("--deep");
    expect(deep.code).toBe(1);
    const byFolder = Object.fromEntries(deep.report.folders.map((f: { folder: string }) => [f.folder, f]));
    expect(byFolder["INBOX.Archive"]).toMatchObject({ missing: 1, extra: 0, exact: false });
    expect(byFolder["INBOX"]).toMatchObject({ missing: 0, extra: 1, altered: 1, exact: false });
    expect(byFolder["INBOX.Projects"]).toMatchObject({ missing: 0, extra: 0, exact: true });
  });
});
