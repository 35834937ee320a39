// A real Cyrus IMAP 3.6 as the OLD server (Debian's, started by the test beside Dovecot):
// "." separator under "INBOX.", an admin acting for users by SASL PLAIN authzid, 8-bit
// headers, keywords and dates, with virtual domains (logins user@domain) and without (bare
// logins, migration.old.login={localpart}). Every run is compared message by message with
// what Cyrus holds; an identity Cyrus lets the admin act for but that has no mailbox is a
// failure, never DONE.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expectSameMail, countAll } from "./support/compare.ts";
import { cyrusProblem, startCyrus, type Cyrus } from "./support/cyrus.ts";
import { describeNeeding } from "./support/requires.ts";
import { startDovecot, type Dovecot } from "./support/dovecot.ts";
import { migrateJson, runCli, runCliOk } from "./support/harness.ts";
import { digestMailbox, seed, makeMessage } from "./support/mail.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";

const describeCyrus = describeNeeding("cyrus", cyrusProblem());

// "INBOX.Projects.2024" on Cyrus is "Projects/2024" on the new Dovecot
const toTarget = (f: string) => (f === "INBOX" ? "INBOX" : f.replace(/^INBOX\./, "").replaceAll(".", "/"));
const asServer = (c: Cyrus) => c as unknown as Dovecot;

const EIGHT_BIT = Buffer.concat([Buffer.from("From: J\xfcrgen <j@example.com>\r\nTo: alice@example.com\r\nSubject: Gr\xfc\xdfe 8bit\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <8bit@example.com>\r\n\r\n", "latin1"), Buffer.from("K\xf6rper\r\n", "latin1")]);

describeCyrus("Cyrus IMAP as the old server", () => {
  let cyrus: Cyrus;
  let bare: Cyrus;
  let target: Dovecot;
  let home: string;

  beforeAll(async () => {
    [cyrus, bare, target] = await Promise.all([
      startCyrus({ label: "virt", munge8bit: false, users: [{ user: "alice@example.com", password: "a-pw" }, { user: "bob@example.com", password: "b-pw" }, { user: "erin@example.com", password: "e-pw" }] }),
      startCyrus({ label: "bare", virtdomains: false, munge8bit: false, users: [{ user: "carol@bare.example", password: "c-pw" }] }),
      startDovecot({ label: "cyrus-new", users: ["alice@example.com", "bob@example.com", "erin@example.com", "carol@bare.example", "carol@csv.example", "ghost@example.com"].map((user) => ({ user, password: "new-pw" })) }),
    ]);
    home = mkdtempSync(join(tmpdir(), "automigrate-cyrus-home-"));
    writeFileSync(join(home, "..", `${home.split("/").pop()}.old.pw`), cyrus.master.password, { mode: 0o600 });
    const oldPw = join(home, "..", `${home.split("/").pop()}.old.pw`);
    const newPw = join(home, "..", `${home.split("/").pop()}.new.pw`);
    writeFileSync(newPw, target.master.password, { mode: 0o600 });
    await seed(asServer(cyrus), "alice@example.com", [{ path: "INBOX.Projects" }, { path: "INBOX.Projects.2024" }, { path: "INBOX.Sent Items" }], [
      { folder: "INBOX", raw: makeMessage(1), flags: ["\\Seen"] },
      { folder: "INBOX", raw: EIGHT_BIT, flags: ["\\Flagged", "$Label1"], date: new Date("2024-01-01T10:00:05Z") },
      { folder: "INBOX.Projects", raw: makeMessage(2), flags: ["\\Answered", "\\Seen"] },
      { folder: "INBOX.Projects.2024", raw: makeMessage(3, { bodyBytes: 300_000 }) },
      { folder: "INBOX.Sent Items", raw: makeMessage(4), flags: ["\\Seen"], date: new Date("2020-02-29T23:59:59Z") },
    ]);
    await seed(asServer(bare), "carol", [{ path: "INBOX.Notes" }], [
      { folder: "INBOX", raw: makeMessage(5) },
      { folder: "INBOX.Notes", raw: makeMessage(6), flags: ["\\Seen"] },
    ]);
    await runCliOk(home, ["config", "set", `target.host=${target.host}`, `target.port=${target.port}`, "target.tls=none", "target.auth.mode=master", "target.auth.user=admin", `target.auth.passwordFile=${newPw}`]);
    const master = ["migration.old.imapTls=none", "migration.old.auth.mode=master", "migration.old.auth.user=admin", "migration.old.auth.method=authzid", `migration.old.auth.passwordFile=${oldPw}`];
    await runCliOk(home, ["domain", "add", "example.com", `migration.old.host=${cyrus.host}`, `migration.old.imapPort=${cyrus.port}`, ...master]);
    await runCliOk(home, ["domain", "add", "bare.example", `migration.old.host=${bare.host}`, `migration.old.imapPort=${bare.port}`, ...master]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([cyrus?.stop(), bare?.stop(), target?.stop()]);
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test("every folder and message byte for byte, flags, keywords and dates; 8-bit headers intact", async () => {
    const r = await migrateJson(home, "alice@example.com");
    expect({ code: r.code, status: r.report.status, errors: r.report.errors }).toEqual({ code: 0, status: "done", errors: [] });
    const old = await digestMailbox(asServer(cyrus), "alice@example.com");
    expect(countAll(old)).toBe(5);
    expect(r.report.messages).toBe(5);
    // Cyrus names "Sent Items" as the Sent folder: it goes to the new server's Sent, and the report says so
    expect(r.report.renamed).toEqual([{ from: "INBOX.Sent Items", to: "Sent", reason: "special-use" }]);
    const now = await digestMailbox(target, "alice@example.com");
    expect([...now.keys()].filter((k) => now.get(k)!.length > 0).sort()).toEqual(["INBOX", "Projects", "Projects/2024", "Sent"]);
    expectSameMail(old, now, (f) => (f === "INBOX.Sent Items" ? "Sent" : toTarget(f)));
  });

  test("a rerun copies nothing; new mail on Cyrus is copied exactly once", async () => {
    expect((await migrateJson(home, "alice@example.com")).report).toMatchObject({ status: "done", messages: 0 });
    await seed(asServer(cyrus), "alice@example.com", [], [{ folder: "INBOX.Projects", raw: makeMessage(7) }]);
    expect((await migrateJson(home, "alice@example.com")).report).toMatchObject({ status: "done", messages: 1 });
    expectSameMail(await digestMailbox(asServer(cyrus), "alice@example.com"), await digestMailbox(target, "alice@example.com"), (f) => (f === "INBOX.Sent Items" ? "Sent" : toTarget(f)));
  });

  test("kill -9 in the middle of a run, then a rerun: exact, nothing twice", async () => {
    const E = "erin@example.com";
    await seed(asServer(cyrus), E, [{ path: "INBOX.Work" }], [
      ...Array.from({ length: 120 }, (_, i) => ({ folder: "INBOX", raw: makeMessage(500 + i, { bodyBytes: 300 + (i % 4) * 700 }), flags: i % 2 ? ["\\Seen"] : [] })),
      ...Array.from({ length: 30 }, (_, i) => ({ folder: "INBOX.Work", raw: makeMessage(700 + i) })),
    ]);
    const crashed = await runCli(home, ["migrate", E, "--json"], { AUTOMIGRATE_TEST_CRASH_AT: "appended:3" });
    expect(crashed.signal).toBe("SIGKILL");
    const r = await migrateJson(home, E);
    expect({ code: r.code, status: r.report.status, errors: r.report.errors }).toEqual({ code: 0, status: "done", errors: [] });
    const now = await digestMailbox(target, E);
    expect(countAll(now)).toBe(150);
    expectSameMail(await digestMailbox(asServer(cyrus), E), now, toTarget);
  });

  test("an identity without a mailbox (Cyrus lets the admin act for it) fails: never DONE with 0 messages", async () => {
    const r = await migrateJson(home, "ghost@example.com");
    expect(r.code).toBe(1);
    expect(r.report.status).toBe("failed");
    expect(JSON.stringify(r.report.errors)).toContain("NO_MAILBOX");
  });

  test("bare Cyrus logins: without the login mapping nothing is found (failed); with {localpart} everything is copied", async () => {
    const before = await migrateJson(home, "carol@bare.example");
    expect(before.report.status).toBe("failed");
    await runCliOk(home, ["domain", "set", "bare.example", "migration.old.login={localpart}"]);
    const r = await migrateJson(home, "carol@bare.example");
    expect({ code: r.code, status: r.report.status, messages: r.report.messages }).toEqual({ code: 0, status: "done", messages: 2 });
    expectSameMail(await digestMailbox(asServer(bare), "carol"), await digestMailbox(target, "carol@bare.example"), toTarget);
  });

  test("no master user (credentials imported with import-users, mode csv) and bare logins: the imported password logs in as {localpart}", async () => {
    await runCliOk(home, ["domain", "add", "csv.example", `migration.old.host=${bare.host}`, `migration.old.imapPort=${bare.port}`, "migration.old.imapTls=none", "migration.old.auth.mode=csv", "migration.old.login={localpart}"]);
    await runCliOk(home, ["domain", "enable", "csv.example"]);
    const csv = join(home, "users.csv");
    writeFileSync(csv, "carol@csv.example;c-pw\n");
    expect((await runCli(home, ["import-users", csv])).stdout).toContain("line 1: carol@csv.example: created");
    const r = await migrateJson(home, "carol@csv.example");
    expect({ code: r.code, status: r.report.status, messages: r.report.messages }).toEqual({ code: 0, status: "done", messages: 2 });
    expectSameMail(await digestMailbox(asServer(bare), "carol"), await digestMailbox(target, "carol@csv.example"), toTarget);
  });
});

// Cyrus as the NEW server: with its default munge8bit it rewrites 8-bit header bytes to "X"
// on APPEND (same size). The run must say so (ALTERED, partial), never DONE; with
// munge8bit: no the same mailbox is DONE and exact.
describeCyrus("Cyrus IMAP as the new server", () => {
  let old: Dovecot;
  let munging: Cyrus;
  let clean: Cyrus;
  let home: string;
  const U = "dave@example.com";

  beforeAll(async () => {
    [old, munging, clean] = await Promise.all([
      startDovecot({ label: "cyrus-old", users: [{ user: U, password: "old-pw" }] }),
      startCyrus({ label: "munge", users: [{ user: U, password: "x" }] }),
      startCyrus({ label: "clean", users: [{ user: U, password: "x" }], munge8bit: false }),
    ]);
    await seed(old, U, [{ path: "Projects" }], [
      { folder: "INBOX", raw: makeMessage(1) },
      { folder: "INBOX", raw: EIGHT_BIT, flags: ["\\Seen"] },
      { folder: "Projects", raw: makeMessage(2) },
    ]);
    home = mkdtempSync(join(tmpdir(), "automigrate-cyrus-new-"));
    writeFileSync(join(home, "old.pw"), old.master.password, { mode: 0o600 });
    writeFileSync(join(home, "new.pw"), munging.master.password, { mode: 0o600 });
    await runCliOk(home, ["domain", "add", "example.com", `migration.old.host=${old.host}`, `migration.old.imapPort=${old.port}`, "migration.old.imapTls=none", "migration.old.auth.mode=master", "migration.old.auth.user=admin", `migration.old.auth.passwordFile=${join(home, "old.pw")}`, "migration.old.auth.method=authzid"]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([old?.stop(), munging?.stop(), clean?.stop()]);
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const useTarget = (c: Cyrus) => runCliOk(home, ["config", "set", `target.host=${c.host}`, `target.port=${c.port}`, "target.tls=none", "target.auth.mode=master", "target.auth.user=admin", "target.auth.method=authzid", `target.auth.passwordFile=${join(home, "new.pw")}`]);

  test("a new server that rewrites 8-bit headers (munge8bit) is reported: ALTERED, partial, and still on the next run", async () => {
    await useTarget(munging);
    const r = await migrateJson(home, U);
    expect({ code: r.code, status: r.report.status, messages: r.report.messages }).toEqual({ code: 3, status: "partial", messages: 3 });
    expect(r.report.errors).toEqual([expect.objectContaining({ folder: "INBOX", code: "ALTERED", message: expect.stringContaining("munge8bit: no") })]);
    const again = await migrateJson(home, U);
    expect({ status: again.report.status, messages: again.report.messages, codes: again.report.errors.map((e: { code: string }) => e.code) }).toEqual({ status: "partial", messages: 0, codes: ["ALTERED"] });
  });

  test("with munge8bit: no the same mailbox is DONE and byte for byte", async () => {
    rmSync(join(home, "state"), { recursive: true, force: true });
    await useTarget(clean);
    const r = await migrateJson(home, U);
    expect({ code: r.code, status: r.report.status, messages: r.report.messages, errors: r.report.errors }).toEqual({ code: 0, status: "done", messages: 3, errors: [] });
    expectSameMail(await digestMailbox(old, U), await digestMailbox(asServer(clean), U), (f) => (f === "INBOX" ? "INBOX" : `INBOX.${f}`));
  });
});
