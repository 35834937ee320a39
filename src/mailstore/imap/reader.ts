// Reading folders over our own IMAP connection (session.ts): EXAMINE, STATUS, UID SEARCH and
// UID FETCH of sizes, dates, headers and whole bodies. A body's bytes go once from the socket
// into the batch's buffer (batch-buffers.ts) and from there to the new server: no parser
// object per message, no copy per layer, no garbage per message. Every read runs under a
// deadline (a base plus its expected bytes at the slowest rate a server may keep up), and a
// literal announced above the read's limit is refused as announced (OVERSIZED). A large
// message goes piece by piece from the socket's chunks to its spool file (streamBody).
import { AutomigrateError } from "../../errors.ts";
import { TIMEOUTS } from "../../timeouts.ts";
import type { BodyBatch, FolderIds, FolderReader, MessageBody, MessageMeta, OpenedFolder, ReadLimits, StreamedMessage } from "../port.ts";
import { BatchBuffers, type BatchBuffer } from "./batch-buffers.ts";
import { folderFacts, parseFetch, parseSearch, type FetchItems } from "./fetch-parse.ts";
import { parseNamedStatus } from "./list-parse.ts";
import { STREAMED_LITERAL, type LiteralSink, type Response } from "./framer.ts";
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

  /** A literal announced above `max` is refused as announced (OVERSIZED: the connection is closed). */
  private refuseAbove(max: number | undefined, size: number): void {
    if (max !== undefined && size > max) {
      throw new AutomigrateError(`the old server announced a message larger than it said it was (a ${size}-byte literal, at most ${max} expected): refused as announced, the connection closed`, {
        server: this.session.server,
        hint: "a broken or hostile server (or a proxy) in the path; if the message really is that large, raise migration.maxMessageBytes",
      }, { code: "OVERSIZED" });
    }
  }

  /** Literals into slices of `buffer`, each refused above `max`. */
  private into(buffer: BatchBuffer, max: number | undefined): LiteralSink {
    return (size) => {
      this.refuseAbove(max, size);
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
        this.into(buffer, limits.maxLiteralBytes),
      );
      if (r.status !== "OK") throw this.refused(r, "UID FETCH failed");
    } catch (e) {
      release();
      throw e;
    }
    return { messages, release };
  }

  async streamBody(uid: number, sink: (piece: Buffer) => void, limits: ReadLimits = {}): Promise<StreamedMessage | undefined> {
    let got: FetchItems | undefined;
    let size = 0;
    let streams = 0;
    const r = await this.run(
      `UID FETCH ${uid} (UID FLAGS INTERNALDATE BODY.PEEK[])`,
      limits.expectedBytes ?? 0,
      this.fetchAnswers(String(uid), (f) => {
        // the answer with the body; a flag change announced besides it carries none
        if (f.uid === uid && f.body !== undefined) got = f;
      }),
      (announced) => {
        this.refuseAbove(limits.maxLiteralBytes, announced);
        // one literal goes to the sink: a second one (the same message twice, or another
        // item) is kept inline within READ_LIMITS and then refused below, never appended to
        // the first
        if (streams++ > 0) return undefined;
        size = announced;
        return sink;
      },
    );
    if (r.status !== "OK") throw this.refused(r, "UID FETCH failed");
    if (!got) return undefined;
    if (got.body !== null && (got.body !== STREAMED_LITERAL || streams !== 1)) {
      throw this.session.fail(`the server's answer to UID FETCH ${uid} did not carry the message as one literal (${streams} literals); nothing of it was used`);
    }
    return { size: got.body === null ? 0 : size, flags: got.flags ?? NO_FLAGS, internalDate: got.internalDate ?? new Date(0) };
  }

  close(): Promise<void> {
    return this.shared ? Promise.resolve() : this.session.close();
  }
}
