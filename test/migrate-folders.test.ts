// Folder tree, separators, renames and special-use roles, against real Dovecot servers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectSameMail } from "./support/compare.ts";
import { migrateJson, startHarness, type Harness } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed, withClient } from "./support/mail.ts";

const U = "alice@example.com";

async function listTarget(h: Harness, user = U) {
  return withClient(h.target, user, async (c) =>
    (await c.list()).map((f) => ({ path: f.path, flags: [...f.flags], specialUse: (f as any).specialUseSource === "extension" ? f.specialUse : undefined, subscribed: !!f.subscribed })),
  );
}

describe('"/" → "/": hierarchy, \\Noselect parents, subscriptions, non-ASCII names', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    const folders = ["Projects/Alpha", "Projects/Beta/Deep", "Déjà vu", "日本語/メモ", "A&B", "Unsubscribed"];
    await seed(
      h.old,
      U,
      folders.map((path) => ({ path, subscribe: path !== "Unsubscribed" })),
      [...folders, "INBOX"].flatMap((folder, i) => [
        { folder, raw: makeMessage(i * 10 + 1) },
        { folder, raw: makeMessage(i * 10 + 2), flags: ["\\Seen"] },
      ]),
    );
  });
  afterAll(() => h.stop());

  test("every folder and message arrives, parents and subscriptions included", async () => {
    const oldList = await withClient(h.old, U, async (c) => c.list());
    // the fixture really has a \Noselect parent on the old side
    expect(oldList.find((f) => f.path === "Projects")?.flags.has("\\Noselect")).toBe(true);

    const { code, report } = await migrateJson(h.home, U);
    expect(code).toBe(0);
    expect(report.status).toBe("done");
    expect(report.renamed).toEqual([]);
    expect(report.messages).toBe(14);

    const target = await listTarget(h);
    const paths = target.map((f) => f.path).sort();
    for (const p of ["INBOX", "Projects", "Projects/Alpha", "Projects/Beta", "Projects/Beta/Deep", "Déjà vu", "日本語", "日本語/メモ", "A&B", "Unsubscribed"]) expect(paths).toContain(p);
    expect(target.find((f) => f.path === "Unsubscribed")?.subscribed).toBe(false);
    expect(target.find((f) => f.path === "Déjà vu")?.subscribed).toBe(true);
    expect(target.find((f) => f.path === "日本語/メモ")?.subscribed).toBe(true);

    expectSameMail(await digestMailbox(h.old, U), await digestMailbox(h.target, U));
  });
});

describe('"." (Courier-like, INBOX. prefix, listescape) → "/": a "/" inside a name and special-use roles', () => {
  let h: Harness;
  const oldRoles = { "Sent Items": "\\Sent", "Deleted Items": "\\Trash", "Junk E-mail": "\\Junk", Entwürfe: "\\Drafts", Archives: "\\Archive" };
  beforeAll(async () => {
    h = await startHarness({ old: { separator: ".", specialUse: oldRoles } });
    const folders = ["INBOX.Q1/Q2 Reports", "INBOX.Q1/Q2 Reports.March", "INBOX.Work", ...Object.keys(oldRoles).map((n) => `INBOX.${n}`)];
    await seed(h.old, U, folders.map((path) => ({ path })), folders.map((folder, i) => ({ folder, raw: makeMessage(100 + i) })));
  });
  afterAll(() => h.stop());

  test("the name is renamed with the replacement and reported; the migration goes on", async () => {
    const { code, report } = await migrateJson(h.home, U);
    expect(code).toBe(0);
    expect(report.status).toBe("done");
    expect(report.renamed).toContainEqual({ from: "INBOX.Q1/Q2 Reports", to: "Q1_Q2 Reports", reason: "separator" });
    expect(report.renamed).toContainEqual({ from: "INBOX.Q1/Q2 Reports.March", to: "Q1_Q2 Reports/March", reason: "separator" });

    const map: Record<string, string> = {
      INBOX: "INBOX",
      "INBOX.Q1/Q2 Reports": "Q1_Q2 Reports",
      "INBOX.Q1/Q2 Reports.March": "Q1_Q2 Reports/March",
      "INBOX.Work": "Work",
      "INBOX.Sent Items": "Sent",
      "INBOX.Deleted Items": "Trash",
      "INBOX.Junk E-mail": "Junk",
      "INBOX.Entwürfe": "Drafts",
      "INBOX.Archives": "Archive",
    };
    expectSameMail(await digestMailbox(h.old, U), await digestMailbox(h.target, U), (f) => map[f] ?? `unmapped:${f}`);
    // a rerun with nothing new reports the same folders and renames
    const again = await migrateJson(h.home, U);
    expect(again.report).toMatchObject({ status: "done", messages: 0, folders: report.folders, renamed: report.renamed });
  });

  test("old role folders landed in the target folders that carry the same role", async () => {
    const target = await listTarget(h);
    const role = (p: string) => target.find((f) => f.path === p)?.specialUse;
    expect([role("Sent"), role("Trash"), role("Junk"), role("Drafts"), role("Archive")]).toEqual(["\\Sent", "\\Trash", "\\Junk", "\\Drafts", "\\Archive"]);
    expect(target.map((f) => f.path)).not.toContain("Sent Items");
  });
});

describe('"/" → "." with the configured replacement', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ target: { separator: "." }, domainSettings: ["migration.folders.separatorReplacement=-"] });
    await seed(h.old, U, [{ path: "v1.2 notes" }, { path: "Clients/ACME" }], [
      { folder: "v1.2 notes", raw: makeMessage(1) },
      { folder: "Clients/ACME", raw: makeMessage(2) },
      { folder: "INBOX", raw: makeMessage(3) },
    ]);
  });
  afterAll(() => h.stop());

  test('"v1.2 notes" becomes "INBOX.v1-2 notes"; hierarchy maps "/" to "."', async () => {
    const { code, report } = await migrateJson(h.home, U);
    expect(code).toBe(0);
    expect(report.renamed).toEqual([{ from: "v1.2 notes", to: "INBOX.v1-2 notes", reason: "separator" }]);
    const map: Record<string, string> = { INBOX: "INBOX", "v1.2 notes": "INBOX.v1-2 notes", "Clients/ACME": "INBOX.Clients.ACME" };
    expectSameMail(await digestMailbox(h.old, U), await digestMailbox(h.target, U), (f) => map[f] ?? `unmapped:${f}`);
  });
});
