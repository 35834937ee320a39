// The mail-store port: the operations the migration engine needs from a mail server, and
// nothing of how they go over the wire. Every type the engine and an adapter share is here.
// The engine (copy-folder, migrate-user, verify, stored-check) is written against these
// interfaces only and receives a MailOpener from its caller. Three roles: a MailStore lists
// and manages folders, a FolderReader reads one folder at a time (what the
// copy uses: its bodies arrive in a BodyBatch whose buffers are given back with release()),
// a MailWriter appends. The IMAP adapter lives whole in src/mailstore/imap/ (one session of
// our own under the folder store, the folder reader and the pipelined MULTIAPPEND writer),
// the in-memory one in test/support/memory-store.ts. A new way into a server (an OAuth2 login, a
// provider profile) is a new opener, not an engine change.

/** A folder as a server lists it. */
export interface ListedFolder {
  /** Decoded (UTF-8) full path as the server lists it, including any namespace prefix. */
  path: string;
  flags: string[];
  specialUse?: string;
  /** "extension" when the server said so, "name" when guessed from the name. */
  specialUseSource?: string;
  subscribed?: boolean;
}

export interface Layout {
  /** Personal namespace prefix, e.g. "" or "INBOX." */
  prefix: string;
  delimiter: string;
}

/** MailOpener: how the engine gets its connections (one call, one fresh connection). */
export interface MailOpener {
  /** A connection to the old server that lists its folders. */
  old(): Promise<MailStore>;
  /** A connection to the old server that reads folders, one at a time: what the copy uses. */
  oldReader(): Promise<FolderReader>;
  /** A listing and folder-managing connection to the new server. */
  target(): Promise<MailStore>;
  /** A connection to the new server that reads folders (matching and checking what was appended). */
  targetReader(): Promise<FolderReader>;
  /** An appending connection to the new server. */
  writer(): Promise<MailWriter>;
  /**
   * How long the new server may still commit an APPEND whose bytes it has read after its client
   * died (a network server keeps going; absent or 0 for a store that stops with its client).
   */
  lateCommitMs?: number;
}

/** UIDVALIDITY and UIDNEXT of a folder, when the server gave them (not every server does). */
export interface FolderIds {
  uidValidity?: number;
  uidNext?: number;
}

/** A LISTed folder, with its ids when they were asked and the server answered them. */
export interface StoreFolder extends ListedFolder {
  status?: FolderIds;
}

/** A folder opened read-only (EXAMINE) or for appending (SELECT). */
export interface OpenedFolder extends FolderIds {
  exists: number;
}

/** What FETCH metadata brings: size always; date and header bytes when asked. */
export interface MessageMeta {
  uid: number;
  size: number;
  internalDate?: Date;
  /** The header bytes (through the blank line), when asked. */
  headers?: Buffer;
}

/** A message's body with its flags and date; `source` is absent when the server sent none. */
export interface MessageBody {
  uid: number;
  source?: Buffer;
  /** As the server listed them (no Set per message: the writer filters what it may send). */
  flags: readonly string[];
  internalDate: Date;
}

/** Bounds of a body read: the largest literal accepted (larger ones are refused as announced) and the bytes expected (for its deadline). */
export interface ReadLimits {
  maxLiteralBytes?: number;
  expectedBytes?: number;
}

/**
 * The messages of one body read. Their bytes may live in a buffer the reader reuses: valid
 * until `release()`, which the caller calls once it is done with them (appended, or given up).
 * A batch never released is only memory the garbage collector takes back later.
 */
export interface BodyBatch {
  messages: MessageBody[];
  release(): void;
}

/** A message handed on piece by piece (streamBody): how many bytes it had, its flags and date. */
export interface StreamedMessage {
  size: number;
  flags: readonly string[];
  internalDate: Date;
}

/**
 * Reading a mailbox folder by folder. Ranges are IMAP UID sets ("1:*", "3,5:9"). Message
 * operations act on the folder last opened with `examine`. A server's refusal or a dropped
 * connection rejects the call (classified by src/errors.ts).
 */
export interface FolderReader {
  /** One folder's ids by STATUS; undefined when the server refuses it. */
  status(path: string): Promise<FolderIds | undefined>;
  /** Opens a folder read-only (nothing on the server changes: no \Seen set). */
  examine(path: string): Promise<OpenedFolder>;
  /** UIDs present in `range` of the open folder. */
  search(range: string): Promise<number[]>;
  /** The highest UID of the open folder (message `*`), undefined when it is empty. */
  lastUid(): Promise<number | undefined>;
  /** Size (and date, header bytes when asked) of every message in `range`. */
  metadata(range: string, want?: { date?: boolean; headers?: boolean }): AsyncIterable<MessageMeta>;
  /**
   * Whole messages in `range` with flags and dates, without setting \Seen. A message whose
   * literal is announced above `limits.maxLiteralBytes` fails the read with code OVERSIZED
   * (the connection is then closed); a read that outlasts its deadline fails with CONNECT.
   */
  bodies(range: string, limits?: ReadLimits): Promise<BodyBatch>;
  /**
   * One whole message, without setting \Seen, handed to `sink` piece by piece as it arrives
   * (a large message, spooled: never held in memory whole). Each piece is valid during the call
   * only; `sink` must not throw. Undefined when the folder no longer holds the message. Limits
   * and failures as bodies().
   */
  streamBody(uid: number, sink: (piece: Buffer) => void, limits?: ReadLimits): Promise<StreamedMessage | undefined>;
  /** Logs out (bounded in time) and closes; never throws. */
  close(): Promise<void>;
}

/** Listing a mailbox's folders and managing them (reading them is a FolderReader's job). */
export interface MailStore {
  /** Personal namespace prefix and hierarchy delimiter. */
  readonly layout: Layout;
  /** Every folder; with `status`, each one's ids (LIST-STATUS where offered, else STATUS). */
  list(opts?: { status?: boolean }): Promise<StoreFolder[]>;
  /** Creates a folder, subscribed or not as asked. */
  create(path: string, opts: { subscribed: boolean }): Promise<void>;
  subscribe(path: string): Promise<void>;
  /**
   * The store's logged-in connection, handed on to read folders (of the old server) or to
   * append (on the new one): a login fewer per job. The store is done then (its close() does
   * nothing; the reader or writer closes the connection). Undefined when the connection has
   * ended meanwhile (the caller opens a fresh one); absent where a store cannot.
   */
  asReader?(): FolderReader | undefined;
  asWriter?(): MailWriter | undefined;
  /** Logs out (bounded in time) and closes; never throws. */
  close(): Promise<void>;
}

/** A message to append: its bytes in memory, or a spooled file of exactly `size` bytes. */
export interface AppendMessage {
  content: Buffer | { path: string; size: number };
  flags: Iterable<string>;
  internalDate: Date;
}

/** An APPEND's outcome: the new UIDs when the server says them (UIDPLUS), or its refusal. */
export type AppendOutcome = { ok: true; uids: number[]; uidValidity?: number } | { ok: false; reason: string; /** The server's response code (RFC 5530), e.g. OVERQUOTA, upper case, without its arguments. */ responseCode?: string };

/** Appending to the new server, folder by folder. */
export interface MailWriter {
  /** Opens the folder messages are appended to; its ids tell a crashed batch's range. */
  select(path: string): Promise<Partial<OpenedFolder>>;
  /** Appends the messages as one unit where the server allows it (MULTIAPPEND: all or none). */
  appendBatch(path: string, messages: AppendMessage[]): Promise<AppendOutcome>;
  /** Appends the messages one by one: one outcome each. */
  appendEach(path: string, messages: AppendMessage[]): Promise<AppendOutcome[]>;
  /**
   * A reader on the writer's own connection, when it has one to share (used between appends,
   * never during one; closing it leaves the writer open). Without it a second connection reads.
   */
  reader?(): FolderReader;
  close(): Promise<void>;
}
