// Source profiles against real Dovecots shaped as the servers organisations leave: a
// Gmail-shaped one ("[Gmail]/…" with \All, \Important and \Flagged marked by special_use, a
// message under two labels and in All Mail) and an Exchange-shaped one (its non-mail folders
// listed, some holding messages). And `migrate --dry-run`: the plan, and nothing written.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { migrateJson, runCli, runCliOk, startHarness, type Harness } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed, withClient } from "./support/mail.ts";

setDefaultTimeout(60_000);

const G = "gina@example.com";
const X = "xavier@example.com";
const DRY = "dora@example.com";

const GMAIL_FOLDERS = ["[Gmail]/All Mail", "[Gmail]/Important", "[Gmail]/Starred", "[Gmail]/Sent Mail", "[Gmail]/Drafts", "[Gmail]/Spam", "[Gmail]/Trash", "Receipts", "Travel"];
const EXCHANGE_FOLDERS = ["Calendar", "Calendar/Birthdays", "Contacts", "Tasks", "Notes", "Journal", "Conversation History", "Sync Issues", "Sync Issues/Conflicts", "Sent Items", "Deleted Items", "Junk Email", "Projects"];

let gmail: Harness;
let exchange: Harness;

/** The messages' subjects per folder that holds any (what a person would see). */
async function subjects(server: Harness["old"], user: string): Promise<Record<string, string[]>> {
  return withClient(server, user, async (c) => {
    const out: Record<string, string[]> = {};
    for (const f of await c.list()) {
      if (f.flags.has("\\Noselect") || f.flags.has("\\NonExistent")) continue;
      const box = await c.mailboxOpen(f.path, { readOnly: true });
      if (box.exists === 0) continue;
      const list: string[] = [];
      for await (const m of c.fetch("1:*", { envelope: true })) list.push(m.envelope?.subject ?? "");
      out[f.path] = list.sort();
    }
    return out;
  });
}

beforeAll(async () => {
  [gmail, exchange] = await Promise.all([
    startHarness({
      users: [G, DRY],
      old: { specialUse: { "[Gmail]/All Mail": "\\All", "[Gmail]/Important": "\\Important", "[Gmail]/Starred": "\\Flagged", "[Gmail]/Sent Mail": "\\Sent", "[Gmail]/Drafts": "\\Drafts", "[Gmail]/Spam": "\\Junk", "[Gmail]/Trash": "\\Trash" } },
      domainSettings: ["migration.old.profile=gmail"],
    }),
    // Exchange marks nothing here: the profile's names decide
    startHarness({ users: [X], old: { specialUse: false }, domainSettings: ["migration.old.profile=exchange"] }),
  ]);
  const m = (i: number, subject: string) => makeMessage(i, { subject, messageId: `${subject.replaceAll(" ", ".")}@gmail.example` });
  for (const u of [G, DRY]) {
    await seed(gmail.old, u, GMAIL_FOLDERS.map((path) => ({ path })), [
      { folder: "INBOX", raw: m(1, "hello") },
      // one message with two labels: in both label folders, and (like everything) in All Mail
      { folder: "Receipts", raw: m(2, "hotel invoice") },
      { folder: "Travel", raw: m(2, "hotel invoice") },
      { folder: "[Gmail]/Sent Mail", raw: m(3, "sent one") },
      { folder: "[Gmail]/Starred", raw: m(1, "hello") },
      { folder: "[Gmail]/Important", raw: m(2, "hotel invoice") },
      ...["hello", "hotel invoice", "sent one"].map((s, i) => ({ folder: "[Gmail]/All Mail", raw: m(i + 1, s) })),
      { folder: "[Gmail]/Spam", raw: m(4, "spam") },
    ]);
  }
  await seed(exchange.old, X, EXCHANGE_FOLDERS.map((path) => ({ path })), [
    { folder: "INBOX", raw: makeMessage(1, { subject: "mail" }) },
    { folder: "Calendar", raw: makeMessage(2, { subject: "meeting invite item" }) },
    { folder: "Contacts", raw: makeMessage(3, { subject: "contact item" }) },
    { folder: "Sync Issues/Conflicts", raw: makeMessage(4, { subject: "conflict item" }) },
    { folder: "Sent Items", raw: makeMessage(5, { subject: "sent" }) },
    { folder: "Deleted Items", raw: makeMessage(6, { subject: "deleted" }) },
    { folder: "Junk Email", raw: makeMessage(7, { subject: "junk" }) },
    { folder: "Projects", raw: makeMessage(8, { subject: "project" }) },
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([gmail?.stop(), exchange?.stop()]);
});

describe("source profiles", () => {
  test("gmail: All Mail, Important and Starred skipped and reported; roles mapped; a two-label message in both label folders, nowhere else twice", async () => {
    const { code, report } = await migrateJson(gmail.home, G);
    expect(code).toBe(0);
    expect(report.status).toBe("done");
    expect(report.skippedFolders).toEqual([
      { old: "[Gmail]/All Mail", rule: "special-use", detail: "\\All" },
      { old: "[Gmail]/Important", rule: "special-use", detail: "\\Important" },
      { old: "[Gmail]/Starred", rule: "special-use", detail: "\\Flagged" },
    ]);
    const target = await subjects(gmail.target, G);
    expect(target).toEqual({
      INBOX: ["hello"],
      Receipts: ["hotel invoice"],
      Travel: ["hotel invoice"],
      Sent: ["sent one"],
      Junk: ["spam"],
    });
    // exact per folder: the bytes too
    const old = await digestMailbox(gmail.old, G);
    const neu = await digestMailbox(gmail.target, G);
    for (const [from, to] of [["INBOX", "INBOX"], ["Receipts", "Receipts"], ["Travel", "Travel"], ["[Gmail]/Sent Mail", "Sent"], ["[Gmail]/Spam", "Junk"]] as const) {
      expect({ to, hashes: neu.get(to)!.map((x) => x.sha256).sort() }).toEqual({ to, hashes: old.get(from)!.map((x) => x.sha256).sort() });
    }
    // the text report names them too
    const again = await runCli(gmail.home, ["migrate", G]);
    expect(again.stdout).toContain('not copied  "[Gmail]/All Mail": special-use \\All');
  });

  test("exchange: non-mail folders and their children skipped and reported; Sent Items, Deleted Items, Junk Email mapped", async () => {
    const { code, report } = await migrateJson(exchange.home, X);
    expect({ code, status: report.status }).toEqual({ code: 0, status: "done" });
    expect(report.skippedFolders.map((s: any) => `${s.old}: ${s.rule} ${s.detail}`)).toEqual([
      "Calendar: profile Calendar",
      "Calendar/Birthdays: profile Calendar/*",
      "Contacts: profile Contacts",
      "Conversation History: profile Conversation History",
      "Journal: profile Journal",
      "Notes: profile Notes",
      "Sync Issues: profile Sync Issues",
      "Sync Issues/Conflicts: profile Sync Issues/*",
      "Tasks: profile Tasks",
    ]);
    expect(await subjects(exchange.target, X)).toEqual({ INBOX: ["mail"], Sent: ["sent"], Trash: ["deleted"], Junk: ["junk"], Projects: ["project"] });
  });
});

describe("migrate --dry-run", () => {
  test("prints the plan (text and JSON) with counts and the rule of each skipped folder, and writes nothing", async () => {
    const stateFile = join(gmail.home, "state", "accounts", `${DRY}.json`);
    const text = await runCliOk(gmail.home, ["migrate", DRY, "--dry-run"]);
    expect(text).toContain(`${DRY}: DRY RUN (profile gmail): nothing was created, copied or written`);
    expect(text).toMatch(/"\[Gmail\]\/Sent Mail"\s+→\s+"Sent"\s+1\s+\S+ B\s+\(special-use\)/);
    expect(text).toContain('skipped  "[Gmail]/All Mail": special-use \\All (3 messages,');
    expect(text).toContain("would copy 5 messages");
    const r = JSON.parse(await runCliOk(gmail.home, ["migrate", DRY, "--dry-run", "--json"]));
    expect(r).toMatchObject({ user: DRY, dryRun: true, profile: "gmail", newServer: { listed: true }, totals: { folders: 7, messages: 5 } });
    const byOld = Object.fromEntries(r.folders.map((f: any) => [f.old, f]));
    expect(byOld["[Gmail]/Spam"]).toMatchObject({ new: "Junk", messages: 1, renamed: "special-use", plan: "new" });
    expect(byOld["Travel"]).toMatchObject({ new: "Travel", messages: 1, plan: "new" });
    expect(byOld["Travel"].bytes).toBeGreaterThan(100);
    expect(r.skipped.find((s: any) => s.old === "[Gmail]/All Mail")).toMatchObject({ rule: "special-use", detail: "\\All", messages: 3 });
    // nothing written: no state, no lock, no folder on the new server
    expect(existsSync(stateFile)).toBe(false);
    expect(readdirSync(join(gmail.home, "state", "accounts")).filter((f) => f.startsWith(DRY))).toEqual([]);
    expect([...(await digestMailbox(gmail.target, DRY)).keys()]).toEqual(["INBOX"]);

    // after a real run the plan is shown as the one that stands
    const run = await migrateJson(gmail.home, DRY);
    expect(run.report.status).toBe("done");
    const after = JSON.parse(await runCliOk(gmail.home, ["migrate", DRY, "--dry-run", "--json"]));
    expect(after.folders.every((f: any) => f.plan === "persisted")).toBe(true);
    expect(after.folders.find((f: any) => f.old === "[Gmail]/Spam").new).toBe("Junk");
  });

  test("a domain not configured: one JSON object with the code, exit 2", async () => {
    const r = await runCli(gmail.home, ["migrate", "nobody@other.example", "--dry-run", "--json"]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ user: "nobody@other.example", dryRun: true, error: { code: "NOT_FOUND" } });
  });
});
