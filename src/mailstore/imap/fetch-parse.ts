// Reads the untagged answers the folder reader needs (RFC 3501 section 7): FETCH items (UID,
// FLAGS, INTERNALDATE, RFC822.SIZE, BODY[...] as literal, quoted string or NIL), SEARCH,
// EXISTS and the response codes of OK (STATUS answers are list-parse.ts's). Any other item of
// a FETCH (MODSEQ, X-GM-…, a BODYSTRUCTURE) is parsed for its shape and skipped. Malformed
// input is an error naming what was expected, never a guess. Pure: a framed response in,
// values out.
import type { Response } from "./framer.ts";
import { ParseError, Tokens, type Value } from "./tokens.ts";

export { ParseError };

/** What one FETCH response said about one message. */
export interface FetchItems {
  seq: number;
  uid?: number;
  flags?: string[];
  internalDate?: Date;
  size?: number;
  /** BODY[] or BODY[]<n>: the bytes, or null when the server answered NIL. */
  body?: Buffer | null;
  /** BODY[HEADER]. */
  header?: Buffer | null;
}

const FETCH_HEAD = /^\* (\d+) FETCH \(/i;

const num = (v: Value | undefined, what: string): number => {
  const n = v && "atom" in v && /^\d{1,10}$/.test(v.atom) ? Number(v.atom) : NaN;
  if (!Number.isFinite(n)) throw new ParseError(`${what} is not a number`);
  return n;
};

const bytesOrNil = (v: Value, what: string): Buffer | null => {
  if ("bytes" in v) return v.bytes;
  if ("atom" in v && v.atom.toUpperCase() === "NIL") return null;
  throw new ParseError(`${what} is neither a string nor NIL`);
};

/** FLAGS (...): a list of atoms. */
function flagList(t: Tokens): string[] {
  if (t.peek() !== "(") {
    t.value(); // "expected a value" where there is none
    throw new ParseError("FLAGS is not a list");
  }
  t.expect("(");
  const flags: string[] = [];
  for (;;) {
    const c = t.peek();
    if (c === ")") break;
    if (c === "") throw new ParseError(`unterminated list at ${t.where()}`);
    if (c === "(" || c === '"' || c === "{" || c === "~") {
      // a list, a string or a literal: not a flag (an atom starting with "~" is one)
      const v = t.value(1);
      if (Array.isArray(v) || !("atom" in v)) throw new ParseError("a flag is not an atom");
      flags.push(v.atom);
    } else flags.push(t.atom());
  }
  t.expect(")");
  return flags;
}

const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };
const DATE_TIME = /^\s?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

/** RFC 3501 date-time ("01-Jan-2024 10:00:00 +0100", day possibly space-padded); other forms as JavaScript reads them. */
export function parseDateTime(s: string): Date | undefined {
  const m = DATE_TIME.exec(s);
  if (m) {
    const month = MONTHS[m[2]!.toLowerCase()];
    if (month !== undefined) {
      const offset = (m[7] === "-" ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
      const t = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) - offset * 60_000;
      if (Number.isFinite(t)) return new Date(t);
    }
  }
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The items of a `* n FETCH (...)` response; undefined when the response is not a FETCH. */
export function parseFetch(r: Response): FetchItems | undefined {
  const head = FETCH_HEAD.exec(r.lines[0]!);
  if (!head) return undefined;
  const out: FetchItems = { seq: Number(head[1]) };
  const t = new Tokens(r, head[0].length);
  while (t.peek() !== ")") {
    if (t.peek() === "") throw new ParseError(`unterminated FETCH response at ${t.where()}`);
    const name = t.atom().toUpperCase();
    // the items of every message read without a value object each: its flags and its date
    if (name === "FLAGS") {
      out.flags = flagList(t);
      continue;
    }
    if (name === "INTERNALDATE" && t.peek() === '"') {
      out.internalDate = parseDateTime(t.quoted());
      continue;
    }
    const v = t.value();
    if (name === "UID") out.uid = num(v, "UID");
    else if (name === "RFC822.SIZE") out.size = num(v, "RFC822.SIZE");
    else if (name === "INTERNALDATE") {
      const s = bytesOrNil(v, "INTERNALDATE");
      out.internalDate = s ? parseDateTime(s.toString("latin1")) : undefined;
    } else if (/^(BODY|BINARY)\[\](<\d+>)?$/.test(name) || name === "RFC822") out.body = bytesOrNil(v, name);
    else if (name === "BODY[HEADER]" || name === "RFC822.HEADER") out.header = bytesOrNil(v, name);
  }
  t.expect(")");
  if (!t.atEnd()) throw new ParseError(`text after the FETCH response at ${t.where()}`);
  return out;
}

/** The numbers of a `* SEARCH ...` response; undefined when the response is not a SEARCH. */
export function parseSearch(text: string): number[] | undefined {
  const m = /^\* SEARCH(?: (.*))?$/i.exec(text);
  if (!m) return undefined;
  const out: number[] = [];
  for (const w of (m[1] ?? "").split(" ")) {
    if (!w) continue;
    // a trailing (MODSEQ n) of CONDSTORE is not a UID
    if (w.startsWith("(")) break;
    if (!/^\d{1,10}$/.test(w)) throw new ParseError(`a SEARCH result holds ${JSON.stringify(w.slice(0, 20))}`);
    out.push(Number(w));
  }
  return out;
}

/** What a SELECT's or EXAMINE's untagged answers say (as the session keeps them, without "* "): EXISTS, [UIDVALIDITY n], [UIDNEXT n]. */
export function folderFacts(texts: string[]): { exists?: number; uidValidity?: number; uidNext?: number } {
  const out: { exists?: number; uidValidity?: number; uidNext?: number } = {};
  for (const l of texts) {
    let m = /^(\d{1,10}) EXISTS$/i.exec(l);
    if (m) out.exists = Number(m[1]);
    m = /^OK \[UIDVALIDITY (\d{1,10})\]/i.exec(l);
    if (m) out.uidValidity = Number(m[1]);
    m = /^OK \[UIDNEXT (\d{1,10})\]/i.exec(l);
    if (m) out.uidNext = Number(m[1]);
  }
  return out;
}
