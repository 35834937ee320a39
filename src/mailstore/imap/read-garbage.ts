// Bun hands each socket read to JavaScript as a new Buffer. The session copies it at once
// (into a batch buffer, or on to a spool file), so each one is garbage a moment later, but
// the collector does not count those native bytes as pressure and frees them late: in a
// 6,000-message copy up to about 20 MB of them were waiting at the peak, the part of the
// copy's peak RSS that moved from run to run (BENCHMARKS.md). Asking for a collection every
// 8 MB received (Bun.gc without `force`: it does not wait for it) kept that copy at 106-111 MB
// in seven runs, against 103-121 MB without, for no CPU that the runs could tell apart.

/** Counts bytes received and asks for a collection each time `every` more have arrived. */
export class GarbageHint {
  private received = 0;

  constructor(
    private readonly every: number,
    private readonly collect: () => void,
  ) {}

  note(bytes: number): void {
    this.received += bytes;
    if (this.received < this.every) return;
    this.received = 0;
    this.collect();
  }
}

/** Every IMAP session's reads in this process, old and new servers alike. */
export const SOCKET_READS = new GarbageHint(8 * 1024 * 1024, () => Bun.gc(false));
