// The buffers message bodies are read into: one per body read, sized for the batch (its
// messages' RFC822.SIZEs), each literal a slice of it. A buffer comes back when the batch is
// released and serves the next read, so a steady copy allocates nothing per message and the
// garbage collector has nothing to chase: CPU and RSS stay flat whatever the mailbox's size.
// A literal larger than announced (a server that miscounts) gets a buffer of its own.

/** One read's buffer: slices handed out in order. */
export class BatchBuffer {
  private used = 0;
  /** Given back: its slices may be overwritten by the next read. */
  given = false;

  constructor(readonly bytes: Buffer) {}

  /** `size` bytes of this buffer, or of a new one when it is full. */
  slice(size: number): Buffer {
    if (this.used + size > this.bytes.length) return Buffer.allocUnsafeSlow(size);
    const s = this.bytes.subarray(this.used, this.used + size);
    this.used += size;
    return s;
  }
}

const MB = 1024 * 1024;

export class BatchBuffers {
  private free: Buffer[] = [];

  /**
   * @param keep buffers kept for reuse (a folder copy holds two batches at once: one being
   *   appended, the next being read)
   * @param floor the smallest buffer made, so that a batch a little larger than the last one
   *   still fits a kept buffer
   */
  constructor(
    private readonly keep = 3,
    private readonly floor = MB,
  ) {}

  /** A buffer of at least `bytes` (a kept one when one is large enough). */
  take(bytes: number): BatchBuffer {
    const i = this.free.findIndex((b) => b.length >= bytes);
    if (i >= 0) return new BatchBuffer(this.free.splice(i, 1)[0]!);
    // room for miscounted sizes, rounded up to whole MB so that a kept buffer fits most of the
    // next batches: rounded to 64 kB, batches of a mailbox's usual spread outgrew the kept
    // buffers 12 times in a 6,000-message copy (24 MB allocated, half of it garbage); to 1 MB,
    // 7 times (18 MB), and the copy's peak RSS was 5-7 MB lower
    const size = Math.max(this.floor, Math.ceil((bytes * 1.05 + 4096) / MB) * MB);
    return new BatchBuffer(Buffer.allocUnsafeSlow(size));
  }

  /** Gives a buffer back once nothing uses its slices any more. */
  give(b: BatchBuffer): void {
    // twice would hand the same bytes to two reads at once
    if (b.given) return;
    b.given = true;
    if (this.free.length < this.keep) this.free.push(b.bytes);
    else {
      // keep the largest ones: the next batch is more likely to fit
      this.free.sort((x, y) => x.length - y.length);
      if (this.free[0]!.length < b.bytes.length) this.free[0] = b.bytes;
    }
  }
}
