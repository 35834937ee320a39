// Folder listing without a server: the parser of LIST, LSUB, XLIST, STATUS and NAMESPACE
// answers (src/mailstore/imap/list-parse.ts) on what servers send and on what a broken or
// hostile one might (every answer through the real framer first, as on the wire), and the
// resolution of a listing (src/mailstore/imap/folder-list.ts): paths, flags, subscriptions,
// special-use roles and the order.
import { describe, expect, test } from "bun:test";
import { listEntry, mergeLsub, resolveFolders, type ListEntry } from "../../src/mailstore/imap/folder-list.ts";
import { decodeName, parseListLine, parseNamedStatus, parseNamespace } from "../../src/mailstore/imap/list-parse.ts";
import { one, refusedBy as refused } from "../support/imap-frames.ts";

const list = (wire: string | Buffer) => parseListLine(one(typeof wire === "string" && !wire.endsWith("\r\n") ? `${wire}\r\n` : wire))!;

describe("LIST, LSUB and XLIST answers", () => {
  test("quoted, atom and literal names; NIL delimiter; attributes kept as sent", () => {
    expect(list('* LIST (\\HasNoChildren \\Sent) "/" "Sent Items"\r\n')).toEqual({ command: "LIST", name: "Sent Items", delimiter: "/", flags: ["\\HasNoChildren", "\\Sent"] });
    expect(list("* LIST () NIL INBOX\r\n")).toEqual({ command: "LIST", name: "INBOX", delimiter: null, flags: [] });
    expect(list('* lsub () "." {11}\r\nINBOX.a "b"\r\n')).toEqual({ command: "LSUB", name: 'INBOX.a "b"', delimiter: ".", flags: [] });
    expect(list('* LIST () "/" "a\\\\b\\"c"\r\n').name).toBe('a\\b"c');
  });

  test("modified UTF-7 decoded; raw 8-bit read as UTF-8; a bad &-sequence kept as sent", () => {
    expect(list('* LIST () "/" "D&AOk-j&AOA- vu/&ZeVnLIqe-"\r\n').name).toBe("Déjà vu/日本語");
    expect(list('* LIST () "/" "A&-B"\r\n').name).toBe("A&B");
    expect(list(Buffer.concat([Buffer.from('* LIST () "/" "caf'), Buffer.from("é", "utf8"), Buffer.from('"\r\n')])).name).toBe("café");
    expect(decodeName(Buffer.from("plain"))).toBe("plain");
    expect(typeof decodeName(Buffer.from("&&&-&"))).toBe("string");
  });

  test("extended data after the name (RFC 5258 CHILDINFO) is skipped", () => {
    expect(list('* LIST (\\HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))\r\n').name).toBe("Foo");
  });

  test("malformed answers are refused, naming what was expected", () => {
    expect(refused(parseListLine, '* LIST (\\Noselect "/" "x"\r\n')).toMatch(/unterminated list|not a string/);
    expect(refused(parseListLine, '* LIST \\Noselect "/" "x"\r\n')).toMatch(/not a list/);
    expect(refused(parseListLine, '* LIST () "/" NIL\r\n')).toMatch(/NIL/);
    expect(refused(parseListLine, '* LIST () "/"\r\n')).toMatch(/expected a value/);
    expect(refused(parseListLine, '* LIST () "/" "x" () junk\r\n')).toMatch(/text after/);
    expect(refused(parseListLine, '* LIST (("deep")) "/" "x"\r\n')).toMatch(/other than an atom/);
    expect(refused(parseListLine, '* LIST () "/" "unterminated\r\n')).toMatch(/unterminated quoted/);
  });

  test("other answers are not LIST answers", () => {
    expect(parseListLine(one("* OK still here\r\n"))).toBeUndefined();
    expect(parseListLine(one("* LISTRIGHTS x y\r\n"))).toBeUndefined();
  });
});

describe("STATUS and NAMESPACE answers", () => {
  test("LIST-STATUS answers carry the name and the ids; zero or junk ids are none", () => {
    expect(parseNamedStatus(one('* STATUS "D&AOk-j&AOA-" (UIDNEXT 42 UIDVALIDITY 7)\r\n'))).toEqual({ name: "Déjà", uidNext: 42, uidValidity: 7 });
    expect(parseNamedStatus(one("* STATUS INBOX (MESSAGES 3 UIDVALIDITY x)\r\n"))).toEqual({ name: "INBOX", uidValidity: undefined });
    expect(refused(parseNamedStatus, "* STATUS INBOX UIDNEXT 4\r\n")).toMatch(/not a list/);
  });

  test("a STATUS answer: a name as a literal holding parentheses, ids that are not non-zero numbers are none, anything malformed refused", () => {
    expect(parseNamedStatus(one("* STATUS INBOX (UIDNEXT 31 UIDVALIDITY 1700000000)\r\n"))).toEqual({ name: "INBOX", uidNext: 31, uidValidity: 1700000000 });
    expect(parseNamedStatus(one("* STATUS {6}\r\na (b)) (UIDVALIDITY 3 UIDNEXT 4)\r\n"))).toEqual({ name: "a (b))", uidNext: 4, uidValidity: 3 });
    expect(parseNamedStatus(one("* STATUS INBOX (UIDNEXT -1 UIDVALIDITY 2)\r\n"))).toEqual({ name: "INBOX", uidNext: undefined, uidValidity: 2 });
    expect(parseNamedStatus(one("* STATUS INBOX (UIDNEXT 0 UIDVALIDITY 00)\r\n"))).toEqual({ name: "INBOX", uidNext: undefined, uidValidity: undefined });
    // a literal that does not hold the whole name leaves a stray parenthesis: refused, not guessed
    expect(refused(parseNamedStatus, "* STATUS {5}\r\na (b)) (UIDVALIDITY 3 UIDNEXT 4)\r\n")).toMatch(/not a list|expected/);
    expect(refused(parseNamedStatus, "* STATUS INBOX\r\n")).toMatch(/expected a value|not a list/);
    expect(parseNamedStatus(one("* 1 EXISTS\r\n"))).toBeUndefined();
  });

  test("the first personal namespace, its prefix ending in its delimiter", () => {
    expect(parseNamespace(one('* NAMESPACE (("" "/")) NIL NIL\r\n'))).toEqual({ prefix: "", delimiter: "/" });
    expect(parseNamespace(one('* NAMESPACE (("INBOX" ".")("#mh/" "/")) NIL (("#shared." "."))\r\n'))).toEqual({ prefix: "INBOX.", delimiter: "." });
    expect(parseNamespace(one('* NAMESPACE (("" NIL)) NIL NIL\r\n'))).toEqual({ prefix: "", delimiter: null });
    expect(parseNamespace(one("* NAMESPACE NIL NIL NIL\r\n"))).toBeUndefined();
    expect(refused(parseNamespace, '* NAMESPACE ("x") NIL NIL\r\n')).toMatch(/not a \(prefix delimiter\) list/);
  });
});

const entry = (wire: string) => listEntry(list(wire));
const resolve = (wires: string[], opts = { specialUseExtension: true, subscriptionKnown: true }) => resolveFolders(wires.map(entry), opts);

describe("resolving a listing", () => {
  test("INBOX in any case is INBOX; a leading delimiter is dropped; \\NonExistent implies \\Noselect; \\Subscribed is the subscription", () => {
    expect(entry('* LIST () "/" "inbox"').path).toBe("INBOX");
    expect(entry('* LIST () "/" "/Archive"').path).toBe("Archive");
    const ghost = entry('* LIST (\\NonExistent \\Subscribed) "/" "Gone"');
    expect([...ghost.flags].sort()).toEqual(["\\NonExistent", "\\Noselect"]);
    expect(ghost.subscribed).toBe(true);
  });

  test("each role to one folder: the server's attribute before a name, shallower before deeper, then the path", () => {
    const f = resolve(['* LIST () "/" "Sent"', '* LIST (\\Sent) "/" "Outbox"', '* LIST () "/" "Trash"', '* LIST () "/" "Old/Trash"', '* LIST () "/" "INBOX"']);
    const role = (p: string) => f.find((x) => x.path === p);
    expect(role("Outbox")).toMatchObject({ specialUse: "\\Sent", specialUseSource: "extension" });
    expect(role("Sent")?.specialUse).toBeUndefined();
    expect(role("Trash")).toMatchObject({ specialUse: "\\Trash", specialUseSource: "name" });
    expect(role("Old/Trash")?.specialUse).toBeUndefined();
    expect(role("INBOX")).toMatchObject({ specialUse: "\\Inbox" });
    // special-use first, in role order; then the rest by path
    expect(f.map((x) => x.path)).toEqual(["INBOX", "Outbox", "Trash", "Old/Trash", "Sent"]);
  });

  test("a \\NonExistent folder never takes a role by its name, and XLIST's \\Inbox marks a localised inbox", () => {
    const f = resolve(['* LIST (\\NonExistent) "/" "Trash"', '* LIST () "/" "Deleted Items"']);
    expect(f.find((x) => x.path === "Trash")?.specialUse).toBeUndefined();
    expect(f.find((x) => x.path === "Deleted Items")?.specialUse).toBe("\\Trash");
    const x = resolveFolders([listEntry(list('* XLIST (\\Inbox) "/" "Posteingang"'))], { specialUseExtension: true, subscriptionKnown: true });
    expect(x[0]).toMatchObject({ path: "Posteingang", specialUse: "\\Inbox", flags: [], subscribed: true });
  });

  test("subscriptions: from LSUB; unknown and none reported means every existing folder; INBOX always", () => {
    const entries: ListEntry[] = ['* LIST () "/" "INBOX"', '* LIST () "/" "A"', '* LIST () "/" "B"', '* LIST (\\NonExistent) "/" "C"', '* LIST () "/" "D"'].map(entry);
    const byPath = new Map(entries.map((e) => [e.path, e]));
    mergeLsub(byPath, list('* LSUB (\\Marked) "/" "A"'));
    mergeLsub(byPath, list('* LSUB () "/" "NotListed"'));
    // LSUB's \Noselect never hides a folder LIST gave as selectable
    mergeLsub(byPath, list('* LSUB (\\Noselect) "/" "D"'));
    expect(byPath.get("D")!.flags.has("\\Noselect")).toBe(false);
    const known = resolveFolders(entries, { specialUseExtension: false, subscriptionKnown: true });
    expect(Object.fromEntries(known.map((f) => [f.path, f.subscribed]))).toEqual({ INBOX: true, A: true, B: false, C: false, D: true });
    expect(known.find((f) => f.path === "A")?.flags).toContain("\\Marked");
    const unknown = resolveFolders(['* LIST () "/" "A"', '* LIST (\\NonExistent) "/" "C"'].map(entry), { specialUseExtension: false, subscriptionKnown: false });
    expect(Object.fromEntries(unknown.map((f) => [f.path, f.subscribed]))).toEqual({ A: true, C: false });
  });
});
