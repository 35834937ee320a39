// Reads the untagged answers the folder reader needs (RFC 3501 section 7): FETCH items (UID,
// FLAGS, INTERNALDATE, RFC822.SIZE, BODY[...] as literal, quoted string or NIL), SEARCH,
// STATUS, EXISTS and the response codes of OK. Any other item of a FETCH (MODSEQ, X-GM-…, a
// BODYSTRUCTURE) is parsed for its shape and skipped. Malformed input is an error naming what
// was expected, never a guess. Pure: a framed response in, values out.
import type { Response } from "./framer.ts";

export class ParseError extends Error {
  override readonly name = "ParseError";
}

/** A value: an atom (NIL included) or number as text, a string (quoted or literal) as bytes, a list. */
type Value = { atom: string } | { bytes: Buffer } | Value[];

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

/** A cursor over a response's lines and literals: a literal is a token where its line ends. */
class Tokens {
  private line = 0;
  private pos: number;

  constructor(
    private readonly r: Response,
    start: number,
  ) {
    this.pos = start;
  }

  private get text(): string {
    return this.r.lines[this.line]!;
  }

  private skipSpaces(): void {
    while (this.text.charCodeAt(this.pos) === 0x20) this.pos++;
  }

  /** The next character ("" at the end of the last line; "{" where a literal is announced). */
  peek(): string {
    this.skipSpaces();
    return this.text[this.pos] ?? "";
  }

  expect(ch: string): void {
    if (this.peek() !== ch) throw new ParseError(`expected "${ch}" at ${this.where()}`);
    this.pos++;
  }

  atEnd(): boolean {
    return this.peek() === "" && this.line === this.r.lines.length - 1;
  }

  where(): string {
    return `offset ${this.pos} of line ${this.line + 1}: ${JSON.stringify(this.text.slice(Math.max(0, this.pos - 20), this.pos + 20))}`;
  }

  value(depth = 0): Value {
    const c = this.peek();
    if (c === "(") {
      if (depth > 32) throw new ParseError(`lists nested more than 32 deep at ${this.where()}`);
      this.pos++;
      const list: Value[] = [];
      while (this.peek() !== ")") {
        if (this.peek() === "" ) throw new ParseError(`unterminated list at ${this.where()}`);
        list.push(this.value(depth + 1));
      }
      this.pos++;
      return list;
    }
    if (c === '"') return { bytes: Buffer.from(this.quoted(), "latin1") };
    if (c === "{" || (c === "~" && this.text[this.pos + 1] === "{")) return { bytes: this.literal() };
    if (c === "" || c === ")") throw new ParseError(`expected a value at ${this.where()}`);
    return { atom: this.atom() };
  }

  /** An item name or atom: up to a space or parenthesis, with a [section] (spaces and parentheses allowed inside) and a <partial>. */
  atom(): string {
    const t = this.text;
    const start = this.pos;
    let depth = 0;
    for (; this.pos < t.length; this.pos++) {
      const ch = t[this.pos]!;
      if (ch === "[") depth++;
      else if (ch === "]") depth--;
      else if (depth === 0 && (ch === " " || ch === "(" || ch === ")" || ch === '"' || ch === "{")) break;
    }
    if (this.pos === start) throw new ParseError(`expected an atom at ${this.where()}`);
    return t.slice(start, this.pos);
  }

  private quoted(): string {
    const t = this.text;
    let out = "";
    for (let i = this.pos + 1; i < t.length; i++) {
      const ch = t[i]!;
      if (ch === "\\") {
        out += t[++i] ?? "";
        continue;
      }
      if (ch === '"') {
        this.pos = i + 1;
        return out;
      }
      out += ch;
    }
    throw new ParseError(`unterminated quoted string at ${this.where()}`);
  }

  private literal(): Buffer {
    // the announcement must end its line: the literal's bytes follow it
    const m = /^~?\{(\d+)\+?\}$/.exec(this.text.slice(this.pos));
    const bytes = this.r.literals[this.line];
    if (!m || !bytes) throw new ParseError(`a literal announced in the middle of a line at ${this.where()}`);
    this.line++;
    this.pos = 0;
    return bytes;
  }
}

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
    const v = t.value();
    if (name === "UID") out.uid = num(v, "UID");
    else if (name === "RFC822.SIZE") out.size = num(v, "RFC822.SIZE");
    else if (name === "FLAGS") {
      if (!Array.isArray(v)) throw new ParseError("FLAGS is not a list");
      out.flags = v.map((f) => {
        if (!("atom" in f)) throw new ParseError("a flag is not an atom");
        return f.atom;
      });
    } else if (name === "INTERNALDATE") {
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

/** UIDNEXT and UIDVALIDITY of a `* STATUS box (...)` response (the name is not checked: one STATUS at a time). */
export function parseStatus(r: Response): { uidNext?: number; uidValidity?: number } | undefined {
  if (!/^\* STATUS /i.test(r.lines[0]!)) return undefined;
  const last = r.lines[r.lines.length - 1]!;
  const open = last.lastIndexOf("(");
  if (open < 0 || !last.endsWith(")")) throw new ParseError("STATUS without its list");
  const words = last.slice(open + 1, -1).trim().split(/\s+/);
  const out: { uidNext?: number; uidValidity?: number } = {};
  for (let i = 0; i + 1 < words.length; i += 2) {
    const k = words[i]!.toUpperCase();
    const v = /^\d{1,10}$/.test(words[i + 1]!) ? Number(words[i + 1]) : undefined;
    if (k === "UIDNEXT") out.uidNext = v;
    else if (k === "UIDVALIDITY") out.uidValidity = v;
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
