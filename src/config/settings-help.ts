// The settings an admin may set, listed from the schema itself (one source): dotted key,
// accepted values, default and the description the schema carries (`.describe()`). Used by
// `config set --help` and `domain set --help`. Pure.
import type { z } from "zod";

export interface SettingHelp {
  key: string;
  /** What the value looks like: "true|false", "none|starttls|implicit", "number", "text", "JSON list", ... */
  values: string;
  default?: string;
  description?: string;
}

type Def = {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  in?: unknown;
  valueType?: unknown;
  element?: unknown;
  options?: unknown[];
  entries?: Record<string, string>;
  values?: unknown[];
  defaultValue?: unknown;
};
const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def?: Def } } | undefined)?._zod?.def;
const descriptionOf = (s: unknown): string | undefined => (s as { description?: string } | undefined)?.description;

/** Unwraps default/optional/pipe layers, keeping the first description and the default met. */
function peel(s: unknown): { node: unknown; description?: string; def?: unknown } {
  let description = descriptionOf(s);
  let dflt: unknown;
  for (let d = defOf(s); d; d = defOf(s)) {
    if (d.type === "default" || d.type === "prefault") {
      if (dflt === undefined) dflt = typeof d.defaultValue === "function" ? undefined : d.defaultValue;
      s = d.innerType;
    } else if (d.type === "optional" || d.type === "nullable") s = d.innerType;
    else if (d.type === "pipe") s = d.in;
    else break;
    description ??= descriptionOf(s);
  }
  return { node: s, description, def: dflt };
}

function valuesOf(node: unknown): string {
  const d = defOf(node);
  switch (d?.type) {
    case "boolean":
      return "true|false";
    case "number":
      return "number";
    case "enum":
      return Object.values(d.entries ?? {}).join("|");
    case "literal":
      return (d.values ?? []).map(String).join("|");
    case "array":
      return "JSON list";
    case "record":
      return "JSON object";
    default:
      return "text";
  }
}

function shown(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "string") return v === "" ? '""' : v;
  if (Array.isArray(v) && v.length === 0) return "[]";
  if (v && typeof v === "object") return Object.keys(v).length === 0 ? "{}" : undefined;
  return String(v);
}

/**
 * Every leaf setting under `schema`, depth first, in the schema's order. Records and arrays
 * of objects are listed with a placeholder segment ("classes.<class>.quota", "logins.<n>.path");
 * the variants of a union (auth modes) are merged; `skip` leaves out top-level keys.
 */
export function settingsOf(schema: z.ZodType | unknown, prefix = "", skip: string[] = []): SettingHelp[] {
  const out: SettingHelp[] = [];
  const seen = new Set<string>();
  const walk = (s: unknown, key: string, inherited?: string) => {
    const { node, description, def } = peel(s);
    const d = defOf(node);
    const objects = d?.type === "object" ? [node] : d?.type === "union" ? (d.options ?? []).map((o) => peel(o).node).filter((o) => defOf(o)?.type === "object") : [];
    if (objects.length) {
      for (const o of objects) for (const [k, v] of Object.entries(defOf(o)!.shape ?? {})) if (!(key === prefix && skip.includes(k))) walk(v, key ? `${key}.${k}` : k);
      return;
    }
    if (d?.type === "record" || d?.type === "array") {
      const inner = peel(d.type === "record" ? d.valueType : d.element);
      if (defOf(inner.node)?.type === "object" || defOf(inner.node)?.type === "union") return walk(inner.node, `${key}.<${d.type === "record" ? placeholder(key) : "n"}>`, description);
    }
    if (seen.has(key)) {
      // the same key in several union variants (auth.mode): merge the accepted values
      const prev = out.find((x) => x.key === key)!;
      const more = valuesOf(node);
      if (!prev.values.split("|").includes(more)) prev.values = `${prev.values}|${more}`;
      return;
    }
    seen.add(key);
    out.push({ key, values: valuesOf(node), default: shown(def), description: description ?? inherited });
  };
  walk(schema, prefix);
  return out;
}

function placeholder(key: string): string {
  const last = key.split(".").pop() ?? "";
  return last === "classes" ? "class" : last === "domains" ? "domain" : "name";
}

/** Help text: one block per setting, fitted to `width` columns. */
export function renderSettings(title: string, settings: SettingHelp[], width = 100): string {
  const lines = [title];
  for (const s of settings) {
    lines.push(`  ${s.key}  (${s.values}${s.default !== undefined ? `; default ${s.default}` : ""})`);
    if (s.description) lines.push(...wrap(s.description, width - 6).map((l) => `      ${l}`));
  }
  return lines.join("\n");
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

export interface SettingChange {
  key: string;
  before: unknown;
  after: unknown;
}

/** The leaf settings that differ between two settings objects, as dotted keys (pure). */
export function diffSettings(before: unknown, after: unknown, prefix = ""): SettingChange[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => diffSettings(before[k], after[k], prefix ? `${prefix}.${k}` : k));
  }
  if (isObj(before) || isObj(after)) {
    // only one side is an object: a whole object appeared or went (e.g. auth), by its leaves
    return diffSettings(isObj(before) ? before : {}, isObj(after) ? after : {}, prefix).map((c) => ({ ...c, before: isObj(before) ? c.before : before }));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ key: prefix, before, after }];
}

/** "key: before → after" lines for a set command's confirmation. */
export function changeLines(changes: SettingChange[]): string[] {
  const show = (v: unknown) => (v === undefined ? "(not set)" : typeof v === "string" ? v : JSON.stringify(v));
  return changes.map((c) => `${c.key}: ${show(c.before)} → ${show(c.after)}`);
}
