import { oldConnectionsPerUser, SOURCE_PROFILES } from "../../src/migrate/source-profiles.ts";
import { domainSchema } from "../../src/config/schema.ts";
import { describe, expect, test } from "bun:test";
import { copiedFromOld, globMatch, logicalSegments, planFolders, safeSegment, wireLength, type ListedFolder } from "../../src/migrate/folder-plan.ts";

const SLASH = { prefix: "", delimiter: "/" };
const DOT = { prefix: "INBOX.", delimiter: "." };
const opts = { separatorReplacement: "_", exclude: [] as string[], rename: {} as Record<string, string> };
const f = (path: string, extra: Partial<ListedFolder> = {}): ListedFolder => ({ path, flags: [], subscribed: true, ...extra });

describe("logicalSegments", () => {
  test("strips the personal namespace prefix of a Courier-style server", () => {
    expect(logicalSegments("INBOX.Work.2024", DOT)).toEqual(["Work", "2024"]);
    expect(logicalSegments("INBOX", DOT)).toEqual(["INBOX"]);
    expect(logicalSegments("Work/2024", SLASH)).toEqual(["Work", "2024"]);
  });
  test("keeps a name that holds the other server's separator as one level", () => {
    expect(logicalSegments("INBOX.Q1/Q2 Reports", DOT)).toEqual(["Q1/Q2 Reports"]);
  });
});

describe("hostile folder names from the old server", () => {
  test("control characters, NUL, DEL, undecodable bytes become a visible replacement", () => {
    expect(safeSegment("Bad\tName\r\nX\u0000\u007f\ufffd", "_")).toBe("Bad_Name__X___");
    expect(safeSegment("ok name", "_")).toBe("ok name");
    expect(safeSegment("a\u0007b", "")).toBe("a_b");
  });
  test("a name longer than the limit is cut to fit, with a hash that keeps two such names apart", () => {
    const a = safeSegment("x".repeat(3000) + "A", "_", 200);
    const b = safeSegment("x".repeat(3000) + "B", "_", 200);
    expect(a.length).toBe(200);
    expect(a).toMatch(/^x+~[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
    // measured as the server receives it (modified UTF-7), characters never split
    const e = safeSegment("é".repeat(120), "_", 200);
    expect(e).toMatch(/^é+~[0-9a-f]{12}$/);
    expect(wireLength(e)).toBeLessThanOrEqual(200);
  });
  test("planned renamed and reported (unsafe-name), never dropped; two that collide stay apart", () => {
    const plan = planFolders([f("INBOX"), f("Bad\r\nName"), f("Bad__Name"), f("x".repeat(3000))], SLASH, SLASH, [], opts);
    const byOld = Object.fromEntries(plan.folders.map((p) => [p.old, p.target]));
    expect(byOld["Bad\r\nName"]).toMatch(/^Bad__Name( \(2\))?$/);
    expect(new Set(Object.values(byOld)).size).toBe(4);
    expect(plan.renamed.find((r) => r.from === "x".repeat(3000))).toMatchObject({ reason: "unsafe-name" });
    expect(plan.renamed.some((r) => r.from === "Bad\r\nName")).toBe(true);
  });
});

describe("planFolders: separators", () => {
  test('"." → "/" with a "/" inside a name: renamed, reported, never dropped', () => {
    const plan = planFolders([f("INBOX"), f("INBOX.Q1/Q2 Reports"), f("INBOX.Q1/Q2 Reports.Sub")], DOT, SLASH, [], opts);
    expect(plan.folders.map((x) => x.target)).toEqual(["INBOX", "Q1_Q2 Reports", "Q1_Q2 Reports/Sub"]);
    expect(plan.renamed).toContainEqual({ from: "INBOX.Q1/Q2 Reports", to: "Q1_Q2 Reports", reason: "separator" });
  });
  test('"/" → "." with a "." inside a name uses the configured replacement', () => {
    const plan = planFolders([f("INBOX"), f("v1.2 notes"), f("Work/Clients")], SLASH, DOT, [], { ...opts, separatorReplacement: "-" });
    expect(plan.folders.map((x) => x.target)).toEqual(["INBOX", "INBOX.Work.Clients", "INBOX.v1-2 notes"]);
    expect(plan.renamed).toEqual([{ from: "v1.2 notes", to: "INBOX.v1-2 notes", reason: "separator" }]);
  });
  test("children of INBOX on a no-prefix server do not become INBOX.INBOX.x", () => {
    const plan = planFolders([f("INBOX"), f("INBOX/Receipts")], SLASH, DOT, [], opts);
    expect(plan.folders.map((x) => x.target)).toEqual(["INBOX", "INBOX.Receipts"]);
  });
  test("\\Noselect parents are planned but not selectable; \\NonExistent ones are dropped", () => {
    const plan = planFolders([f("Projects", { flags: ["\\Noselect", "\\HasChildren"] }), f("Projects/A"), f("Gone", { flags: ["\\NonExistent"] })], SLASH, SLASH, [], opts);
    expect(plan.folders).toEqual([
      { old: "Projects", target: "Projects", selectable: false, subscribed: true, role: undefined },
      { old: "Projects/A", target: "Projects/A", selectable: true, subscribed: true, role: undefined },
    ]);
  });
  test("subscriptions are carried per folder", () => {
    const plan = planFolders([f("A", { subscribed: false }), f("B")], SLASH, SLASH, [], opts);
    expect(plan.folders.map((x) => x.subscribed)).toEqual([false, true]);
  });
});

describe("planFolders: special-use", () => {
  const target = [f("Sent", { specialUse: "\\Sent", specialUseSource: "extension" }), f("Trash", { specialUse: "\\Trash", specialUseSource: "extension" })];
  test("an old role folder lands in the target's folder with that role whatever its name", () => {
    const plan = planFolders([f("INBOX"), f("Sent Items", { specialUse: "\\Sent", specialUseSource: "extension" }), f("Deleted Items", { specialUse: "\\Trash", specialUseSource: "name" })], SLASH, SLASH, target, opts);
    expect(plan.folders.find((x) => x.old === "Sent Items")?.target).toBe("Sent");
    expect(plan.folders.find((x) => x.old === "Deleted Items")?.target).toBe("Trash");
    expect(plan.renamed).toContainEqual({ from: "Sent Items", to: "Sent", reason: "special-use" });
  });
  test("without such a folder on the target the conventional name is used (under the prefix)", () => {
    const plan = planFolders([f("INBOX.Gesendet", { specialUse: "\\Sent", specialUseSource: "extension" })], DOT, DOT, [], opts);
    expect(plan.folders[0]!.target).toBe("INBOX.Sent");
  });
  test("a role goes to one folder only: the server-declared one beats a name guess", () => {
    const plan = planFolders(
      [f("Sent", { specialUse: "\\Sent", specialUseSource: "name" }), f("Sent Items", { specialUse: "\\Sent", specialUseSource: "extension" })],
      SLASH,
      SLASH,
      target,
      opts,
    );
    expect(plan.folders.find((x) => x.old === "Sent Items")?.target).toBe("Sent");
    // the other one keeps its name but cannot merge into the same folder
    expect(plan.folders.find((x) => x.old === "Sent")?.target).toBe("Sent (2)");
  });
});

describe("planFolders: rules", () => {
  test("excludes match globs on the old path, children included by the pattern", () => {
    const plan = planFolders([f("INBOX"), f("Spam"), f("Spam/Old"), f("Work")], SLASH, SLASH, [], { ...opts, exclude: ["Spam*"] });
    expect(plan.folders.map((x) => x.old)).toEqual(["INBOX", "Work"]);
    expect(plan.skipped).toEqual([
      { old: "Spam", rule: "folders.exclude", detail: "Spam*" },
      { old: "Spam/Old", rule: "folders.exclude", detail: "Spam*" },
    ]);
  });
  test("a rename rule moves the folder and its children", () => {
    const plan = planFolders([f("INBOX.Old Stuff"), f("INBOX.Old Stuff.2019")], DOT, SLASH, [], { ...opts, rename: { "INBOX.Old Stuff": "Archive/Legacy" } });
    expect(plan.folders.map((x) => x.target)).toEqual(["Archive/Legacy", "Archive/Legacy/2019"]);
  });
  test("two old folders never share one target folder", () => {
    const plan = planFolders([f("A/B"), f("A_B")], DOT.delimiter === "." ? { prefix: "", delimiter: "." } : SLASH, SLASH, [], opts);
    const targets = plan.folders.map((x) => x.target);
    expect(new Set(targets).size).toBe(targets.length);
  });
  test("globMatch", () => {
    expect(globMatch("Spam*", "Spam/Old")).toBe(true);
    expect(globMatch("Spam", "Spam/Old")).toBe(false);
    expect(globMatch("a?c", "abc")).toBe(true);
    expect(globMatch("a.c", "abc")).toBe(false);
  });
});

describe("copiedFromOld", () => {
  test("selectable, personal, not excluded: the same folders the planner copies", () => {
    const shared = { prefix: "INBOX.", delimiter: "." };
    expect(copiedFromOld(f("INBOX"), shared, opts)).toBe(true);
    expect(copiedFromOld(f("INBOX.Work"), shared, opts)).toBe(true);
    expect(copiedFromOld(f("shared.team.Inbox"), shared, opts)).toBe(false);
    expect(copiedFromOld(f("INBOX.Spam"), shared, { ...opts, exclude: ["INBOX.Spam*"] })).toBe(false);
    expect(copiedFromOld(f("INBOX.P", { flags: ["\\Noselect"] }), shared, opts)).toBe(false);
    expect(copiedFromOld(f("INBOX.Gone", { flags: ["\\NonExistent"] }), shared, opts)).toBe(false);
    const plan = planFolders([f("INBOX"), f("INBOX.Work"), f("shared.team.Inbox"), f("INBOX.Spam")], shared, SLASH, [], { ...opts, exclude: ["INBOX.Spam*"] });
    expect(plan.folders.filter((x) => x.selectable).map((x) => x.old)).toEqual(["INBOX", "INBOX.Work"]);
  });
});

describe("pinned plan", () => {
  const layout = { prefix: "", delimiter: "/" };
  const f = (path: string, specialUse?: string) => ({ path, flags: [], subscribed: true, ...(specialUse ? { specialUse, specialUseSource: "extension" as const } : {}) });
  const opts = { exclude: [], rename: {}, separatorReplacement: "_" };
  test("an earlier run's targets stand whatever the new server lists now; new folders avoid them", () => {
    // the new server now has "Deleted Items", which a name guess would take for Trash
    const target = [{ path: "INBOX", flags: [] }, { path: "Deleted Items", flags: [], specialUse: "\\Trash", specialUseSource: "name" as const }, { path: "Trash", flags: [] }];
    const old = [f("INBOX"), f("Trash", "\\Trash"), f("Deleted Items"), f("Later")];
    const fresh = planFolders(old, layout, layout, target as never, opts as never);
    expect(fresh.folders.find((x) => x.old === "Deleted Items")!.target).toBe("Deleted Items (2)");
    const pinned = planFolders(old, layout, layout, target as never, opts as never, { Trash: { target: "Trash" }, "Deleted Items": { target: "Deleted Items" }, INBOX: { target: "INBOX" }, Work: { target: "Later" } });
    expect(Object.fromEntries(pinned.folders.map((x) => [x.old, x.target]))).toEqual({ INBOX: "INBOX", Trash: "Trash", "Deleted Items": "Deleted Items", Later: "Later (2)" });
    expect(pinned.renamed).toEqual([{ from: "Later", to: "Later (2)", reason: "collision" }]);
  });
});

describe("source profiles", () => {
  const gmailFolders = [
    f("INBOX"),
    f("[Gmail]", { flags: ["\\Noselect", "\\HasChildren"] }),
    f("[Gmail]/All Mail", { flags: ["\\All"], specialUse: "\\All", specialUseSource: "extension" }),
    f("[Gmail]/Important", { flags: ["\\Important"] }),
    f("[Gmail]/Starred", { flags: ["\\Flagged"], specialUse: "\\Flagged", specialUseSource: "extension" }),
    f("[Gmail]/Sent Mail"),
    f("[Gmail]/Spam"),
    f("[Gmail]/Trash"),
    f("[Gmail]/Drafts"),
    f("Receipts"),
    f("Receipts/2024"),
  ];

  test("gmail: views skipped by special-use (name as fallback), role folders mapped by name, labels stay folders", () => {
    const plan = planFolders(gmailFolders, SLASH, SLASH, [], { ...opts, profile: SOURCE_PROFILES.gmail });
    expect(plan.skipped).toEqual([
      { old: "[Gmail]/All Mail", rule: "special-use", detail: "\\All" },
      { old: "[Gmail]/Important", rule: "special-use", detail: "\\Important" },
      { old: "[Gmail]/Starred", rule: "special-use", detail: "\\Flagged" },
    ]);
    const to = Object.fromEntries(plan.folders.filter((x) => x.selectable).map((x) => [x.old, x.target]));
    expect(to).toEqual({ INBOX: "INBOX", "[Gmail]/Sent Mail": "Sent", "[Gmail]/Spam": "Junk", "[Gmail]/Trash": "Trash", "[Gmail]/Drafts": "Drafts", Receipts: "Receipts", "Receipts/2024": "Receipts/2024" });
    // a server that marks nothing: the names say it
    const unmarked = gmailFolders.map(({ specialUse: _s, specialUseSource: _x, ...g }) => ({ ...g, flags: g.flags.filter((x) => x.startsWith("\\No") || x === "\\HasChildren") }));
    const plain = planFolders(unmarked, SLASH, SLASH, [], { ...opts, profile: SOURCE_PROFILES.gmail });
    expect(plain.skipped.map((x) => `${x.old} ${x.rule} ${x.detail}`)).toEqual(["[Gmail]/All Mail profile [Gmail]/All Mail", "[Gmail]/Important profile [Gmail]/Important", "[Gmail]/Starred profile [Gmail]/Starred"]);
    // the same folders the planner copies are the ones a rerun checks
    for (const g of unmarked) expect({ g: g.path, copied: copiedFromOld(g, SLASH, { ...opts, profile: SOURCE_PROFILES.gmail }) }).toEqual({ g: g.path, copied: plain.folders.some((x) => x.old === g.path && x.selectable) });
  });

  test("the admin's settings beat the profile: includeAll, a rename rule for a skipped folder, an exclude", () => {
    const rules = { ...opts, profile: SOURCE_PROFILES.gmail };
    expect(planFolders(gmailFolders, SLASH, SLASH, [], { ...rules, includeAll: true }).folders.some((x) => x.old === "[Gmail]/All Mail")).toBe(true);
    const renamed = planFolders(gmailFolders, SLASH, SLASH, [], { ...rules, rename: { "[Gmail]/Starred": "Starred" } });
    expect(renamed.folders.find((x) => x.old === "[Gmail]/Starred")?.target).toBe("Starred");
    const excluded = planFolders(gmailFolders, SLASH, SLASH, [], { ...rules, exclude: ["Receipts*"] });
    expect(excluded.skipped.filter((x) => x.rule === "folders.exclude").map((x) => x.old)).toEqual(["Receipts", "Receipts/2024"]);
  });

  test("exchange: non-mail folders and their children skipped; Sent Items, Deleted Items, Junk Email mapped", () => {
    const names = ["INBOX", "Calendar", "Calendar/Birthdays", "Contacts", "Tasks", "Notes", "Journal", "Conversation History", "Sync Issues", "Sync Issues/Conflicts", "Sync Issues/Local Failures", "Sent Items", "Deleted Items", "Junk Email", "Drafts", "Projects", "Projects/Calendar"];
    const plan = planFolders(names.map((n) => f(n)), SLASH, SLASH, [], { ...opts, profile: SOURCE_PROFILES.exchange });
    expect(plan.skipped.map((x) => x.old)).toEqual(["Calendar", "Calendar/Birthdays", "Contacts", "Conversation History", "Journal", "Notes", "Sync Issues", "Sync Issues/Conflicts", "Sync Issues/Local Failures", "Tasks"]);
    const to = Object.fromEntries(plan.folders.map((x) => [x.old, x.target]));
    expect(to).toEqual({ INBOX: "INBOX", "Sent Items": "Sent", "Deleted Items": "Trash", "Junk Email": "Junk", Drafts: "Drafts", Projects: "Projects", "Projects/Calendar": "Projects/Calendar" });
  });

  test("generic: a \\All folder is skipped unless includeAll; nothing else", () => {
    const folders = [f("INBOX"), f("Virtual/All", { flags: ["\\All"] }), f("Calendar")];
    expect(planFolders(folders, SLASH, SLASH, [], opts).skipped).toEqual([{ old: "Virtual/All", rule: "special-use", detail: "\\All" }]);
    expect(planFolders(folders, SLASH, SLASH, [], { ...opts, includeAll: true }).skipped).toEqual([]);
  });
});

describe("connections per mailbox", () => {
  test("the setting, else the profile's limit, else the parallel folders; never above the parallel folders", () => {
    const d = (old: Record<string, unknown>, parallelFolders = 4) => domainSchema.parse({ migration: { parallelFolders, old } });
    expect(oldConnectionsPerUser(d({}))).toBe(4);
    expect(oldConnectionsPerUser(d({ profile: "exchange" }))).toBe(2);
    expect(oldConnectionsPerUser(d({ profile: "exchange", maxConnectionsPerUser: 3 }))).toBe(3);
    expect(oldConnectionsPerUser(d({ profile: "exchange", maxConnectionsPerUser: 3 }, 1))).toBe(1);
    expect(oldConnectionsPerUser(d({ profile: "gmail", maxConnectionsPerUser: 1 }))).toBe(1);
  });
});
