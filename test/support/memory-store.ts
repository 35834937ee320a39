// The mail-store port (src/mailstore/port.ts) in memory: a mailbox of folders that the
// engine lists (MailStore), reads (FolderReader) and appends to (MailWriter) without a
// socket, scripted with the quirks of real servers and with faults. It is the engine's unit-speed tier, beside the
// scripted IMAP server on a real socket (fake-imap.ts) and the real servers.
import { AutomigrateError } from "../../src/errors.ts";
import type { AppendMessage, AppendOutcome, BodyBatch, FolderIds, FolderReader, Layout, MailOpener, MailStore, MailWriter, MessageBody, MessageMeta, OpenedFolder, StoreFolder, StreamedMessage } from "../../src/mailstore/port.ts";

/** What a released body buffer holds afterwards ("!"). */
const RELEASED = 0x21;
/** The pieces streamBody hands on (the IMAP reader's are a socket's chunks). */
const STREAM_PIECE = 64 * 1024;
import { readFileSync } from "node:fs";

export interface MemoryMessage {
  uid: number;
  body: Buffer;
  flags: Set<string>;
  internalDate: Date;
}

export interface MemoryFolder {
  uidValidity: number;
  uidNext: number;
  messages: MemoryMessage[];
  subscribed: boolean;
}

export interface MemoryQuirks {
  /** EXAMINE/SELECT answer without UIDNEXT (Courier). */
  noUidNext?: boolean;
  /** STATUS refuses (and so gives no UIDNEXT either). */
  noStatus?: boolean;
  /** FETCH BODY.PEEK[] answers these UIDs without a body. */
  bodyless?: Set<number>;
  /** FETCH BODY.PEEK[] leaves these UIDs out (expunged between the sizes and the bodies). */
  vanishOnFetch?: Set<number>;
  /** Fetching a body of one of these UIDs drops the connection, every time. */
  dropOn?: Set<number>;
  /** As a new server: APPEND answers without UIDs (no UIDPLUS). */
  noUidPlus?: boolean;
  /** As a new server: refuses to append a message whose bytes contain this text. */
  refuseContaining?: string;
  /** As a new server: stores the n-th APPEND batch, then drops the connection before answering (counted from 1). */
  dropAfterStoringBatch?: number;
}

const dropped = () => new AutomigrateError("the server closed the connection", { server: "memory store" }, { transient: true, code: "CONNECT" });

/** UIDs of `folder` in an IMAP UID set ("1:*", "3,5:9"); `*` is the highest UID present. */
export function inUidSet(set: string, folder: MemoryFolder): Set<number> {
  const max = folder.messages.reduce((m, x) => Math.max(m, x.uid), 0);
  const out = new Set<number>();
  for (const part of set.split(",")) {
    const [a, b = a] = part.split(":").map((x) => (x === "*" ? max : Number(x)));
    const [lo, hi] = a! <= b! ? [a!, b!] : [b!, a!];
    for (const m of folder.messages) if (m.uid >= lo && m.uid <= hi) out.add(m.uid);
  }
  return out;
}

export class MemoryMailbox {
  readonly folders = new Map<string, MemoryFolder>();
  quirks: MemoryQuirks = {};
  appendBatches = 0;
  readonly layout: Layout = { prefix: "", delimiter: "/" };
  /** Called around each APPEND (a batch, or one message of appendEach): a test's crash injection. */
  onAppend?: (phase: "before" | "after") => void;

  /** A deep copy (folders, messages, quirks): a server as it was at a moment. */
  clone(): MemoryMailbox {
    const c = new MemoryMailbox();
    for (const [p, f] of this.folders) c.folders.set(p, { ...f, messages: f.messages.map((m) => ({ ...m, body: Buffer.from(m.body), flags: new Set(m.flags) })) });
    c.quirks = { ...this.quirks };
    return c;
  }

  folder(path: string, uidValidity = 1000 + this.folders.size): MemoryFolder {
    let f = this.folders.get(path);
    if (!f) this.folders.set(path, (f = { uidValidity, uidNext: 1, messages: [], subscribed: true }));
    return f;
  }

  add(path: string, body: string | Buffer, flags: string[] = [], internalDate = new Date("2020-01-02T03:04:05Z")): MemoryMessage {
    const f = this.folder(path);
    const m = { uid: f.uidNext++, body: Buffer.isBuffer(body) ? body : Buffer.from(body), flags: new Set(flags), internalDate };
    f.messages.push(m);
    return m;
  }

  private get(path: string): MemoryFolder {
    const f = this.folders.get(path);
    if (!f) throw new AutomigrateError(`NO Mailbox doesn't exist: ${path}`, { folder: path }, { transient: true, code: "SERVER" });
    return f;
  }

  /** A connection as the engine sees it: listing and managing folders, and reading them. */
  store(): MailStore & FolderReader {
    let open: MemoryFolder | undefined;
    const opened = () => {
      if (!open) throw new Error("no folder open");
      return open;
    };
    const q = () => this.quirks;
    return {
      layout: this.layout,
      list: async ({ status } = {}): Promise<StoreFolder[]> =>
        [...this.folders].map(([path, f]) => ({ path, flags: [], subscribed: f.subscribed, ...(status && !q().noStatus ? { status: this.ids(f) } : {}) })),
      status: async (path): Promise<FolderIds | undefined> => (q().noStatus ? undefined : this.ids(this.get(path))),
      examine: async (path): Promise<OpenedFolder> => {
        open = this.get(path);
        return { ...this.ids(open), exists: open.messages.length };
      },
      search: async (range) => [...inUidSet(range, opened())].sort((a, b) => a - b),
      lastUid: async () => opened().messages.at(-1)?.uid,
      metadata: (range, want = {}) => this.each(opened(), range, (m): MessageMeta => ({
        uid: m.uid,
        size: m.body.length,
        ...(want.date ? { internalDate: m.internalDate } : {}),
        ...(want.headers ? { headers: m.body.subarray(0, headerEnd(m.body)) } : {}),
      })),
      bodies: async (range): Promise<BodyBatch> => {
        const f = opened();
        const messages: MessageBody[] = [];
        for (const uid of [...inUidSet(range, f)].sort((a, b) => a - b)) {
          if (q().dropOn?.has(uid)) throw dropped();
          if (q().vanishOnFetch?.has(uid)) continue;
          const m = this.message(f, uid);
          messages.push({ uid, flags: [...m.flags], internalDate: m.internalDate, ...(q().bodyless?.has(uid) ? {} : { source: Buffer.from(m.body) }) });
        }
        // as the IMAP reader's batch buffers are reused, released bytes are overwritten: an
        // engine that used a message after releasing its batch would copy these instead
        return { messages, release: () => messages.forEach((m) => m.source?.fill(RELEASED)) };
      },
      streamBody: async (uid, sink): Promise<StreamedMessage | undefined> => {
        if (q().dropOn?.has(uid)) throw dropped();
        const f = opened();
        const m = f.messages.find((x) => x.uid === uid);
        if (!m) return undefined;
        // in pieces, each overwritten once the sink has had it (as a socket's chunk may be):
        // an engine that kept a piece instead of writing it would copy these bytes
        const piece = Buffer.alloc(STREAM_PIECE);
        for (let at = 0; at < m.body.length; at += STREAM_PIECE) {
          const n = m.body.copy(piece, 0, at, Math.min(m.body.length, at + STREAM_PIECE));
          sink(piece.subarray(0, n));
          piece.fill(RELEASED);
        }
        return { size: m.body.length, flags: [...m.flags], internalDate: m.internalDate };
      },
      create: async (path, { subscribed }) => {
        if (this.folders.has(path)) throw new AutomigrateError(`NO Mailbox already exists: ${path}`, { folder: path }, { code: "SERVER" });
        this.folder(path).subscribed = subscribed;
      },
      subscribe: async (path) => {
        this.get(path).subscribed = true;
      },
      close: async () => {},
    };
  }

  /** The appending side, as the engine sees the new server's appender. */
  writer(): MailWriter {
    const append = (path: string, messages: AppendMessage[]): AppendOutcome => {
      const f = this.get(path);
      const bodies = messages.map((m) => (Buffer.isBuffer(m.content) ? m.content : readFileSync(m.content.path)));
      const refuse = this.quirks.refuseContaining;
      if (refuse && bodies.some((b) => b.includes(refuse))) return { ok: false, reason: `NO [OVERQUOTA] refused (${refuse})` };
      const uids = bodies.map((body, i) => {
        const m = { uid: f.uidNext++, body: Buffer.from(body), flags: new Set(messages[i]!.flags), internalDate: messages[i]!.internalDate };
        f.messages.push(m);
        return m.uid;
      });
      return { ok: true, uids: this.quirks.noUidPlus ? [] : uids };
    };
    return {
      select: async (path) => ({ ...this.ids(this.get(path)), exists: this.get(path).messages.length }),
      appendBatch: async (path, messages) => {
        this.onAppend?.("before");
        const r = append(path, messages);
        this.onAppend?.("after");
        if (++this.appendBatches === this.quirks.dropAfterStoringBatch) throw dropped();
        return r;
      },
      appendEach: async (path, messages) =>
        messages.map((m) => {
          this.onAppend?.("before");
          const r = append(path, [m]);
          this.onAppend?.("after");
          return r;
        }),
      close: async () => {},
    };
  }

  private ids(f: MemoryFolder): FolderIds {
    return { uidValidity: f.uidValidity, ...(this.quirks.noUidNext ? {} : { uidNext: f.uidNext }) };
  }

  private message(f: MemoryFolder, uid: number): MemoryMessage {
    return f.messages.find((x) => x.uid === uid)!;
  }

  private async *each<T>(f: MemoryFolder, range: string, map: (m: MemoryMessage) => T): AsyncIterable<T> {
    for (const uid of [...inUidSet(range, f)].sort((a, b) => a - b)) yield map(this.message(f, uid));
  }
}

function headerEnd(b: Buffer): number {
  const i = b.indexOf("\r\n\r\n");
  return i < 0 ? b.length : i + 4;
}

/** The engine's opener over two memory mailboxes (old, new). */
export function memoryOpener(old: MemoryMailbox, target: MemoryMailbox): MailOpener {
  return { old: async () => old.store(), oldReader: async () => old.store(), target: async () => target.store(), targetReader: async () => target.store(), writer: async () => target.writer() };
}
