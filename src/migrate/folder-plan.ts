// Which old folder goes to which new folder: namespace prefixes, hierarchy separators,
// special-use roles, rename rules and excludes. Pure: no sockets, fully unit-tested.
import { createHash } from "node:crypto";
import iconv from "iconv-lite";
import type { Layout, ListedFolder } from "../mailstore/port.ts";
import { SOURCE_PROFILES, type SourceProfile } from "./source-profiles.ts";

export type { Layout, ListedFolder };

export const SPECIAL_USE_ROLES = ["\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive"] as const;
export type SpecialUseRole = (typeof SPECIAL_USE_ROLES)[number];

const DEFAULT_ROLE_NAMES: Record<SpecialUseRole, string> = {
  "\\Sent": "Sent",
  "\\Drafts": "Drafts",
  "\\Trash": "Trash",
  "\\Junk": "Junk",
  "\\Archive": "Archive",
};

export interface FolderOptions {
  separatorReplacement: string;
  exclude: string[];
  rename: Record<string, string>;
  /** Longest name segment the new server takes, in bytes as sent (modified UTF-7). */
  maxNameBytes?: number;
  /** The old server's profile: folders that are not mail of their own, role names (generic when unset). */
  profile?: SourceProfile;
  /** Copy a \All folder (every message again) instead of skipping it. */
  includeAll?: boolean;
}

/** What decides whether an old folder is copied at all. */
export type FolderRules = Pick<FolderOptions, "exclude" | "rename" | "profile" | "includeAll">;

/** An old folder whose messages are not copied, and the rule that says so. */
export interface SkippedFolder {
  old: string;
  /** folders.exclude: the admin's pattern; special-use: a view of mail held elsewhere (\All, \Important, \Flagged); profile: a folder the profile knows is no mail of its own. */
  rule: "folders.exclude" | "special-use" | "profile";
  /** The pattern, flag or name that matched. */
  detail: string;
}

export type RenameReason = "separator" | "special-use" | "rename-rule" | "collision" | "unsafe-name";
export const RENAME_REASONS: readonly RenameReason[] = ["separator", "special-use", "rename-rule", "collision", "unsafe-name"];

/** What no new server holds in a folder name: control characters (NUL, TAB, CR, LF, DEL, C1), undecodable bytes (U+FFFD, a lone surrogate). */
const UNSAFE_IN_NAME = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd\ud800-\udfff]/gu;

/** A name's length as the new server receives it: modified UTF-7 (RFC 3501 5.1.3), where "é" takes 5 bytes. */
export function wireLength(name: string): number {
  return /[&\u0080-\uffff]/.test(name) ? iconv.encode(name, "utf-7-imap").length : name.length;
}

/**
 * A name segment the new server can hold: each unsafe character replaced (visibly, with the
 * separator replacement or "_"), and one longer than `maxBytes` on the wire cut to fit, ending
 * in "~" and a hash of the whole name (two long names that start alike stay apart). Pure.
 */
export function safeSegment(segment: string, replacement: string, maxBytes = 200): string {
  let s = segment.replace(UNSAFE_IN_NAME, replacement || "_");
  if (wireLength(s) > maxBytes) {
    const tag = `~${createHash("sha256").update(segment).digest("hex").slice(0, 12)}`;
    const chars = [...s];
    let n = Math.min(chars.length, maxBytes);
    while (n > 0 && wireLength(chars.slice(0, n).join("")) + tag.length > maxBytes) n--;
    s = chars.slice(0, n).join("") + tag;
  }
  return s;
}

export interface Rename {
  from: string;
  to: string;
  reason: RenameReason;
}

export interface PlannedFolder {
  old: string;
  target: string;
  /** false for \Noselect parents: nothing to copy, the hierarchy comes from their children. */
  selectable: boolean;
  subscribed: boolean;
  role?: SpecialUseRole;
}

export interface FolderPlan {
  folders: PlannedFolder[];
  renamed: Rename[];
  /** Old folders not copied, with the rule that skipped each. */
  skipped: SkippedFolder[];
}

const isInbox = (s: string) => s.toUpperCase() === "INBOX";

function hasFlag(f: ListedFolder, flag: string): boolean {
  return f.flags.some((x) => x.toLowerCase() === flag.toLowerCase());
}

/** A folder of the personal namespace (INBOX, or under the namespace prefix). */
export function inPersonalNamespace(path: string, layout: Layout): boolean {
  return isInbox(path) || !layout.prefix || path.toUpperCase().startsWith(layout.prefix.toUpperCase());
}

export function isExcluded(path: string, patterns: string[]): boolean {
  return patterns.some((p) => globMatch(p, path));
}

/** The folder's path below the personal namespace, levels joined by "/": what profiles name. */
function profilePath(f: ListedFolder, layout: Layout): string {
  return logicalSegments(f.path, layout).join("/");
}

/**
 * Why an old folder's messages are not copied by rule, or undefined: the admin's exclude
 * patterns first; then, unless a rename rule names the folder itself (the admin's word beats
 * a profile's default), a special-use view (\All unless includeAll) or a folder the profile
 * knows is no mail of its own.
 */
export function skipRule(f: ListedFolder, layout: Layout, rules: FolderRules): SkippedFolder | undefined {
  const pattern = rules.exclude.find((p) => globMatch(p, f.path));
  if (pattern !== undefined) return { old: f.path, rule: "folders.exclude", detail: pattern };
  if (Object.hasOwn(rules.rename, f.path)) return undefined;
  const profile = rules.profile ?? SOURCE_PROFILES.generic;
  const marks = [...f.flags, f.specialUse ?? ""].map((x) => x.toLowerCase());
  const flag = profile.skipSpecialUse.find((s) => marks.includes(s.toLowerCase()) && !(rules.includeAll && s === "\\All"));
  if (flag) return { old: f.path, rule: "special-use", detail: flag };
  const path = profilePath(f, layout);
  const all = rules.includeAll ? undefined : profile.allMailNames?.find((p) => globMatch(p, path));
  const name = all ?? profile.skipNames.find((p) => globMatch(p, path));
  return name ? { old: f.path, rule: "profile", detail: name } : undefined;
}

/** The old folders a rule skips (what planFolders reports as `skipped`), from the listing alone. */
export function skippedFolders(folders: ListedFolder[], layout: Layout, rules: FolderRules): SkippedFolder[] {
  return folders
    .filter((f) => !hasFlag(f, "\\NonExistent") && inPersonalNamespace(f.path, layout))
    .flatMap((f) => skipRule(f, layout, rules) ?? [])
    .sort((a, b) => (a.old < b.old ? -1 : a.old > b.old ? 1 : 0));
}

/** An old folder whose messages are copied: selectable, personal, not skipped by a rule. */
export function copiedFromOld(f: ListedFolder, layout: Layout, rules: FolderRules): boolean {
  return !hasFlag(f, "\\NonExistent") && !hasFlag(f, "\\Noselect") && inPersonalNamespace(f.path, layout) && !skipRule(f, layout, rules);
}

/** The folder with the role its profile gives its name, when the server declared none. */
function withProfileRole(f: ListedFolder, layout: Layout, profile: SourceProfile | undefined): ListedFolder {
  if (!profile || (roleOf(f) && f.specialUseSource !== "name")) return f;
  const path = profilePath(f, layout).toLowerCase();
  const hit = Object.entries(profile.roleNames).find(([name]) => name.toLowerCase() === path);
  return hit ? { ...f, specialUse: hit[1], specialUseSource: "extension" } : f;
}

/** Glob with "*" (any run of characters) and "?" (one character), matched on the whole old path. */
export function globMatch(pattern: string, path: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
  return re.test(path);
}

/** The folder's levels below the personal namespace: "INBOX.Work.2024" on a Courier server → ["Work", "2024"]. */
export function logicalSegments(path: string, layout: Layout): string[] {
  if (isInbox(path)) return ["INBOX"];
  let rest = path;
  if (layout.prefix && rest.toUpperCase().startsWith(layout.prefix.toUpperCase())) rest = rest.slice(layout.prefix.length);
  return layout.delimiter ? rest.split(layout.delimiter) : [rest];
}

function joinTarget(segments: string[], layout: Layout): string {
  if (segments.length === 1 && isInbox(segments[0]!)) return "INBOX";
  // Children of INBOX on a server whose personal folders already live under "INBOX."
  const segs = layout.prefix && isInbox(segments[0]!) && layout.prefix.toUpperCase() === `INBOX${layout.delimiter}` ? segments.slice(1) : segments;
  return layout.prefix + segs.join(layout.delimiter);
}

function roleOf(f: ListedFolder): SpecialUseRole | undefined {
  const role = SPECIAL_USE_ROLES.find((r) => r.toLowerCase() === (f.specialUse ?? "").toLowerCase());
  if (!role) return undefined;
  return f.specialUseSource === undefined || f.specialUseSource === "extension" || f.specialUseSource === "name" ? role : undefined;
}

/** Longest rename rule that is the folder itself or one of its ancestors. */
function renameRule(path: string, old: Layout, rules: Record<string, string>): { from: string; to: string; rest: string } | undefined {
  let best: { from: string; to: string; rest: string } | undefined;
  for (const [from, to] of Object.entries(rules)) {
    const hit = path === from ? "" : old.delimiter && path.startsWith(from + old.delimiter) ? path.slice(from.length + old.delimiter.length) : undefined;
    if (hit !== undefined && (!best || from.length > best.from.length)) best = { from, to, rest: hit };
  }
  return best;
}

/** An earlier run's decision for an old folder: kept as it was. */
export interface PinnedTarget {
  target: string;
  reason?: RenameReason;
}

export function planFolders(
  oldFolders: ListedFolder[],
  oldLayout: Layout,
  targetLayout: Layout,
  targetFolders: ListedFolder[],
  options: FolderOptions,
  pinned: Record<string, PinnedTarget> = {},
): FolderPlan {
  const folders: PlannedFolder[] = [];
  const renamed: Rename[] = [];
  const skipped: SkippedFolder[] = [];
  const claimed = new Map<string, string>(); // target key → old path
  const key = (t: string) => (isInbox(t) ? "INBOX" : t);

  // Target folders that already carry a role (server-declared beats a name guess).
  const targetRole = new Map<SpecialUseRole, string>();
  for (const pass of ["extension", "name"]) {
    for (const t of targetFolders) {
      const r = roleOf(t);
      if (r && (t.specialUseSource ?? "extension") === pass && !targetRole.has(r)) targetRole.set(r, t.path);
    }
  }

  const sorted = oldFolders
    .map((f) => withProfileRole(f, oldLayout, options.profile))
    .filter((f) => !hasFlag(f, "\\NonExistent") && inPersonalNamespace(f.path, oldLayout))
    .sort((a, b) => (isInbox(a.path) ? -1 : isInbox(b.path) ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  // A role goes to one old folder only: the server-declared one first, then top-level name guesses.
  const roleOwner = new Map<SpecialUseRole, string>();
  for (const pass of ["extension", "name"]) {
    for (const f of sorted) {
      const r = roleOf(f);
      if (r && (f.specialUseSource ?? "extension") === pass && !roleOwner.has(r) && !hasFlag(f, "\\Noselect")) roleOwner.set(r, f.path);
    }
  }

  interface Draft extends PlannedFolder {
    reason?: RenameReason;
    priority: number;
  }
  const drafts: Draft[] = [];
  for (const f of sorted) {
    const skip = skipRule(f, oldLayout, options);
    if (skip) {
      skipped.push(skip);
      continue;
    }
    const segments = logicalSegments(f.path, oldLayout);
    let reason: RenameReason | undefined;
    const fit = (s: string) => safeSegment(s, options.separatorReplacement, options.maxNameBytes);
    const cleaned = segments.map((s) => {
      let out = s;
      if (out.includes(targetLayout.delimiter)) {
        reason = "separator";
        out = out.split(targetLayout.delimiter).join(options.separatorReplacement);
      }
      const safe = fit(out);
      if (safe !== out) reason = "unsafe-name";
      return safe;
    });
    let target = joinTarget(cleaned, targetLayout);
    const natural = target;

    const rule = renameRule(f.path, oldLayout, options.rename);
    const role = roleOwner.get(roleOf(f) as SpecialUseRole) === f.path ? roleOf(f) : undefined;
    if (rule) {
      const restSegs = rule.rest ? logicalSegments(oldLayout.prefix + rule.rest, oldLayout).map((s) => fit(s.split(targetLayout.delimiter).join(options.separatorReplacement))) : [];
      target = [rule.to, ...restSegs].join(targetLayout.delimiter);
      reason = "rename-rule";
    } else if (role) {
      target = targetRole.get(role) ?? targetLayout.prefix + DEFAULT_ROLE_NAMES[role];
      if (target !== natural) reason = "special-use";
    }
    const selectable = !hasFlag(f, "\\Noselect");
    const pin = Object.hasOwn(pinned, f.path) ? pinned[f.path] : undefined;
    if (pin) {
      // planned by an earlier run: that target and reason stand, and claim their name first
      drafts.push({ old: f.path, target: pin.target, selectable, subscribed: f.subscribed ?? false, role, reason: pin.reason, priority: -1 });
      continue;
    }
    // Who keeps a contested name: INBOX, then role folders and rename rules, then the rest.
    const priority = isInbox(f.path) ? 0 : role || rule ? 1 : 2;
    drafts.push({ old: f.path, target, selectable, subscribed: f.subscribed ?? false, role, reason, priority });
  }

  // targets of folders planned earlier that the old server no longer lists stay taken: their
  // mail is there, and another old folder must not be merged into it
  const drafted = new Set(drafts.map((d) => d.old));
  for (const [old, pin] of Object.entries(pinned)) if (!drafted.has(old) && !claimed.has(key(pin.target))) claimed.set(key(pin.target), old);
  for (const d of [...drafts].sort((a, b) => a.priority - b.priority)) {
    if (!d.selectable) continue;
    if (d.priority >= 0 && claimed.has(key(d.target))) {
      let n = 2;
      while (claimed.has(key(`${d.target} (${n})`))) n++;
      d.target = `${d.target} (${n})`;
      d.reason = "collision";
    }
    claimed.set(key(d.target), d.old);
  }
  for (const { reason, priority: _p, ...planned } of drafts) {
    if (reason && planned.target !== planned.old) renamed.push({ from: planned.old, to: planned.target, reason });
    folders.push(planned);
  }
  return { folders, renamed, skipped };
}
