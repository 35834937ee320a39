// Joins a command's many small pieces into few large socket writes. A MULTIAPPEND of 100
// messages is 201 pieces (each message's header line and its literal); written one by one
// they were 12,000 send() calls for 6,000 messages, each one a wake-up of the new server
// too. Gathered into chunks of CHUNK bytes they are a few hundred. The pieces are copied once
// into one of two reusable chunks; a chunk is refilled only after the socket has flushed it,
// so at most two chunks are in flight and nothing is allocated per piece. A piece as large as
// a chunk is written as it is (after what was gathered before it), without a copy; a spooled
// message is read from its file straight into the chunks, so however large it is nothing is
// allocated for it.
import { readSync } from "node:fs";

export const GATHER_CHUNK = 256 * 1024;

/** Writes `data`; resolves once the socket has flushed it and everything written before it. */
export type FlushingWrite = (data: Buffer) => Promise<void>;

export class WriteGatherer {
  private readonly chunks: Buffer[];
  private readonly flushed: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
  private current = 0;
  private used = 0;
  /** The last write handed to the socket: resolved when it (and so all before it) is flushed. */
  private last: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: FlushingWrite,
    private readonly chunkSize = GATHER_CHUNK,
  ) {
    this.chunks = [Buffer.allocUnsafeSlow(chunkSize), Buffer.allocUnsafeSlow(chunkSize)];
  }

  /**
   * A write's failure is kept and thrown by the next add() or flush(), never an unhandled
   * rejection meanwhile (which ends a Bun process).
   */
  private observed(p: Promise<void>): Promise<void> {
    p.catch((e: unknown) => (this.failure ??= e));
    return p;
  }

  private failure: unknown;

  /** Adds a piece; it may be written now or later (at the latest by flush()). */
  async add(piece: Buffer | string): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (typeof piece === "string") {
      // a message's header line: written straight into the chunk when it fits (no Buffer each)
      const bytes = Buffer.byteLength(piece, "utf8");
      if (bytes < this.chunkSize && bytes <= this.chunkSize - this.used) {
        this.used += this.chunks[this.current]!.write(piece, this.used, "utf8");
        return;
      }
      piece = Buffer.from(piece, "utf8");
    }
    if (piece.length >= this.chunkSize) {
      await this.send();
      this.last = this.observed(this.write(piece));
      // the piece is the caller's: the caller waits for flush() before reusing it
      return;
    }
    let at = 0;
    while (at < piece.length) {
      if (this.used === this.chunkSize) await this.send();
      const n = piece.copy(this.chunks[this.current]!, this.used, at, Math.min(piece.length, at + this.chunkSize - this.used));
      this.used += n;
      at += n;
    }
  }

  /**
   * Adds the first `size` bytes of an open file, read straight into the chunks. Returns how many
   * bytes were added: fewer than `size` when the file is shorter (the caller decides what that means).
   */
  async addFile(fd: number, size: number): Promise<number> {
    let read = 0;
    while (read < size) {
      if (this.used === this.chunkSize) await this.send();
      if (this.failure !== undefined) throw this.failure;
      const n = readSync(fd, this.chunks[this.current]!, this.used, Math.min(this.chunkSize - this.used, size - read), read);
      if (n <= 0) break;
      this.used += n;
      read += n;
    }
    return read;
  }

  /** Writes what is gathered, without waiting for the socket to take it. */
  private async send(): Promise<void> {
    if (this.used === 0) return;
    const i = this.current;
    this.last = this.flushed[i] = this.observed(this.write(this.chunks[i]!.subarray(0, this.used)));
    this.current ^= 1;
    this.used = 0;
    // the next chunk may still be on its way to the socket: wait until it has been flushed
    await this.flushed[this.current];
  }

  /** Writes what is gathered and waits until the socket has flushed every piece added. */
  async flush(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    await this.send();
    await this.last;
  }
}

