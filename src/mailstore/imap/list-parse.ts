// Reads the untagged answers of folder listing (RFC 3501 7.2, RFC 5258, RFC 5819, RFC 2342):
// `* LIST|LSUB|XLIST (attributes) delimiter name [extended data]`, `* STATUS name (items)` and
// `* NAMESPACE personal other shared`. Names arrive quoted, as literals or as atoms, in modified
// UTF-7 (decoded here; raw 8-bit bytes are read as UTF-8). Malformed input is a ParseError
// naming where, never a guess. Pure: a framed response in, values out.
import iconv from "iconv-lite";
import type { Response } from "./framer.ts";
import { ParseError, Tokens, type Value } from "./tokens.ts";

/** One `* LIST` (or LSUB, XLIST) answer: the name decoded, as the server spelled it. */
export interface ListLine {
  command: "LIST" | "LSUB" | "XLIST";
  name: string;
  delimiter: string | null;
  flags: string[];
}

/** The personal namespace: where a user's folders are and how their levels are joined. */
export interface Namespace {
  prefix: string;
  delimiter: string | null;
}

const HEAD = /^\* (LIST|LSUB|XLIST|STATUS|NAMESPACE) /i;

/** The keyword of an untagged listing answer (LIST, LSUB, XLIST, STATUS, NAMESPACE), else undefined. */
export function listingKind(r: Response): string | undefined {
  return HEAD.exec(r.lines[0]!)?.[1]!.toUpperCase();
}

/** A mailbox name from the wire: 8-bit bytes as UTF-8, then modified UTF-7 decoded (kept as sent when it is not valid UTF-7). */
export function decodeName(raw: Buffer): string {
  const s = raw.toString("utf8");
  if (!s.includes("&")) return s;
  try {
    return iconv.decode(Buffer.from(s), "utf-7-imap");
  } catch {
    return s;
  }
}

const text = (v: Value | undefined, what: string): Buffer | null => {
  if (v === undefined || Array.isArray(v)) throw new ParseError(`${what} is not a string`);
  if ("bytes" in v) return v.bytes;
  return v.atom.toUpperCase() === "NIL" ? null : Buffer.from(v.atom, "latin1");
};

const atoms = (v: Value, what: string): string[] => {
  if (!Array.isArray(v)) throw new ParseError(`${what} is not a list`);
  return v.map((f) => {
    if (Array.isArray(f) || !("atom" in f)) throw new ParseError(`${what} holds something other than an atom`);
    return f.atom;
  });
};

/** A `* LIST|LSUB|XLIST` answer; undefined for any other. Extended data after the name (RFC 5258) is read for its shape and ignored. */
export function parseListLine(r: Response): ListLine | undefined {
  const head = /^\* (LIST|LSUB|XLIST) /i.exec(r.lines[0]!);
  if (!head) return undefined;
  const t = new Tokens(r, head[0].length);
  const flags = atoms(t.value(), "the attributes");
  const delim = text(t.value(), "the delimiter");
  const name = text(t.value(), "the name");
  if (name === null) throw new ParseError("the name is NIL");
  if (!t.atEnd()) t.value();
  if (!t.atEnd()) throw new ParseError(`text after the ${head[1]} answer at ${t.where()}`);
  return { command: head[1]!.toUpperCase() as ListLine["command"], name: decodeName(name), delimiter: delim === null ? null : delim.toString("latin1"), flags };
}

/**
 * A `* STATUS name (UIDNEXT n UIDVALIDITY n ...)` answer with its name (as LIST-STATUS and
 * STATUS send them); undefined for any other. An id that is not a non-zero number (RFC 3501's
 * nz-number) is none. One parser for every STATUS answer: a malformed one is a ParseError.
 */
export function parseNamedStatus(r: Response): { name: string; uidNext?: number; uidValidity?: number } | undefined {
  const head = /^\* STATUS /i.exec(r.lines[0]!);
  if (!head) return undefined;
  const t = new Tokens(r, head[0].length);
  const name = text(t.value(), "the name");
  if (name === null) throw new ParseError("the name is NIL");
  const items = atoms(t.value(), "the STATUS items");
  const out: { name: string; uidNext?: number; uidValidity?: number } = { name: decodeName(name) };
  for (let i = 0; i + 1 < items.length; i += 2) {
    const v = /^[1-9]\d{0,9}$/.test(items[i + 1]!) ? Number(items[i + 1]) : undefined;
    const k = items[i]!.toUpperCase();
    if (k === "UIDNEXT") out.uidNext = v;
    else if (k === "UIDVALIDITY") out.uidValidity = v;
  }
  return out;
}

/**
 * The first personal namespace of a `* NAMESPACE` answer, its prefix ending in its delimiter
 * ("INBOX" with "." is "INBOX."); undefined when the answer names none.
 */
export function parseNamespace(r: Response): Namespace | undefined {
  const head = /^\* NAMESPACE /i.exec(r.lines[0]!);
  if (!head) return undefined;
  const t = new Tokens(r, head[0].length);
  const personal = t.value();
  if (!Array.isArray(personal)) {
    if ("atom" in personal && personal.atom.toUpperCase() === "NIL") return undefined;
    throw new ParseError("the personal namespaces are neither a list nor NIL");
  }
  for (const ns of personal) {
    if (!Array.isArray(ns) || ns.length < 2) throw new ParseError("a namespace is not a (prefix delimiter) list");
    const prefix = text(ns[0], "a namespace prefix")?.toString("utf8") ?? "";
    const delimiter = text(ns[1], "a namespace delimiter")?.toString("latin1") ?? null;
    return { prefix: delimiter && prefix && !prefix.endsWith(delimiter) ? prefix + delimiter : prefix, delimiter };
  }
  return undefined;
}
