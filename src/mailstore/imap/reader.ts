// Reading folders over our own IMAP connection (session.ts): EXAMINE, STATUS, UID SEARCH and
// UID FETCH of sizes, dates, headers and whole bodies. A body's bytes go once from the socket
// into the batch's buffer (batch-buffers.ts) and from there to the new server: no parser
// object per message, no copy per layer, no garbage per message. Every read runs under a
// deadline (a base plus its expected bytes at the slowest rate a server may keep up), and a
// literal announced above the read's limit is refused as announced (OVERSIZED).
import { AutomigrateError } from "../../errors.ts";
import { TIMEOUTS } from "../../timeouts.ts";
import type { BodyBatch, FolderIds, FolderReader, MessageBody, MessageMeta, MessagePart, OpenedFolder, ReadLimits } from "../port.ts";
import { BatchBuffers, type BatchBuffer } from "./batch-buffers.ts";
import { folderFacts, parseFetch, parseSearch, type FetchItems } from "./fetch-parse.ts";
import { parseNamedStatus } from "./list-parse.ts";
import type { LiteralSink, Response } from "./framer.ts";
import { ImapSession, type SessionOptions, type TaggedResult } from "./session.ts";
import { encodeMailbox } from "./wire.ts";

/** What a reader accepts besides message bodies: a SEARCH line of a large folder, a long header. */
export const READ_LIMITS = { lineBytes: 64 * 1024 * 1024, literalBytes: 8 * 1024 * 1024 };
/** A message the server listed no flags for (shared: nothing writes to it). */
const NO_FLAGS: readonly string[] = Object.freeze([]);
/** The most FETCH answers one command may bring when its range does not say how many. */
const MAX_ANSWERS = 10_000_000;

/** How many UIDs a uid-set names at most (Infinity with "*"). */
export function uidSetSize(set: string): number {
  let n = 0;
  for (const part of set.split(",")) {
    const [a, b] = part.split(":");
    if (a === "*" || b === "*") return Infinity;
    n += b === undefined ? 1 : Math.abs(Number(b) - Number(a)) + 1;
  }
  return Number.isFinite(n) ? n : Infinity;
}

export class ImapReader implements FolderReader {
  private readonly buffers = new BatchBuffers();

  /**
   * `shared`: the session is another's (the appender's, whose connection also reads back what
   * it appended): closing this reader leaves it open, and `onExamine` tells its owner that the
   * folder it had selected is no longer.
   */
  private constructor(
    private readonly session: ImapSession,
    private readonly shared?: { onExamine: () => void },
  ) {}

  /** A reader over a connection someone else owns and closes (one login fewer per worker). */
  static over(session: ImapSession, onExamine: () => void): ImapReader {
    return new ImapReader(session, { onExamine });
  }

  /** A reader that owns the connection of a store it takes over (SessionStore.asReader). */
  static owning(session: ImapSession): ImapReader {
    return new ImapReader(session);
  }

  static async open(opts: Omit<SessionOptions, "tagPrefix" | "limits">): Promise<ImapReader> {
    return new ImapReader(await ImapSession.open({ ...opts, tagPrefix: "R", limits: READ_LIMITS }));
  }

  /**
   * One command under a deadline, its untagged answers to `onUntagged` and its FETCH literals
   * to `sink`. A deadline passed ends the connection (CONNECT: worth a retry on a fresh one).
   */
  private async run(command: string, expectedBytes: number, onUntagged?: (r: Response) => void, sink?: LiteralSink): Promise<TaggedResult> {
    const ms = TIMEOUTS.imapReadBaseMs + Math.ceil((expectedBytes / TIMEOUTS.imapMinBytesPerSec) * 1000);
    const timer = setTimeout(() => {
      this.session.destroy(
        new AutomigrateError(`the server did not finish answering within ${Math.round(ms / 1000)} s (it kept the connection alive without delivering)`, { server: this.session.server }, { code: "CONNECT", transient: true }),
      );
    }, ms);
    this.session.literalSink = sink;
    try {
      return await this.session.command(command, onUntagged);
    } finally {
      clearTimeout(timer);
      this.session.literalSink = undefined;
    }
  }

  /** A NO or BAD: the server refuses (temporary for the retry policy, as any server error). */
  private refused(r: TaggedResult, what: string, folder?: string): AutomigrateError {
    return new AutomigrateError(`${what}: the server answered ${r.status} ${r.text}`.trim(), { server: this.session.server, ...(folder ? { folder } : {}) }, { code: "SERVER", transient: true });
  }

  /** The FETCH answers of one command, bounded in number. */
  private fetchAnswers(range: string, each: (f: FetchItems) => void): (r: Response) => void {
    const most = Math.min(MAX_ANSWERS, uidSetSize(range) + 1000);
    let n = 0;
    return (r) => {
      const f = parseFetch(r);
      if (!f) return;
      if (++n > most) throw this.session.fail(`the server sent more than ${most} FETCH answers for ${uidSetSize(range)} messages`);
      each(f);
    };
  }

  private refuseAbove(max: number | undefined, buffer: BatchBuffer): LiteralSink {
    return (size) => {
      if (max !== undefined && size > max) {
        throw new AutomigrateError(`the old server announced a message larger than it said it was (a ${size}-byte literal, at most ${max} expected): refused as announced, the connection closed`, {
          server: this.session.server,
          hint: "a broken or hostile server (or a proxy) in the path; if the message really is that large, raise migration.maxMessageBytes",
        }, { code: "OVERSIZED" });
      }
      return buffer.slice(size);
    };
  }

  async examine(path: string): Promise<OpenedFolder> {
    this.shared?.onExamine();
    const r = await this.run(`EXAMINE ${encodeMailbox(path)}`, 0);
    if (r.status !== "OK") throw this.refused(r, `cannot open ${path}`, path);
    const f = folderFacts(this.session.untagged);
    return { uidValidity: f.uidValidity || undefined, uidNext: f.uidNext || undefined, exists: f.exists ?? 0 };
  }

  async status(path: string): Promise<FolderIds | undefined> {
    let ids: FolderIds | undefined;
    try {
      const r = await this.run(`STATUS ${encodeMailbox(path)} (UIDNEXT UIDVALIDITY)`, 0, (a) => {
        const s = parseNamedStatus(a);
        if (s) ids = { uidNext: s.uidNext, uidValidity: s.uidValidity };
      });
      return r.status === "OK" ? ids : undefined;
    } catch {
      return undefined;
    }
  }

  async search(range: string): Promise<number[]> {
    const found: number[] = [];
    const r = await this.run(`UID SEARCH UID ${range}`, 0, (a) => {
      const uids = a.literals.length ? undefined : parseSearch(a.lines[0]!);
      if (uids) for (const u of uids) found.push(u);
    });
    if (r.status !== "OK") throw this.refused(r, "UID SEARCH failed");
    return found;
  }

  async lastUid(): Promise<number | undefined> {
    let uid: number | undefined;
    const r = await this.run("FETCH * (UID)", 0, this.fetchAnswers("*", (f) => (uid = f.uid ?? uid)));
    return r.status === "OK" ? uid : undefined;
  }

  async *metadata(range: string, want: { date?: boolean; headers?: boolean } = {}): AsyncIterable<MessageMeta> {
    const out: MessageMeta[] = [];
    const items = ["UID", "RFC822.SIZE", ...(want.date ? ["INTERNALDATE"] : []), ...(want.headers ? ["BODY.PEEK[HEADER]"] : [])];
    const r = await this.run(
      `UID FETCH ${range} (${items.join(" ")})`,
      0,
      this.fetchAnswers(range, (f) => {
        if (f.uid === undefined) return; // a flag change the server announces on its own
        out.push({ uid: f.uid, size: f.size ?? 0, ...(want.date ? { internalDate: f.internalDate ?? new Date(0) } : {}), ...(want.headers && f.header ? { headers: f.header } : {}) });
      }),
    );
    if (r.status !== "OK") throw this.refused(r, "UID FETCH failed");
    yield* out;
  }

  async bodies(range: string, limits: ReadLimits = {}): Promise<BodyBatch> {
    const buffer = this.buffers.take(limits.expectedBytes ?? 0);
    const release = () => this.buffers.give(buffer);
    const messages: MessageBody[] = [];
    try {
      const r = await this.run(
        `UID FETCH ${range} (UID FLAGS INTERNALDATE BODY.PEEK[])`,
        limits.expectedBytes ?? 0,
        this.fetchAnswers(range, (f) => {
          if (f.uid === undefined) return;
          messages.push({ uid: f.uid, source: f.body ?? undefined, flags: f.flags ?? NO_FLAGS, internalDate: f.internalDate ?? new Date(0) });
        }),
        this.refuseAbove(limits.maxLiteralBytes, buffer),
      );
      if (r.status !== "OK") throw this.refused(r, "UID FETCH failed");
    } catch (e) {
      release();
      throw e;
    }
    return { messages, release };
  }

  async part(uid: number, start: number, length: number): Promise<MessagePart | undefined> {
    const first = start === 0;
    const buffer = this.buffers.take(length);
    const release = () => this.buffers.give(buffer);
    let got: FetchItems | undefined;
    try {
      // a partial FETCH answers at most `length` bytes: a larger literal is refused as announced
      const r = await this.run(
        `UID FETCH ${uid} (UID ${first ? "FLAGS INTERNALDATE " : ""}BODY.PEEK[]<${start}.${length}>)`,
        length,
        this.fetchAnswers(String(uid), (f) => {
          if (f.uid === uid) got = f;
        }),
        this.refuseAbove(length + 1024, buffer),
      );
      if (r.status !== "OK") throw this.refused(r, "UID FETCH failed");
    } catch (e) {
      release();
      throw e;
    }
    if (!got) {
      release();
      return undefined;
    }
    return { source: got.body ?? Buffer.alloc(0), ...(first ? { flags: got.flags ?? NO_FLAGS, internalDate: got.internalDate ?? new Date(0) } : {}), release };
  }

  close(): Promise<void> {
    return this.shared ? Promise.resolve() : this.session.close();
  }
}
