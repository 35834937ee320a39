// The mail-store port over IMAP: listing and folder management (LIST, CREATE, SUBSCRIBE) with
// imapflow; reading folders with our own reader (reader.ts); appending with the pipelined
// MULTIAPPEND appender (appender.ts). Opening a connection, TLS, the master identity and the
// errors of a refused login are in connect.ts.
import type { ImapFlow } from "imapflow";
import { ImapAppender } from "./appender.ts";
import { closeImap, openImap } from "./connect.ts";
import { withLogin, type Credentials, type Endpoint } from "../endpoints.ts";
import type { FolderReader, Layout, MailStore, MailWriter, StoreFolder } from "../port.ts";
import { ImapReader } from "./reader.ts";

/** Opens a connection to a server as a MailStore (errors as openImap's: codes, hints). */
export async function openStore(endpoint: Endpoint, creds: Credentials, opts: { timeoutMs?: number; originating?: { ip: string; port?: number } } = {}): Promise<MailStore> {
  return new ImapFlowStore(await withLogin(creds, (accessToken) => openImap(endpoint, creds, { ...opts, accessToken })));
}

/** Opens a folder-reading connection to a server (our own: bodies go straight into batch buffers). */
export function openReader(endpoint: Endpoint, creds: Credentials): Promise<FolderReader> {
  return withLogin(creds, (accessToken) => ImapReader.open(endpoint, { ...creds, accessToken }));
}

/** Opens the appending connection to a server (the new one). */
export async function openWriter(endpoint: Endpoint, creds: Credentials): Promise<MailWriter> {
  return withLogin(creds, (accessToken) => ImapAppender.open({ ...endpoint, user: creds.user, pass: creds.pass, authzid: creds.authzid, accessToken }));
}

/** Greeting, TLS and capabilities of a server, without logging in (test-connection). */
export function probeServer(endpoint: Endpoint, opts: { timeoutMs: number; label: string }) {
  return ImapAppender.probe({ ...endpoint, ...opts });
}

/** Closes a store that may not have been opened. */
export async function closeStore(store: MailStore | undefined): Promise<void> {
  await store?.close();
}

/** Listing and folder management over imapflow; the messages are read by ImapReader. */
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
