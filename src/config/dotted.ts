// `key=value` assignments with dotted keys from the settings schema
// (`migration.old.imapPort=993`, `logins.0.path=/var/log/dovecot.log`).
import type { z } from "zod";
import { inputError } from "../errors.ts";

/**
 * Names that would reach an object's prototype through a dotted key or a JSON value
 * (`__proto__.x=1`, `constructor.prototype.x=1`): never a setting, refused at every door.
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** The path of the first reserved name used as a key anywhere in `value` (parsed JSON), if any. */
export function reservedKeyPath(value: unknown, path: (string | number)[] = []): (string | number)[] | undefined {
  if (value === null || typeof value !== "object") return undefined;
  for (const k of Object.keys(value)) {
    if (RESERVED_NAMES.has(k)) return [...path, k];
    const inner = reservedKeyPath((value as Record<string, unknown>)[k], [...path, Array.isArray(value) ? Number(k) : k]);
    if (inner) return inner;
  }
  return undefined;
}

function reservedError(at: string, name: string) {
  return inputError(`${at}: "${name}" is not a setting name (it is reserved: it would reach the prototype of every object)`);
}

export interface Assignment {
  key: string;
  path: (string | number)[];
  raw: string;
}

export function parseAssignment(text: string): Assignment {
  const eq = text.indexOf("=");
  if (eq <= 0) throw inputError(`"${text}" is not key=value (e.g. migration.old.imapPort=993)`);
  const key = text.slice(0, eq).trim();
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_@-]+)*$/.test(key)) throw inputError(`"${key}" is not a dotted settings key`);
  if (/password$/i.test(key)) {
    throw inputError(`${key}: passwords are never given on the command line`, {
      hint: "put the password in a file readable only by root and set passwordFile=/path/to/file",
    });
  }
  const path = key.split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const reserved = path.find((p) => typeof p === "string" && RESERVED_NAMES.has(p));
  if (reserved !== undefined) throw reservedError(key, String(reserved));
  return { key, path, raw: text.slice(eq + 1) };
}

/** The value as typed: JSON when it parses (993, true, ["a"]), otherwise the plain string. */
function typed(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Refuses a reserved name in a path (every writer and reader of dotted paths goes through it). */
function ownPath(path: (string | number)[]): void {
  const reserved = path.find((p) => typeof p === "string" && RESERVED_NAMES.has(p));
  if (reserved !== undefined) throw reservedError(path.join("."), String(reserved));
}

export function setPath(target: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  ownPath(path);
  let node: Record<string | number, unknown> = target;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const next = Object.hasOwn(node, k) ? node[k] : undefined;
    if (next === undefined || next === null || typeof next !== "object") {
      node[k] = typeof path[i + 1] === "number" ? [] : {};
    }
    node = node[k] as Record<string | number, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

export function getPath(source: unknown, path: (string | number)[]): unknown {
  ownPath(path);
  let node = source as Record<string | number, unknown> | undefined;
  for (const k of path) {
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, k)) return undefined;
    node = node[k] as Record<string | number, unknown> | undefined;
  }
  return node;
}

export function formatIssue(issue: z.core.$ZodIssue, prefix = "", schema?: z.ZodType, raw?: string): string {
  const at = [prefix, ...issue.path.map(String)].filter(Boolean).join(".") || "(settings)";
  if (issue.code === "unrecognized_keys") {
    const known = schema ? keysAt(schema, issue.path) : [];
    // a key of another variant (auth.user with mode=captured) is known, just not with these settings
    const elsewhere = issue.keys.filter((k) => known.includes(k));
    if (elsewhere.length === issue.keys.length) {
      const d = schema ? discriminatorAt(schema, issue.path) : undefined;
      return `${at}: ${elsewhere.map((k) => `"${k}"`).join(", ")} ${elsewhere.length === 1 ? "does" : "do"} not apply with these settings${d ? ` (only with another ${at}.${d}: ${d} decides which settings apply)` : ""}`;
    }
    const hints = issue.keys.map((k) => closest(k, known)).filter((x): x is string => x !== undefined && !issue.keys.includes(x));
    const knownHere = known.length ? `; known here: ${known.join(", ")}` : "";
    return `${at}: unknown setting ${issue.keys.map((k) => `"${k}"`).join(", ")}${hints.length ? ` (did you mean ${hints.map((h) => `"${h}"`).join(", ")}?)` : ""}${knownHere}`;
  }
  if (issue.code === "invalid_type") {
    // zod's "Invalid input: expected number, received string" in words, with the value
    const want = TYPE_WORDS[issue.expected] ?? issue.expected;
    return raw === undefined ? `${at}: required (${want})` : `${at}: ${JSON.stringify(raw)} is not ${want}`;
  }
  return `${at}: ${issue.message}`;
}

const TYPE_WORDS: Record<string, string> = {
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  string: "text",
  array: 'a JSON list, e.g. ["a","b"]',
  object: 'a JSON object, e.g. {"a":"b"}',
  record: 'a JSON object, e.g. {"a":"b"}',
};

type Def = { type: string; shape?: Record<string, unknown>; innerType?: unknown; in?: unknown; valueType?: unknown; element?: unknown; options?: unknown[] };
const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def?: Def } } | undefined)?._zod?.def;

function unwrap(s: unknown): unknown {
  for (let d = defOf(s); d; d = defOf(s)) {
    if (d.type === "default" || d.type === "optional" || d.type === "nullable" || d.type === "prefault") s = d.innerType;
    else if (d.type === "pipe") s = d.in;
    else break;
  }
  return s;
}

/** The setting names a schema knows at `path` (objects, records, arrays, unions followed). */
export function keysAt(schema: unknown, path: PropertyKey[]): string[] {
  let nodes = [unwrap(schema)];
  for (const k of path) {
    nodes = nodes.flatMap((n) => {
      const d = defOf(n);
      if (!d) return [];
      if (d.type === "object") return d.shape && Object.hasOwn(d.shape, String(k)) ? [unwrap(d.shape[String(k)])] : [];
      if (d.type === "record") return [unwrap(d.valueType)];
      if (d.type === "array") return [unwrap(d.element)];
      if (d.type === "union") return (d.options ?? []).map(unwrap).flatMap((o) => (defOf(o)?.shape && Object.hasOwn(defOf(o)!.shape!, String(k)) ? [unwrap(defOf(o)!.shape![String(k)])] : []));
      return [];
    });
  }
  const keys = nodes.flatMap((n) => {
    const d = defOf(n);
    if (d?.type === "object") return Object.keys(d.shape ?? {});
    if (d?.type === "union") return (d.options ?? []).flatMap((o) => Object.keys(defOf(unwrap(o))?.shape ?? {}));
    return [];
  });
  return [...new Set(keys)];
}

/** The key that picks a variant of the union at `path` (e.g. "mode"), if the node there is a discriminated union. */
export function discriminatorAt(schema: unknown, path: PropertyKey[]): string | undefined {
  let node = unwrap(schema);
  for (const k of path) {
    const d = defOf(node);
    if (d?.type === "object" && d.shape && Object.hasOwn(d.shape, String(k))) node = unwrap(d.shape[String(k)]);
    else if (d?.type === "record") node = unwrap(d.valueType);
    else if (d?.type === "array") node = unwrap(d.element);
    else return undefined;
  }
  return (defOf(node) as { discriminator?: string } | undefined)?.discriminator;
}

/** The known name nearest to a mistyped one (edit distance at most 2, or a third of its length), if any. */
export function closest(word: string, known: string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
        prev = cur;
      }
    }
    return row[b.length]!;
  };
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = dist(word, k);
    if (!best || d < best.d) best = { k, d };
  }
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.k : undefined;
}

type Attempt<T> = { ok: true; data: T } | { ok: false; draft: Record<string, unknown>; issues: z.core.$ZodIssue[]; message: string };

/**
 * Applies the assignments to a copy of `current` and validates the result with `schema`.
 * A value that fails as JSON is retried as a plain string (a host named "123", a password
 * file path). Returns the validated object or the draft and every issue, formatted.
 */
function attempt<T>(schema: z.ZodType<T>, current: unknown, assignments: Assignment[], prefix: string): Attempt<T> {
  const draft = structuredClone(current ?? {}) as Record<string, unknown>;
  for (const a of assignments) {
    const inValue = reservedKeyPath(typed(a.raw));
    if (inValue) throw reservedError([prefix, a.key, ...inValue].filter(Boolean).join("."), String(inValue[inValue.length - 1]));
  }
  // a new value of a variant's discriminator (auth.mode=oauth2 where it was master) starts that
  // variant afresh: the settings of the old one do not apply to it (this command sets the new ones)
  for (const a of assignments) {
    const parent = a.path.slice(0, -1);
    if (parent.length > 0 && discriminatorAt(schema, parent) === a.path[a.path.length - 1] && getPath(draft, a.path) !== undefined && getPath(draft, a.path) !== typed(a.raw)) setPath(draft, parent, {});
  }
  const asString = new Set<string>();
  // the first (typed) attempt's complaint about a key is the one to show if the string retry fails too
  const typedIssues = new Map<string, z.core.$ZodIssue>();
  for (;;) {
    for (const a of assignments) setPath(draft, a.path, asString.has(a.key) ? a.raw : typed(a.raw));
    const result = schema.safeParse(draft);
    if (result.success) return { ok: true, data: result.data };
    for (const i of result.error.issues) {
      const at = i.path.join(".");
      if (!typedIssues.has(at) && assignments.some((a) => a.path.join(".") === at && !asString.has(a.key))) typedIssues.set(at, i);
    }
    const retry = assignments.filter(
      (a) => !asString.has(a.key) && typeof typed(a.raw) !== "string" && result.error.issues.some((i) => i.path.join(".") === a.path.join(".")),
    );
    if (retry.length === 0) {
      const issues = result.error.issues.map((i) => typedIssues.get(i.path.join(".")) ?? i);
      const rawAt = (i: z.core.$ZodIssue) => assignments.find((a) => a.path.join(".") === i.path.join("."))?.raw;
      return { ok: false, draft, issues, message: issues.map((i) => formatIssue(i, prefix, schema, rawAt(i))).join("\n") };
    }
    for (const a of retry) asString.add(a.key);
  }
}

/**
 * Applies the assignments to a copy of `current` and validates the result with `schema`.
 * A value that fails as JSON is retried as a plain string (a host named "123", a password
 * file path). Returns the validated object or throws an input error naming every bad path.
 */
export function applyAssignments<T>(schema: z.ZodType<T>, current: unknown, assignments: Assignment[], prefix = ""): T {
  const r = attempt(schema, current, assignments, prefix);
  if (!r.ok) throw inputError(r.message);
  return r.data;
}

/** Whether an issue is about one of the assigned values itself (not about what else the settings lack). */
function concerns(issue: z.core.$ZodIssue, assignments: Assignment[]): boolean {
  return assignments.some((a) => {
    const at = a.path.join(".");
    const where = issue.path.join(".");
    if (where === at || where.startsWith(`${at}.`)) return true;
    return issue.code === "unrecognized_keys" && where === a.path.slice(0, -1).join(".") && issue.keys.includes(String(a.path[a.path.length - 1]));
  });
}

/**
 * A form's step (the console's Configure screen sets one key at a time): like
 * applyAssignments, but when what is wrong is only what the settings still lack (a new auth
 * mode's other settings), the draft is returned as typed with those gaps named, to be
 * filled by the next steps. A value that is itself wrong is refused (throws) as always.
 */
export function draftAssignments<T>(schema: z.ZodType<T>, current: unknown, assignments: Assignment[], prefix = ""): { value: T; missing: string[] } {
  const r = attempt(schema, current, assignments, prefix);
  if (r.ok) return { value: r.data, missing: [] };
  if (r.issues.some((i) => concerns(i, assignments))) throw inputError(r.message);
  return { value: r.draft as T, missing: r.message.split("\n") };
}
