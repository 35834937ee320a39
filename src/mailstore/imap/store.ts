// The mail-store port over IMAP: listing and folder management (LIST, CREATE, SUBSCRIBE) with
// imapflow, which also reads where a whole MailStore is asked for; reading folders for the
// copy with our own reader (reader.ts); appending with the pipelined MULTIAPPEND appender
// (appender.ts). Opening a connection, TLS, the master identity and the
// errors of a refused login are in connect.ts.
import type { ImapFlow } from "imapflow";
import { ImapAppender } from "./appender.ts";
import { closeImap, openImap } from "./connect.ts";
import type { Credentials, Endpoint } from "../endpoints.ts";
import type { BodyBatch, FolderIds, FolderReader, Layout, MailStore, MailWriter, MessageBody, MessageMeta, MessagePart, OpenedFolder, ReadLimits, StoreFolder } from "../port.ts";
import { ImapReader } from "./reader.ts";
import { AutomigrateError } from "../../errors.ts";
import { TIMEOUTS } from "../../timeouts.ts";

/** Opens a connection to a server as a MailStore (errors as openImap's: codes, hints). */
export async function openStore(endpoint: Endpoint, creds: Credentials, opts: { timeoutMs?: number; originating?: { ip: string; port?: number } } = {}): Promise<MailStore> {
  return new ImapFlowStore(await openImap(endpoint, creds, opts));
}

/** Opens a folder-reading connection to a server (our own: bodies go straight into batch buffers). */
export function openReader(endpoint: Endpoint, creds: Credentials): Promise<FolderReader> {
  return ImapReader.open(endpoint, creds);
}

/** Opens the appending connection to a server (the new one). */
export async function openWriter(endpoint: Endpoint, creds: Credentials): Promise<MailWriter> {
  return ImapAppender.open({ ...endpoint, user: creds.user, pass: creds.pass, authzid: creds.authzid });
}

/** Greeting, TLS and capabilities of a server, without logging in (test-connection). */
export function probeServer(endpoint: Endpoint, opts: { timeoutMs: number; label: string }) {
  return ImapAppender.probe({ ...endpoint, ...opts });
}

/** Closes a store that may not have been opened. */
export async function closeStore(store: MailStore | undefined): Promise<void> {
  await store?.close();
}

const positive = (v: unknown): number | undefined => ((typeof v === "number" || typeof v === "bigint") && Number(v) > 0 ? Number(v) : undefined);
const asDate = (d: Date | string | undefined): Date => (d instanceof Date ? d : new Date(d ?? 0));

export class ImapFlowStore implements MailStore {
  /** The connection's last error event (imapflow reports a refused literal there, then "no connection" to the command). */
  private lastError?: { code?: string; message?: string };
  private timedOut?: number;

  constructor(private readonly client: ImapFlow) {
    client.on("error", (e: { code?: string; message?: string }) => (this.lastError = e));
  }

  /**
   * Runs one read under a deadline (the base plus its expected bytes at the slowest rate a
   * server may keep up) and, when `maxLiteral` is given, with literals larger than that refused
   * as they are announced. A deadline passed or a literal refused ends the connection; the
   * caller gets a coded error (CONNECT: worth a retry on a fresh connection; OVERSIZED: this
   * message, on this server, never fits).
   */
  private async read<T>(expectedBytes: number, maxLiteral: number | undefined, op: () => Promise<T>): Promise<T> {
    const streamer = (this.client as unknown as { streamer?: { maxLiteralSize?: number } }).streamer;
    const before = streamer?.maxLiteralSize;
    if (streamer && maxLiteral !== undefined) streamer.maxLiteralSize = maxLiteral;
    const ms = TIMEOUTS.imapReadBaseMs + Math.ceil((expectedBytes / TIMEOUTS.imapMinBytesPerSec) * 1000);
    const timer = setTimeout(() => {
      this.timedOut = ms;
      this.client.close();
    }, ms);
    try {
      return await op();
    } catch (e) {
      throw this.explain(e);
    } finally {
      clearTimeout(timer);
      if (streamer && maxLiteral !== undefined && before !== undefined) streamer.maxLiteralSize = before;
    }
  }

  private explain(e: unknown): unknown {
    if (this.lastError?.code === "LiteralTooLarge") {
      return new AutomigrateError(`the old server announced a message larger than it said it was (${this.lastError.message}): refused as announced, the connection closed`, {
        hint: "a broken or hostile server (or a proxy) in the path; if the message really is that large, raise migration.maxMessageBytes",
      }, { code: "OVERSIZED", cause: e });
    }
    if (this.timedOut !== undefined) {
      return new AutomigrateError(`the server did not finish answering within ${Math.round(this.timedOut / 1000)} s (it kept the connection alive without delivering)`, {}, { code: "CONNECT", transient: true, cause: e });
    }
    return e;
  }

  /** An async iteration read under one deadline and literal limit. */
  private async *readAll<T>(expectedBytes: number, maxLiteral: number | undefined, it: () => AsyncIterable<T>): AsyncIterable<T> {
    const items: T[] = [];
    // collected under the deadline, then handed out (the callers' batches are bounded in bytes)
    await this.read(expectedBytes, maxLiteral, async () => {
      for await (const x of it()) items.push(x);
    });
    yield* items;
  }

  get layout(): Layout {
    const ns = this.client.namespace as { prefix?: string; delimiter?: string } | undefined;
    return { prefix: ns?.prefix ?? "", delimiter: ns?.delimiter ?? "/" };
  }

  async list(opts: { status?: boolean } = {}): Promise<StoreFolder[]> {
    const list = await this.client.list(opts.status ? { statusQuery: { uidNext: true, uidValidity: true } } : undefined);
    return list.map((f) => {
      const st = f.status as { uidNext?: number; uidValidity?: bigint | number; error?: unknown } | undefined;
      return {
        path: f.path,
        flags: [...(f.flags ?? [])],
        specialUse: f.specialUse,
        specialUseSource: (f as { specialUseSource?: string }).specialUseSource,
        subscribed: f.subscribed,
        ...(st && !st.error ? { status: { uidNext: st.uidNext, uidValidity: st.uidValidity === undefined ? undefined : Number(st.uidValidity) } } : {}),
      };
    });
  }

  async status(path: string): Promise<FolderIds | undefined> {
    const st = await this.client.status(path, { uidNext: true, uidValidity: true }).catch(() => undefined);
    return st ? { uidNext: positive(st.uidNext), uidValidity: positive(st.uidValidity) } : undefined;
  }

  async examine(path: string): Promise<OpenedFolder> {
    const box = await this.read(0, undefined, () => this.client.mailboxOpen(path, { readOnly: true }));
    return { uidValidity: positive(box.uidValidity), uidNext: positive(box.uidNext), exists: box.exists ?? 0 };
  }

  async search(range: string): Promise<number[]> {
    const found = await this.read(0, undefined, () => this.client.search({ uid: range }, { uid: true }));
    return Array.isArray(found) ? found : [];
  }

  async lastUid(): Promise<number | undefined> {
    const last = await this.client.fetchOne("*", { uid: true });
    return last ? last.uid : undefined;
  }

  async *metadata(range: string, want: { date?: boolean; headers?: boolean } = {}): AsyncIterable<MessageMeta> {
    const query = { uid: true, size: true, ...(want.date ? { internalDate: true } : {}), ...(want.headers ? { headers: true } : {}) };
    for await (const m of this.readAll(0, undefined, () => this.client.fetch(range, query, { uid: true }))) {
      yield {
        uid: m.uid,
        size: m.size ?? 0,
        ...(want.date ? { internalDate: asDate(m.internalDate) } : {}),
        ...(want.headers && m.headers ? { headers: m.headers } : {}),
      };
    }
  }

  async bodies(range: string, limits: ReadLimits = {}): Promise<BodyBatch> {
    const messages: MessageBody[] = [];
    for await (const m of this.readAll(limits.expectedBytes ?? 0, limits.maxLiteralBytes, () => this.client.fetch(range, { uid: true, flags: true, internalDate: true, source: true }, { uid: true }))) {
      messages.push({ uid: m.uid, source: m.source, flags: m.flags ?? new Set(), internalDate: asDate(m.internalDate) });
    }
    // imapflow's buffers are its own: nothing to give back
    return { messages, release: () => {} };
  }

  async part(uid: number, start: number, length: number): Promise<MessagePart | undefined> {
    const first = start === 0;
    // a partial FETCH answers at most `length` bytes: a larger literal is refused as announced
    const r = await this.read(length, length + 1024, () => this.client.fetchOne(String(uid), { uid: true, ...(first ? { flags: true, internalDate: true } : {}), source: { start, maxLength: length } }, { uid: true }));
    if (!r) return undefined;
    return { source: r.source ?? Buffer.alloc(0), ...(first ? { flags: r.flags ?? new Set(), internalDate: asDate(r.internalDate) } : {}), release: () => {} };
  }

  async create(path: string, opts: { subscribed: boolean }): Promise<void> {
    await this.client.mailboxCreate(path);
    // imapflow subscribes what it creates
    if (!opts.subscribed) await this.client.mailboxUnsubscribe(path);
  }

  async subscribe(path: string): Promise<void> {
    await this.client.mailboxSubscribe(path);
  }

  async close(): Promise<void> {
    await closeImap(this.client);
  }
}
