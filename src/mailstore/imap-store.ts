// The mail-store port over IMAP: reading (LIST, STATUS, EXAMINE, UID FETCH, UID SEARCH)
// and folder management (CREATE, SUBSCRIBE) with imapflow; appending with the pipelined
// MULTIAPPEND appender. Opening a connection, TLS, the master identity and the errors of a
// refused login stay in src/imap/connect.ts.
import type { ImapFlow } from "imapflow";
import { ImapAppender } from "../imap/appender.ts";
import { closeImap, openImap, type Credentials, type Endpoint } from "../imap/connect.ts";
import type { FolderIds, Layout, MailStore, MailWriter, MessageBody, MessageMeta, MessagePart, OpenedFolder, StoreFolder } from "./port.ts";

/** Opens a connection to a server as a MailStore (errors as openImap's: codes, hints). */
export async function openStore(endpoint: Endpoint, creds: Credentials, opts: { timeoutMs?: number } = {}): Promise<MailStore> {
  return new ImapFlowStore(await openImap(endpoint, creds, opts));
}

/** Opens the appending connection to a server (the new one). */
export async function openWriter(endpoint: Endpoint, creds: Credentials): Promise<MailWriter> {
  return ImapAppender.open({ ...endpoint, user: creds.user, pass: creds.pass, authzid: creds.authzid });
}

/** Closes a store that may not have been opened. */
export async function closeStore(store: MailStore | undefined): Promise<void> {
  await store?.close();
}

const positive = (v: unknown): number | undefined => ((typeof v === "number" || typeof v === "bigint") && Number(v) > 0 ? Number(v) : undefined);
const asDate = (d: Date | string | undefined): Date => (d instanceof Date ? d : new Date(d ?? 0));

export class ImapFlowStore implements MailStore {
  constructor(private readonly client: ImapFlow) {}

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
    const box = await this.client.mailboxOpen(path, { readOnly: true });
    return { uidValidity: positive(box.uidValidity), uidNext: positive(box.uidNext), exists: box.exists ?? 0 };
  }

  async search(range: string): Promise<number[]> {
    const found = await this.client.search({ uid: range }, { uid: true });
    return Array.isArray(found) ? found : [];
  }

  async lastUid(): Promise<number | undefined> {
    const last = await this.client.fetchOne("*", { uid: true });
    return last ? last.uid : undefined;
  }

  async *metadata(range: string, want: { date?: boolean; headers?: boolean } = {}): AsyncIterable<MessageMeta> {
    const query = { uid: true, size: true, ...(want.date ? { internalDate: true } : {}), ...(want.headers ? { headers: true } : {}) };
    for await (const m of this.client.fetch(range, query, { uid: true })) {
      yield {
        uid: m.uid,
        size: m.size ?? 0,
        ...(want.date ? { internalDate: asDate(m.internalDate) } : {}),
        ...(want.headers && m.headers ? { headers: m.headers } : {}),
      };
    }
  }

  async *bodies(range: string): AsyncIterable<MessageBody> {
    for await (const m of this.client.fetch(range, { uid: true, flags: true, internalDate: true, source: true }, { uid: true })) {
      yield { uid: m.uid, source: m.source, flags: m.flags ?? new Set(), internalDate: asDate(m.internalDate) };
    }
  }

  async part(uid: number, start: number, length: number): Promise<MessagePart | undefined> {
    const first = start === 0;
    const r = await this.client.fetchOne(String(uid), { uid: true, ...(first ? { flags: true, internalDate: true } : {}), source: { start, maxLength: length } }, { uid: true });
    if (!r) return undefined;
    return { source: r.source ?? Buffer.alloc(0), ...(first ? { flags: r.flags ?? new Set(), internalDate: asDate(r.internalDate) } : {}) };
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
