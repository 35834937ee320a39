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
    expect(plan.excluded).toEqual(["Spam", "Spam/Old"]);
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
    expect(copiedFromOld(f("INBOX"), shared, [])).toBe(true);
    expect(copiedFromOld(f("INBOX.Work"), shared, [])).toBe(true);
    expect(copiedFromOld(f("shared.team.Inbox"), shared, [])).toBe(false);
    expect(copiedFromOld(f("INBOX.Spam"), shared, ["INBOX.Spam*"])).toBe(false);
    expect(copiedFromOld(f("INBOX.P", { flags: ["\\Noselect"] }), shared, [])).toBe(false);
    expect(copiedFromOld(f("INBOX.Gone", { flags: ["\\NonExistent"] }), shared, [])).toBe(false);
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
