// Follows one log file of the new server and hands complete lines' login events to the
// daemon. Position = { inode, offset of the end of the last complete line }, persisted
// after the events are queued: a restart neither loses nor replays. Handles
//   - partial lines (written in two pieces): a line counts only once its "\n" is there;
//   - rotation by rename: Dovecot keeps writing to the renamed file until
//     `doveadm log reopen`, so the old inode is drained until it stops growing, and after a
//     restart a rotated file is found again by its inode;
//   - copytruncate: the file is emptied and written again under the same inode. Its first
//     bytes (kept with the position) tell it, even when it was refilled past the old position
//     between two polls; shrinking below the position tells it too. Reading restarts at 0.
// chokidar gives low latency; a 500 ms poll catches what it folds together.
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import type { LineParser, LoginEvent } from "../src/events/login-event.ts";
import { TIMEOUTS } from "../src/timeouts.ts";
import { RepeatLimiter } from "../src/repeat-limiter.ts";

export interface TailPosition {
  ino: number;
  offset: number;
  /** The file's first bytes (up to HEAD_BYTES, hex): another content under the same inode means it was truncated and refilled. */
  head?: string;
}

export interface TailState {
  current?: TailPosition;
  /** A rotated-away file still being drained. */
  previous?: TailPosition;
}

export interface TailHooks {
  load(): TailState | undefined;
  save(state: TailState): Promise<void>;
  onEvents(events: LoginEvent[]): Promise<void>;
  warn(msg: string, extra?: Record<string, unknown>): void;
}

interface Open {
  fd: number;
  ino: number;
  offset: number;
  lastGrowth: number;
  /** The first bytes read from offset 0 (up to HEAD_BYTES). */
  head?: Buffer;
  /** Inside a line longer than READ_CHUNK: everything up to its newline is dropped. */
  skipping?: boolean;
}

const READ_CHUNK = 256 * 1024;
/** How much of the file's start identifies its content (a log line's timestamp is in it). */
const HEAD_BYTES = 64;
/** Bytes read per pass at most, so one huge file cannot hold the event loop for long. */
const MAX_READ_PER_PASS = 64 * 1024 * 1024;
/** A rotated file that has not grown for this long is closed. */
const DRAIN_IDLE_MS = TIMEOUTS.rotatedLogIdleMs;

export class LogTail {
  private cur?: Open;
  private prev?: Open;
  private watcher?: FSWatcher;
  private timer?: ReturnType<typeof setInterval>;
  private running: Promise<void> = Promise.resolve();
  private pending = false;
  private readonly problems = new RepeatLimiter();
  /** The saved position, until the first poll has resumed from it (a failure there is retried at the next poll, never skipped). */
  private saved?: TailState;
  private resumed = false;
  private stopped = false;
  /** When the last complete line was read (at first: when tailing started); the silent-log alert watches it. */
  lastLineAt = Date.now();

  constructor(
    readonly path: string,
    private readonly parse: LineParser,
    private readonly hooks: TailHooks,
  ) {}

  async start(): Promise<void> {
    this.saved = this.hooks.load();
    this.watcher = watch(this.path, { ignoreInitial: true, persistent: false });
    this.watcher.on("all", () => this.kick());
    this.watcher.on("error", (e) => this.hooks.warn("log watcher error", { path: this.path, error: String(e) }));
    this.timer = setInterval(() => this.kick(), 500);
    this.kick();
    await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.watcher?.close();
    await this.running;
    for (const o of [this.cur, this.prev]) if (o) closeSync(o.fd);
    this.cur = this.prev = undefined;
  }

  position(): TailState {
    const of = (o: Open) => ({ ino: o.ino, offset: o.offset, ...(o.head?.length ? { head: o.head.toString("hex") } : {}) });
    return { current: this.cur && of(this.cur), previous: this.prev && of(this.prev) };
  }

  /** Bytes written to the log that are not read yet (the current file, and a rotated one still being finished). */
  lagBytes(): number {
    let lag = 0;
    for (const o of [this.cur, this.prev]) {
      if (!o) continue;
      try {
        lag += Math.max(0, fstatSync(o.fd).size - o.offset);
      } catch {}
    }
    return lag;
  }

  /** Reads whatever is new, one pass at a time. */
  kick(): Promise<void> {
    if (this.pending || this.stopped) return this.running;
    this.pending = true;
    this.running = this.running.then(async () => {
      this.pending = false;
      if (this.stopped) return;
      try {
        await this.poll();
        // a problem that is over is said once, with how often it came back unlogged
        for (const p of this.problems.clear("")) this.hooks.warn("log readable again", { path: this.path, was: p.key, repeatsNotLogged: p.suppressed });
      } catch (e) {
        // twice a second while a disk is full: logged when it starts, then once a minute
        const error = (e as Error).message;
        const d = this.problems.occur(error, Date.now());
        if (d.log) this.hooks.warn("cannot read log", { path: this.path, error, ...(d.suppressed ? { repeatsNotLogged: d.suppressed } : {}) });
      }
    });
    return this.running;
  }

  /** The file opened at `offset`; undefined when it does not exist (between rename and create). Other failures throw: they are reported. */
  private openAt(path: string, offset: number, head?: string): Open | undefined {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    try {
      const st = fstatSync(fd);
      const o: Open = { fd, ino: st.ino, offset: st.size < offset ? 0 : offset, lastGrowth: Date.now(), head: head ? Buffer.from(head, "hex") : undefined };
      if (this.truncated(o)) o.offset = 0;
      this.noteHead(o);
      return o;
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** The file's first bytes now. */
  private firstBytes(o: Open, n: number): Buffer {
    const b = Buffer.alloc(n);
    return b.subarray(0, readSync(o.fd, b, 0, n, 0));
  }

  /** Whether the file no longer starts as it did: emptied and written again (copytruncate). */
  private truncated(o: Open): boolean {
    if (!o.head?.length || o.offset === 0) return false;
    return !this.firstBytes(o, o.head.length).equals(o.head);
  }

  /** Remembers the file's first bytes once there are some (up to HEAD_BYTES). */
  private noteHead(o: Open): void {
    if ((o.head?.length ?? 0) >= HEAD_BYTES) return;
    const now = this.firstBytes(o, HEAD_BYTES);
    // only what the position has passed: a half-written first line is not its identity yet
    o.head = now.subarray(0, Math.min(now.length, Math.max(o.offset, o.head?.length ?? 0)));
  }

  /** Where to start: the saved position if it is still this file; a rotated file found by inode. */
  private resume(saved: TailState | undefined): void {
    let st: { ino: number; size: number } | undefined;
    try {
      st = statSync(this.path);
    } catch {}
    const want = saved?.current;
    if (!want) {
      // first start: only logins from now on (earlier lines may be months old)
      if (st) this.cur = this.openAt(this.path, st.size);
      return;
    }
    if (st && st.ino === want.ino) {
      this.cur = this.openAt(this.path, want.offset, want.head);
      if (saved.previous) this.prev = this.findByInode(saved.previous);
      return;
    }
    // rotated while we were down: finish the old file, then the new one from its start
    this.prev = this.findByInode(want) ?? (saved.previous ? this.findByInode(saved.previous) : undefined);
    if (!this.prev) this.hooks.warn("the log was rotated while the daemon was stopped and the old file was not found; lines written to it after the last run are lost", { path: this.path });
    if (st) this.cur = this.openAt(this.path, 0);
  }

  private findByInode(pos: TailPosition): Open | undefined {
    const dir = dirname(this.path);
    try {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        try {
          if (statSync(p).ino === pos.ino) return this.openAt(p, pos.offset, pos.head);
        } catch {}
      }
    } catch {}
    return undefined;
  }

  private async poll(): Promise<void> {
    if (!this.resumed) {
      this.resume(this.saved);
      this.resumed = true;
    }
    let st: { ino: number; size: number } | undefined;
    try {
      st = statSync(this.path);
    } catch {
      st = undefined; // between rename and create
    }
    if (st && (!this.cur || st.ino !== this.cur.ino)) {
      if (this.cur) {
        if (this.prev) closeSync(this.prev.fd);
        this.prev = this.cur; // rotated: keep draining the old inode
      }
      this.cur = this.openAt(this.path, 0);
    } else if (st && this.cur && (st.size < this.cur.offset || this.truncated(this.cur))) {
      // copytruncate: emptied (and maybe refilled past our position already)
      this.cur.offset = 0;
      this.cur.head = undefined;
    }
    const events: LoginEvent[] = [];
    if (this.prev) {
      events.push(...this.readNew(this.prev));
      if (Date.now() - this.prev.lastGrowth > DRAIN_IDLE_MS) {
        closeSync(this.prev.fd);
        this.prev = undefined;
      }
    }
    if (this.cur) {
      events.push(...this.readNew(this.cur));
      this.noteHead(this.cur);
    }
    const before = this.lastSaved;
    const now = JSON.stringify(this.position());
    if (events.length) await this.hooks.onEvents(events);
    if (now !== before) {
      await this.hooks.save(this.position());
      this.lastSaved = now;
    }
  }

  private lastSaved = "";

  /**
   * Complete lines from `o.offset` on; the offset moves to the end of the last complete line.
   * A line longer than READ_CHUNK (no login line is) is skipped at read speed, to its end.
   */
  private readNew(o: Open): LoginEvent[] {
    const events: LoginEvent[] = [];
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    for (let budget = MAX_READ_PER_PASS; budget > 0; ) {
      const n = readSync(o.fd, buf, 0, READ_CHUNK, o.offset);
      if (n <= 0) break;
      budget -= n;
      let start = 0;
      if (o.skipping) {
        const nl = buf.subarray(0, n).indexOf(10);
        if (nl < 0) {
          o.offset += n;
          if (n < READ_CHUNK) break;
          continue;
        }
        o.skipping = false;
        start = nl + 1;
        this.lastLineAt = Date.now(); // a long line ended
      }
      const chunk = buf.subarray(start, n);
      const lastNl = chunk.lastIndexOf(10);
      if (lastNl < 0) {
        if (start > 0) {
          o.offset += start; // the long line ended here: read on from the next line's start
          continue;
        }
        if (n === READ_CHUNK) {
          o.offset += n;
          o.skipping = true;
          continue;
        }
        break; // a line still being written
      }
      for (const line of chunk.subarray(0, lastNl).toString("utf8").split("\n")) {
        const e = this.parse(line);
        if (e) events.push(e);
      }
      o.offset += start + lastNl + 1;
      o.lastGrowth = this.lastLineAt = Date.now();
      if (n < READ_CHUNK) break;
    }
    return events;
  }
}
