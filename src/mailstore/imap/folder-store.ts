// The IMAP adapter's MailStore: listing (LIST with RETURN options where the server has them,
// else LIST, LSUB and STATUS), the personal namespace, CREATE and SUBSCRIBE, on one session
// of our own. Which command a server gets is decided on its capabilities; a server that
// advertises RETURN options and rejects them (BAD) is asked again with fewer, as imapflow does.
import { AutomigrateError } from "../../errors.ts";
import type { FolderIds, FolderReader, Layout, MailStore, MailWriter, StoreFolder } from "../port.ts";
import { ImapAppender } from "./appender.ts";
import { ImapReader, READ_LIMITS } from "./reader.ts";
import type { Response } from "./framer.ts";
import { listEntry, mergeLsub, normalizePath, resolveFolders, type ListEntry } from "./folder-list.ts";
import { listingKind, parseListLine, parseNamedStatus, parseNamespace, type Namespace } from "./list-parse.ts";
import { ImapSession, type SessionOptions, type TaggedResult } from "./session.ts";
import { encodeMailbox } from "./wire.ts";
import { ParseError } from "./tokens.ts";

/** The most folders one listing may hold: a server's to send, this process's memory to keep. */
export const MAX_LISTED_FOLDERS = 100_000;

interface Stage {
  status: boolean;
  subscribed: boolean;
  aux: boolean;
}

export class SessionStore implements MailStore {
  private ns: Namespace | undefined;
  /** The connection went on as a reader or writer: it is theirs to close. */
  private handedOn = false;

  private constructor(private readonly session: ImapSession) {}

  /** Connects, logs in and reads the personal namespace. A reader's bounds: the connection may go on as one (asReader, asWriter). */
  static async open(opts: SessionOptions): Promise<SessionStore> {
    const session = await ImapSession.open({ tagPrefix: "L", limits: READ_LIMITS, ...opts });
    const store = new SessionStore(session);
    try {
      store.ns = await store.namespace();
    } catch (e) {
      await session.close();
      throw e;
    }
    return store;
  }

  get layout(): Layout {
    return { prefix: this.ns?.prefix ?? "", delimiter: this.ns?.delimiter ?? "/" };
  }

  private get caps(): Set<string> {
    return this.session.capabilities;
  }

  private refused(what: string, r: TaggedResult): AutomigrateError {
    return new AutomigrateError(`${what} failed: ${r.status} ${r.code ? `[${r.code}] ` : ""}${r.text}`, { server: this.session.server }, { code: "SERVER", transient: true });
  }

  /** NAMESPACE's first personal namespace; without NAMESPACE, the delimiter of `LIST "" ""`. */
  private async namespace(): Promise<Namespace | undefined> {
    let ns: Namespace | undefined;
    if (this.caps.has("NAMESPACE")) {
      const r = await this.session.command("NAMESPACE", (a) => (ns = parseNamespace(a) ?? ns));
      if (r.status !== "OK") return undefined;
      return ns ?? { prefix: "", delimiter: "." };
    }
    const r = await this.session.command('LIST "" ""', (a) => {
      const l = parseListLine(a);
      if (l) ns = { prefix: "", delimiter: l.delimiter };
    });
    return r.status === "OK" ? ns : undefined;
  }

  /** One listing command (LIST, XLIST, LSUB); its untagged answers go to `onLine`, and one the parser refuses ends the connection. */
  private async run(command: string, onLine: (r: Response) => void): Promise<TaggedResult> {
    return this.session.command(command, (a) => {
      try {
        onLine(a);
      } catch (e) {
        if (e instanceof ParseError) throw this.session.fail(`unreadable ${listingKind(a) ?? "listing"} answer from the server: ${e.message}`, e);
        throw e;
      }
    });
  }

  async list(opts: { status?: boolean } = {}): Promise<StoreFolder[]> {
    const caps = this.caps;
    const xlist = caps.has("XLIST") && !caps.has("SPECIAL-USE");
    const command = xlist ? "XLIST" : "LIST";
    const extended = caps.has("LIST-EXTENDED") || caps.has("IMAP4REV2");
    const canStatus = Boolean(opts.status) && !xlist && caps.has("LIST-STATUS");
    const canSubscribed = !xlist && extended;
    const auxAvailable = caps.has("SPECIAL-USE");
    const stages: Stage[] = [];
    if (canStatus && canSubscribed) stages.push({ status: true, subscribed: true, aux: true });
    if (canStatus) stages.push({ status: true, subscribed: false, aux: true });
    else if (canSubscribed) stages.push({ status: false, subscribed: true, aux: true });
    stages.push({ status: false, subscribed: false, aux: false });
    const returnArgs = (s: Stage): string => {
      const args = [...(s.status ? ["STATUS (UIDNEXT UIDVALIDITY)"] : []), ...(s.aux && auxAvailable && (s.status || s.subscribed) ? ["SPECIAL-USE"] : []), ...(s.subscribed ? ["SUBSCRIBED"] : [])];
      return args.length ? ` RETURN (${args.join(" ")})` : "";
    };

    let entries: (ListEntry & { xlistInbox: boolean })[] = [];
    let statuses = new Map<string, FolderIds>();
    const collect = (a: Response) => {
      const kind = listingKind(a);
      if (kind === command) {
        if (entries.length >= MAX_LISTED_FOLDERS) throw this.session.fail(`the server listed more than ${MAX_LISTED_FOLDERS} folders`);
        entries.push(listEntry(parseListLine(a)!));
      } else if (kind === "STATUS") {
        const s = parseNamedStatus(a)!;
        statuses.set(normalizePath(s.name), { uidNext: s.uidNext, uidValidity: s.uidValidity });
      }
    };
    const reference = encodeMailbox(this.layout.prefix);
    let stage: Stage | undefined;
    let auxRetried = false;
    for (let i = 0; i < stages.length; i++) {
      const s = stages[i]!;
      entries = [];
      statuses = new Map();
      const r = await this.run(`${command} ${reference} "*"${returnArgs(s)}`, collect);
      if (r.status === "OK") {
        stage = s;
        break;
      }
      // a tagged BAD is how a server rejects RETURN options it does not know (RFC 9051 6.3.9)
      if (r.status === "NO" || i === stages.length - 1) throw this.refused(command, r);
      if (!auxRetried && s.aux && returnArgs(s) !== returnArgs({ ...s, aux: false })) {
        stages.splice(i + 1, 0, { ...s, aux: false });
        auxRetried = true;
      }
    }
    // with a namespace prefix ("INBOX."), INBOX itself is outside the pattern
    if (this.layout.prefix && !entries.some((e) => e.path === "INBOX" || e.xlistInbox)) {
      const before = entries.length;
      const r = await this.run(`${command} "" "INBOX"${returnArgs(stage!)}`, collect);
      if (r.status === "BAD" && returnArgs(stage!)) {
        entries.length = before;
        const plain = await this.run(`${command} "" "INBOX"`, collect);
        if (plain.status !== "OK") throw this.refused(command, plain);
      } else if (r.status !== "OK") throw this.refused(command, r);
    }
    // RETURN (SUBSCRIBED) answered, unless no folder came subscribed (a server may ignore the
    // option); LSUB then, except on a server that speaks only IMAP4rev2, which has none (a
    // session never ENABLEs IMAP4rev2, so one that offers both keeps rev1's LSUB)
    let subscriptionKnown = stage!.subscribed;
    const rev2Only = caps.has("IMAP4REV2") && !caps.has("IMAP4REV1");
    if (!rev2Only && (!stage!.subscribed || !entries.some((e) => e.subscribed))) {
      const byPath = new Map<string, ListEntry>();
      for (const e of entries) if (!byPath.has(e.path)) byPath.set(e.path, e);
      const r = await this.run(`LSUB ${reference} "*"`, (a) => {
        if (listingKind(a) === "LSUB") mergeLsub(byPath, parseListLine(a)!);
      });
      // subscriptions are auxiliary: a server without LSUB leaves them unknown
      subscriptionKnown = r.status === "OK";
    }
    if (opts.status) {
      for (const e of entries) {
        if (e.flags.has("\\Noselect") || e.flags.has("\\NonExistent")) continue;
        const inline = statuses.get(e.path);
        if (inline) e.status = inline;
        else if (!statuses.size) e.status = await this.status(e.path);
      }
    }
    return resolveFolders(entries, { specialUseExtension: caps.has("XLIST") || caps.has("SPECIAL-USE"), subscriptionKnown });
  }

  private async status(path: string): Promise<FolderIds | undefined> {
    let ids: FolderIds | undefined;
    const r = await this.run(`STATUS ${encodeMailbox(path)} (UIDNEXT UIDVALIDITY)`, (a) => {
      const s = parseNamedStatus(a);
      if (s) ids = { uidNext: s.uidNext, uidValidity: s.uidValidity };
    });
    return r.status === "OK" ? ids : undefined;
  }

  async create(path: string, opts: { subscribed: boolean }): Promise<void> {
    const r = await this.session.command(`CREATE ${encodeMailbox(path)}`);
    if (r.status !== "OK" && r.code?.toUpperCase() !== "ALREADYEXISTS") {
      throw new AutomigrateError(`${r.status} ${r.code ? `[${r.code}] ` : ""}${r.text}`, { folder: path, server: this.session.server }, { code: "FOLDER_REFUSED" });
    }
    if (opts.subscribed) await this.subscribe(path);
  }

  async subscribe(path: string): Promise<void> {
    // a refused subscription loses no mail: the folder is there either way
    await this.session.command(`SUBSCRIBE ${encodeMailbox(path)}`);
  }

  asReader(): FolderReader | undefined {
    return this.handOn() ? ImapReader.owning(this.session) : undefined;
  }

  asWriter(): MailWriter | undefined {
    return this.handOn() ? ImapAppender.owning(this.session) : undefined;
  }

  /** Whether the connection can go on (once, and only while it is up). */
  private handOn(): boolean {
    if (this.handedOn || this.session.closed) return false;
    this.handedOn = true;
    return true;
  }

  async close(): Promise<void> {
    if (!this.handedOn) await this.session.close();
  }
}
