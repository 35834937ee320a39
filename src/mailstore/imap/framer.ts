// Splits what an IMAP server sends into complete responses — the lines of a response and the
// literals between them — within bounds: hostile or broken input ends the connection with a
// reason instead of growing memory. A literal's bytes are copied once, from the socket's chunk
// straight into the buffer its sink gives (a message body goes into the reader's batch buffer,
// never through a string), or handed on as they arrive (a large message, into its spool file).
// Pure: bytes in, responses out; tested without a socket.

export interface ResponseLimits {
  /** The longest response text (its lines, and the literals kept inline). */
  lineBytes: number;
  /** The largest literal kept inline (a sink may accept larger ones). */
  literalBytes: number;
}

/**
 * One response: `lines[i]` ends with the announcement of `literals[i]` ("{5}", "{5+}", "~{5}")
 * for every literal; the last line ends the response. Lines are latin1, without CRLF.
 */
export interface Response {
  lines: string[];
  literals: Buffer[];
}

/**
 * Where a literal of `size` bytes announced at the end of `head` (the response's first line)
 * goes: a buffer of exactly `size` bytes; a stream, called with its bytes piece by piece as
 * they arrive (each piece a view of the socket's chunk, valid during the call only; the
 * response then holds STREAMED_LITERAL in its place); or undefined to keep it inline (bounded
 * by literalBytes). A sink refuses a literal by throwing; the framer then accepts nothing more.
 */
export type LiteralSink = (size: number, head: string) => Buffer | LiteralStream | undefined;

/** Takes a literal's bytes in order as they arrive; must not throw (a throw ends the connection). */
export type LiteralStream = (piece: Buffer) => void;

/** What a response holds in place of a literal that went to a stream (one object: compare by identity). */
export const STREAMED_LITERAL: Buffer = Buffer.alloc(0);

export class ResponseBoundError extends Error {
  override readonly name = "ResponseBoundError";
}

/** The response as one string, literals inlined (latin1): for answers that are read with patterns. */
export function responseText(r: Response): string {
  if (!r.literals.length) return r.lines[0]!;
  let s = "";
  for (let i = 0; i < r.lines.length; i++) s += r.lines[i]! + (i < r.literals.length ? r.literals[i]!.toString("latin1") : "");
  return s;
}

const LF = 0x0a;
const CR = 0x0d;
const CLOSE_BRACE = 0x7d;
const LITERAL_AT_END = /~?\{(\d+)\+?\}$/;
/** More digits than any literal size we could hold: refused before Number() rounds it. */
const MAX_LITERAL_DIGITS = 12;

export class ResponseFramer {
  /** Bytes of a line not yet ended (references into earlier chunks, not copies). */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private lines: string[] = [];
  private literals: Buffer[] = [];
  /** Bytes of the current response so far (its lines and inline literals). */
  private textBytes = 0;
  /** The literal being read: `size` bytes, `filled` so far, into a buffer or on to a stream. */
  private literal: ({ size: number; filled: number } & ({ into: Buffer; inline: boolean } | { stream: LiteralStream })) | null = null;
  private broken: Error | null = null;

  constructor(
    private readonly limits: ResponseLimits,
    private readonly sink?: LiteralSink,
  ) {}

  /** Adds bytes; returns the responses they complete. Throws ResponseBoundError (or the sink's error) past a bound. */
  push(chunk: Buffer): Response[] {
    if (this.broken) throw this.broken;
    try {
      return this.take(chunk);
    } catch (e) {
      this.broken = e as Error;
      this.partial = [];
      this.lines = [];
      this.literals = [];
      this.literal = null;
      throw e;
    }
  }

  private take(chunk: Buffer): Response[] {
    const out: Response[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const lit = this.literal;
      if (lit) {
        const n = Math.min(lit.size - lit.filled, chunk.length - pos);
        if ("stream" in lit) lit.stream(chunk.subarray(pos, pos + n));
        else chunk.copy(lit.into, lit.filled, pos, pos + n);
        lit.filled += n;
        pos += n;
        if (lit.filled === lit.size) this.endLiteral();
        continue;
      }
      const lf = chunk.indexOf(LF, pos);
      if (lf < 0) {
        const rest = chunk.length - pos;
        if (this.textBytes + this.partialBytes + rest > this.limits.lineBytes) throw this.bound(`the server sent a response line longer than ${this.limits.lineBytes} bytes`);
        this.partial.push(chunk.subarray(pos));
        this.partialBytes += rest;
        break;
      }
      const end = lf > pos && chunk[lf - 1] === CR ? lf - 1 : lf;
      const line = this.lineOf(chunk, pos, end, lf);
      pos = lf + 1;
      const done = this.addLine(line);
      if (done) out.push(done);
    }
    return out;
  }

  /** The line from the partial pieces and chunk[pos, end); a CR left at a piece's end is dropped. */
  private lineOf(chunk: Buffer, pos: number, end: number, lf: number): string {
    if (!this.partial.length) return chunk.toString("latin1", pos, end);
    let text = "";
    for (const p of this.partial) text += p.toString("latin1");
    this.partial = [];
    this.partialBytes = 0;
    text += chunk.toString("latin1", pos, end);
    // CR at the end of the previous chunk, LF first in this one
    if (lf === pos && text.endsWith("\r")) text = text.slice(0, -1);
    return text;
  }

  private addLine(line: string): Response | undefined {
    this.textBytes += line.length;
    if (this.textBytes > this.limits.lineBytes) throw this.bound(`the server sent a response longer than ${this.limits.lineBytes} bytes`);
    this.lines.push(line);
    const m = line.charCodeAt(line.length - 1) === CLOSE_BRACE ? LITERAL_AT_END.exec(line) : null;
    if (!m) return this.endResponse();
    const digits = m[1]!;
    const size = digits.length > MAX_LITERAL_DIGITS ? Infinity : Number(digits);
    const into = size === Infinity ? undefined : this.sink?.(size, this.lines[0]!);
    if (typeof into === "function") {
      this.literal = { stream: into, size, filled: 0 };
    } else if (into) {
      if (into.length !== size) throw new Error(`literal sink gave ${into.length} bytes for a ${size}-byte literal`);
      this.literal = { size, into, filled: 0, inline: false };
    } else {
      if (size > this.limits.literalBytes || this.textBytes + size > this.limits.lineBytes) {
        throw this.bound(`the server announced a ${size === Infinity ? "huge" : `${size}-byte`} literal in an answer (at most ${this.limits.literalBytes} bytes expected)`);
      }
      this.literal = { size, into: Buffer.allocUnsafe(size), filled: 0, inline: true };
    }
    if (size === 0) this.endLiteral();
    return undefined;
  }

  private endLiteral(): void {
    const lit = this.literal!;
    this.literal = null;
    if ("stream" in lit) return void this.literals.push(STREAMED_LITERAL);
    if (lit.inline) this.textBytes += lit.into.length;
    this.literals.push(lit.into);
  }

  private endResponse(): Response {
    const r = { lines: this.lines, literals: this.literals };
    this.lines = [];
    this.literals = [];
    this.textBytes = 0;
    return r;
  }

  private bound(message: string): ResponseBoundError {
    return new ResponseBoundError(message);
  }
}
