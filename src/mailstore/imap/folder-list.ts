// What a listing means, once its answers are in: paths normalised (INBOX in any case is
// "INBOX", a leading delimiter dropped), RFC 5258's \NonExistent implying \Noselect, a
// \Subscribed attribute as subscription, special-use roles resolved (each role to one folder,
// each folder one role: the server's own attribute before a name, a shallower folder before a
// deeper one, then the path), and the listing sorted special-use first. The same rules as
// imapflow's list(), whose localised name table (imapflow/lib/special-use.js) is used here.
// Pure: tested without a server.
import { specialUse } from "imapflow/lib/special-use.js";
import type { FolderIds, StoreFolder } from "../port.ts";
import type { ListLine } from "./list-parse.ts";

/** A listed folder being put together from LIST, LSUB and STATUS answers. */
export interface ListEntry {
  path: string;
  delimiter: string | null;
  flags: Set<string>;
  subscribed?: boolean;
  status?: FolderIds;
}

/** INBOX is case-insensitive (RFC 3501 5.1): every spelling of it is "INBOX". */
export function normalizePath(name: string): string {
  return name.toUpperCase() === "INBOX" ? "INBOX" : name;
}

/** A LIST (LSUB, XLIST) answer as an entry; XLIST's \Inbox attribute is kept apart (`xlistInbox`). */
export function listEntry(line: ListLine): ListEntry & { xlistInbox: boolean } {
  let path = normalizePath(line.name);
  if (line.delimiter && path.startsWith(line.delimiter)) path = path.slice(line.delimiter.length);
  const flags = new Set(line.flags);
  let xlistInbox = false;
  if (line.command === "XLIST") {
    for (const f of flags) {
      if (f.toLowerCase() === "\\inbox") {
        flags.delete(f);
        xlistInbox = true;
      }
    }
  }
  const entry: ListEntry & { xlistInbox: boolean } = { path, delimiter: line.delimiter, flags, xlistInbox };
  normalizeFlags(entry);
  return entry;
}

/** \NonExistent implies \Noselect; a \Subscribed attribute is the subscription, not a flag. */
export function normalizeFlags(entry: ListEntry): void {
  if (entry.flags.has("\\NonExistent")) entry.flags.add("\\Noselect");
  if (entry.flags.has("\\Subscribed")) {
    entry.flags.delete("\\Subscribed");
    entry.subscribed = true;
  }
}

/**
 * Adds what an LSUB answer says to the listed entry of that path (a subscribed folder not
 * listed is ignored). Whether a folder can be opened is LIST's to say: an LSUB \Noselect
 * (RFC 3501 6.3.9: a name listed for its subscribed children) never hides a folder LIST gave.
 */
export function mergeLsub(byPath: Map<string, ListEntry>, line: ListLine): void {
  const e = byPath.get(listEntry(line).path);
  if (!e) return;
  e.subscribed = true;
  for (const f of line.flags) if (!/^\\(noselect|nonexistent)$/i.test(f)) e.flags.add(f);
  normalizeFlags(e);
}

const ROLE_ORDER = ["\\Inbox", "\\Flagged", "\\Sent", "\\Drafts", "\\All", "\\Archive", "\\Junk", "\\Trash"];
const SOURCE_ORDER = ["extension", "name", "name-guess"];

const segments = (e: ListEntry): string[] => (e.delimiter ? e.path.split(e.delimiter) : [e.path]);

/**
 * The folders of a listing, resolved and sorted. `specialUseExtension`: the server marks
 * roles itself (SPECIAL-USE or XLIST). `subscriptionKnown`: RETURN (SUBSCRIBED) or LSUB
 * answered; when neither did and no folder came subscribed, every existing folder is taken as
 * subscribed (unknown is not "unsubscribed"). INBOX is always subscribed.
 */
export function resolveFolders(entries: (ListEntry & { xlistInbox?: boolean })[], opts: { specialUseExtension: boolean; subscriptionKnown: boolean }): StoreFolder[] {
  const candidates: { type: string; entry: ListEntry; source: string; depth: number }[] = [];
  for (const entry of entries) {
    const nonExistent = entry.flags.has("\\NonExistent");
    const depth = segments(entry).length;
    if (entry.xlistInbox && entry.path !== "INBOX") candidates.push({ type: "\\Inbox", entry, source: "extension", depth });
    if (entry.path === "INBOX" && !nonExistent) candidates.push({ type: "\\Inbox", entry, source: "name", depth });
    const { flag, source } = specialUse(opts.specialUseExtension, { flags: entry.flags, name: segments(entry).pop()! });
    if (flag && source && (source === "extension" || !nonExistent)) candidates.push({ type: flag, entry, source, depth });
  }
  candidates.sort((a, b) => SOURCE_ORDER.indexOf(a.source) - SOURCE_ORDER.indexOf(b.source) || a.depth - b.depth || a.entry.path.localeCompare(b.entry.path));
  const roles = new Map<ListEntry, { specialUse: string; specialUseSource: string }>();
  const taken = new Set<string>();
  for (const c of candidates) {
    if (taken.has(c.type) || roles.has(c.entry)) continue;
    roles.set(c.entry, { specialUse: c.type, specialUseSource: c.source === "name-guess" ? "name" : c.source });
    taken.add(c.type);
  }
  const assumeSubscribed = !opts.subscriptionKnown && !entries.some((e) => e.subscribed);
  const folders = entries.map((e) => {
    const role = roles.get(e);
    const subscribed = e.subscribed || (assumeSubscribed && !e.flags.has("\\NonExistent")) || role?.specialUse === "\\Inbox";
    const f: StoreFolder & { segments: string[] } = { path: e.path, flags: [...e.flags], ...role, subscribed: Boolean(subscribed), segments: segments(e) };
    if (e.status) f.status = e.status;
    return f;
  });
  folders.sort((a, b) => {
    if (a.specialUse || b.specialUse) {
      if (!b.specialUse) return -1;
      if (!a.specialUse) return 1;
      return ROLE_ORDER.indexOf(a.specialUse) - ROLE_ORDER.indexOf(b.specialUse);
    }
    for (let i = 0; i < a.segments.length; i++) {
      if (a.segments[i] !== b.segments[i]) return a.segments[i]!.localeCompare(b.segments[i] ?? "");
    }
    return a.path.localeCompare(b.path);
  });
  return folders.map(({ segments: _, ...f }) => f);
}
