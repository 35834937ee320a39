// Splits what an IMAP server sends into complete responses (a line with its literals
// inlined), within bounds: hostile or broken input ends the connection with a reason
// instead of growing memory. Pure: bytes in, responses out; tested without a socket.

export interface ResponseLimits {
  /** The longest response, literals included. */
  lineBytes: number;
  /** The largest literal announced inside a response. */
  literalBytes: number;
}

const CRLF = Buffer.from("\r\n");

export class ResponseBoundError extends Error {
  override readonly name = "ResponseBoundError";
}

export class ResponseReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly limits: ResponseLimits) {}

  /** Adds bytes; returns the responses they complete. Throws ResponseBoundError past a bound. */
  push(chunk: Buffer): string[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: string[] = [];
    for (;;) {
      const r = this.take();
      if (r === null) return out;
      out.push(r);
    }
  }

  private take(): string | null {
    const { lineBytes, literalBytes } = this.limits;
    let pos = 0;
    let text = "";
    for (;;) {
      const nl = this.buf.indexOf(CRLF, pos);
      if (nl < 0) {
        if (this.buf.length - pos + text.length > lineBytes) throw this.bound(`the server sent a response line longer than ${lineBytes} bytes`);
        return null;
      }
      const part = this.buf.subarray(pos, nl).toString("latin1");
      if (text.length + part.length > lineBytes) throw this.bound(`the server sent a response longer than ${lineBytes} bytes`);
      const lit = /\{(\d+)\+?\}$/.exec(part);
      if (!lit) {
        this.buf = this.buf.subarray(nl + 2);
        return text + part;
      }
      const n = Number(lit[1]);
      if (n > literalBytes || text.length + part.length + n > lineBytes) {
        throw this.bound(`the server announced a ${lit[1]!.length > 12 ? "huge" : `${n}-byte`} literal in an answer (at most ${literalBytes} bytes expected)`);
      }
      if (this.buf.length < nl + 2 + n) return null;
      text += part + this.buf.subarray(nl + 2, nl + 2 + n).toString("latin1");
      pos = nl + 2 + n;
    }
  }

  private bound(message: string): ResponseBoundError {
    this.buf = Buffer.alloc(0);
    return new ResponseBoundError(message);
  }
}
