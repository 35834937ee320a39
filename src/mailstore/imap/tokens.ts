// IMAP's value syntax (RFC 3501 section 4) over a framed response: atoms, quoted strings,
// literals (a literal is the token where its line ends) and parenthesised lists, nested at most
// 32 deep. Malformed input is a ParseError naming where; pure, tested without a socket.
import type { Response } from "./framer.ts";

export class ParseError extends Error {
  override readonly name = "ParseError";
}

/** A value: an atom (NIL included) or number as text, a string (quoted or literal) as bytes, a list. */
export type Value = { atom: string } | { bytes: Buffer } | Value[];

/** A cursor over a response's lines and literals: a literal is a token where its line ends. */
export class Tokens {
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

  /** A quoted string's text (the next token must be one). */
  quoted(): string {
    const t = this.text;
    // most quoted strings hold no escape: one slice
    const close = t.indexOf('"', this.pos + 1);
    const escape = t.indexOf("\\", this.pos + 1);
    if (close > 0 && (escape < 0 || escape > close)) {
      const s = t.slice(this.pos + 1, close);
      this.pos = close + 1;
      return s;
    }
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

