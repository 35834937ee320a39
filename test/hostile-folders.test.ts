// Folder names from the old server are hostile input (a scripted old server on a real socket
// lists what no real server here will: TAB, control characters, DEL, 3,000 characters); the new
// server is a real Dovecot. Each such name is renamed in the plan with a visible replacement
// and reported, never blocking the migration. A name the new server refuses for good is a
// final, coded skip of that folder (not a retry for ever), and `plan reset` rebuilds the
// plan once the setting is fixed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { startDovecot, type Dovecot } from "./support/dovecot.ts";
import { fakeMessage, startFakeImap, type FakeImap } from "./support/fake-imap.ts";
import { homeWithFakeOld, migrateJson, runCli, runCliOk } from "./support/harness.ts";
import { digestMailbox } from "./support/mail.ts";

const USER = "alice@example.com";
/** As the old server stores and lists them (control characters below TAB travel in modified UTF-7, e.g. "&AAE-" for U+0001). */
const WIRE = ["Bad\tName", "Ctl&AAE-Char", "Nul&AAA-Name", "Del\u007fName", "x".repeat(3000)];
/** As they are named once decoded. */
const HOSTILE = ["Bad\tName", "Ctl\u0001Char", "Nul\u0000Name", "Del\u007fName", "x".repeat(3000)];
let target: Dovecot;
let old: FakeImap;
let home: string;

beforeAll(async () => {
  target = await startDovecot({ label: "new", users: [{ user: USER, password: "user-pw" }] });
  old = await startFakeImap();
  let n = 0;
  for (const f of ["INBOX", ...WIRE, "Work"]) for (let i = 0; i < 2; i++) old.add(f, fakeMessage(++n));
  home = await homeWithFakeOld(old, target);
}, 60_000);

afterAll(async () => {
  await old?.stop();
  await target?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe("hostile folder names", () => {
  test("control characters and a 3,000-character name are renamed in the plan, visibly, and reported; every message arrives", async () => {
    const r = await migrateJson(home, USER);
    expect(r.report).toMatchObject({ status: "done", messages: 14 });
    const renamed = r.report.renamed as { from: string; to: string; reason: string }[];
    for (const name of HOSTILE) expect(renamed.find((x) => x.from === name)).toMatchObject({ reason: "unsafe-name" });
    expect(renamed.find((x) => x.from === "Bad\tName")!.to).toBe("Bad_Name");
    expect(renamed.find((x) => x.from === "x".repeat(3000))!.to).toMatch(/^x+~[0-9a-f]{12}$/);
    const got = await digestMailbox(target, USER);
    for (const x of renamed) expect(got.get(x.to)?.length).toBe(2);
    // the text summary shows the names escaped, never raw control characters
    const text = await runCli(home, ["migrate", USER]);
    expect(text.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    // and status, which lists the folders, too
    const status = await runCli(home, ["status", USER]);
    expect(status.stdout).toContain("Bad\\tName");
    expect(status.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });

  test("a name the new server refuses for good: the folder is a final, coded skip; plan reset rebuilds it once the setting is fixed", async () => {
    await runCliOk(home, ["domain", "set", "example.com", 'migration.folders.rename={"Work2":"/Begins with a separator"}']);
    old.add("Work2", fakeMessage(100));
    const r = await migrateJson(home, USER);
    expect(r.report.status).toBe("partial");
    expect(r.report.errors).toEqual([expect.objectContaining({ folder: "Work2", code: "FOLDER_REFUSED", transient: false, message: expect.stringContaining("plan reset") })]);
    // fixing the rule alone does not move a plan
    await runCliOk(home, ["domain", "set", "example.com", 'migration.folders.rename={"Work2":"Work two"}']);
    expect((await migrateJson(home, USER)).report.errors).toEqual([expect.objectContaining({ code: "FOLDER_REFUSED" })]);
    // a folder with copied messages is kept unless forced; the refused one is reset
    const kept = await runCli(home, ["plan", "reset", USER, "--folder", "Work", "--json"]);
    expect([kept.code, JSON.parse(kept.stdout)]).toEqual([1, { user: USER, reset: [], kept: [{ folder: "Work", target: "Work", copied: 2 }], unknown: [] }]);
    const reset = await runCli(home, ["plan", "reset", USER, "--folder", "Work2"]);
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain('"Work2" (planned as "/Begins with a separator"): taken out of the plan; the next run plans it again');
    const fixed = await migrateJson(home, USER);
    expect(fixed.report).toMatchObject({ status: "done", messages: 1 });
    expect((await digestMailbox(target, USER)).get("Work two")?.length).toBe(1);
  });
});
