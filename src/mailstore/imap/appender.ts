// The write side of a migration: a dedicated IMAP connection to the NEW server that SELECTs
// the target folder and APPENDs messages in batches with MULTIAPPEND (RFC 3502) and
// LITERAL+ (RFC 7888), so a batch costs one round trip instead of two per message.
// imapflow sends one command at a time and no MULTIAPPEND; this is written on purpose
// where it stops, on our own connection (session.ts). Bytes in flight are bounded by the
// caller's batch size.
import { closeSync, openSync } from "node:fs";
import { crashPoint, crashPointArmed } from "../../crash-points.ts";
import { AutomigrateError } from "../../errors.ts";
import { folderFacts } from "./fetch-parse.ts";
import { ImapReader, READ_LIMITS } from "./reader.ts";
import { handled, ImapSession, type SessionOptions, type TaggedResult } from "./session.ts";
import { appendableFlags, encodeMailbox, imapDateTime, parseUidSet } from "./wire.ts";
import { WriteGatherer } from "./write-gather.ts";
import type { AppendMessage, AppendOutcome, FolderReader, MailWriter } from "../port.ts";

export type { AppendMessage, AppendOutcome, TaggedResult };

export type AppenderOptions = Omit<SessionOptions, "tagPrefix" | "limits">;

const CRLF = Buffer.from("\r\n");

export class ImapAppender implements MailWriter {
  private selected: string | null = null;
  selectedUidValidity: number | undefined;

  private constructor(private readonly session: ImapSession) {}

  static async open(opts: AppenderOptions): Promise<ImapAppender> {
    // a reader's bounds: the same connection reads back what it appended (reader())
    return new ImapAppender(await ImapSession.open({ role: "new", ...opts, tagPrefix: "W", limits: READ_LIMITS }));
  }

  /** An appender on the connection of a store it takes over (SessionStore.asWriter). */
  static owning(session: ImapSession): ImapAppender {
    return new ImapAppender(session);
  }

  private sharedReader: ImapReader | undefined;
  /** One for the connection: its commands are written one after the other. */
  private gatherer: WriteGatherer | undefined;

  /**
   * Reads folders on this same connection, between appends (never during one): the read-back
   * of what was appended and the crash recovery's matching cost no login of their own. Its
   * EXAMINE deselects the target folder, so the next append SELECTs it again.
   */
  reader(): FolderReader {
    return (this.sharedReader ??= ImapReader.over(this.session, () => (this.selected = null)));
  }

  /**
   * Connects (TLS as configured, STARTTLS included) without logging in, and reports what the
   * server offers: for `test-connection`.
   */
  static async probe(opts: Omit<AppenderOptions, "user" | "pass" | "authzid">): Promise<{ greeting: string; capabilities: string[]; secure: boolean }> {
    const s = await ImapSession.open({ ...opts, user: "", pass: "", tagPrefix: "W" }, false);
    try {
      return { greeting: s.greetingText, capabilities: [...s.capabilities], secure: opts.tls !== "none" };
    } finally {
      await s.close();
    }
  }

  get server(): string {
    return this.session.server;
  }

  get capabilities(): Set<string> {
    return this.session.capabilities;
  }

  command(text: string): Promise<TaggedResult> {
    return this.session.command(text);
  }

  /** SELECT the target folder: Dovecot appends far faster into the selected folder. */
  async select(mailbox: string): Promise<{ uidValidity?: number; uidNext?: number; exists?: number }> {
    const r = await this.command(`SELECT ${encodeMailbox(mailbox)}`);
    if (r.status !== "OK") {
      this.selected = null;
      throw new AutomigrateError(`cannot select folder on the server: ${r.text}`, { folder: mailbox, server: this.server }, { code: "SERVER" });
    }
    const f = folderFacts(this.session.untagged);
    this.selected = mailbox;
    this.selectedUidValidity = f.uidValidity;
    return f;
  }

  get literalPlus(): boolean {
    return this.capabilities.has("LITERAL+");
  }

  get multiAppend(): boolean {
    return this.capabilities.has("MULTIAPPEND");
  }

  /** Writes `data` and resolves once the socket has flushed it and everything before it. */
  private flushed(data: Buffer): Promise<void> {
    return handled(
      new Promise<void>((resolve, reject) =>
        this.session.writeThen(data, (err) => (err ? reject(this.session.fail(`writing to the server failed: ${err.message}`, err)) : resolve())),
      ),
    );
  }

  /** A spooled message, read from its file into the command's gathered writes (write-gather.ts). */
  private async addSpooled(out: WriteGatherer, path: string, size: number): Promise<void> {
    const fd = openSync(path, "r");
    try {
      if ((await out.addFile(fd, size)) < size) throw this.session.fail(`spooled message ${path} is shorter than ${size} bytes`);
    } finally {
      closeSync(fd);
    }
  }

  private messageHeader(m: AppendMessage, leadingSpace: boolean): string {
    const size = Buffer.isBuffer(m.content) ? m.content.length : m.content.size;
    const flags = appendableFlags(m.flags);
    return `${leadingSpace ? " " : ""}(${flags.join(" ")}) ${imapDateTime(m.internalDate)} {${size}${this.literalPlus ? "+" : ""}}\r\n`;
  }

  /** Writes one APPEND command carrying `messages` (MULTIAPPEND when more than one). */
  private async sendAppend(mailbox: string, messages: AppendMessage[]): Promise<{ done: Promise<TaggedResult> }> {
    const tag = this.session.nextTag();
    const done = this.session.expect(tag);
    this.session.untagged = [];
    // the whole command gathered into few large writes (write-gather.ts)
    const out = (this.gatherer ??= new WriteGatherer((data) => (this.session.closed ? Promise.reject(this.session.closed) : this.flushed(data))));
    let prefix = `${tag} APPEND ${encodeMailbox(mailbox)}`;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      await out.add(prefix + this.messageHeader(m, true));
      prefix = "";
      if (!this.literalPlus) {
        // waited for before the bytes that it answers are flushed (the answer may come first)
        const cont = this.session.waitContinuation();
        await out.flush();
        const first = await Promise.race([cont.then(() => "cont" as const), done.then(() => "done" as const)]);
        if (first === "done") return { done };
      }
      if (Buffer.isBuffer(m.content)) await out.add(m.content);
      else await this.addSpooled(out, m.content.path, m.content.size);
      if (i === 0 && messages.length > 1 && crashPointArmed("append-mid-batch")) {
        // half a MULTIAPPEND on the wire when the test's kill comes
        await out.flush();
        crashPoint("append-mid-batch");
      }
    }
    // the command's last bytes, awaited until the socket has flushed them (and so every byte
    // before them): the caller may reuse the messages' buffers as soon as this returns, even
    // when the server answered NO before it had read them all
    await out.add(CRLF);
    await out.flush();
    return { done };
  }

  private outcome(r: TaggedResult, count: number): AppendOutcome {
    if (r.status === "BAD") {
      // A BAD means the server did not parse our command, and with LITERAL+ it may read the
      // rest of the message bytes as commands: never send another byte on this connection.
      const e = this.session.fail(`the server rejected an APPEND as malformed: ${r.text}`);
      this.session.destroy(e);
      throw e;
    }
    // Dovecot appends its timing, "(0.001 + 0.000 secs).": not part of the reason
    const text = r.text.replace(/\s*\([\d.+ ]+secs\)\.?$/, "");
    if (r.status !== "OK") return { ok: false, reason: `${r.code ? `[${r.code}] ` : ""}${text}`.trim(), ...(r.code ? { responseCode: r.code.split(" ")[0]!.toUpperCase() } : {}) };
    const m = r.code ? /^APPENDUID (\d+) (\S+)$/i.exec(r.code) : null;
    const uids = m ? parseUidSet(m[2]!, count) : undefined;
    return { ok: true, uids: uids?.length === count ? uids : [], uidValidity: m ? Number(m[1]) : undefined };
  }

  /**
   * Appends a batch atomically with MULTIAPPEND when offered (all or none, RFC 3502).
   * Without MULTIAPPEND the messages are sent as pipelined single APPENDs; see appendEach.
   */
  async appendBatch(mailbox: string, messages: AppendMessage[]): Promise<AppendOutcome> {
    if (this.selected !== mailbox) await this.select(mailbox);
    if (messages.length === 1 || !this.multiAppend) {
      const each = await this.appendEach(mailbox, messages);
      const failed = each.find((o) => !o.ok);
      if (failed) return failed;
      return { ok: true, uids: each.flatMap((o) => (o.ok ? o.uids : [])) };
    }
    const { done } = await this.sendAppend(mailbox, messages);
    return this.outcome(await done, messages.length);
  }

  /** One APPEND per message, pipelined when LITERAL+ allows: each message gets its own answer. */
  async appendEach(mailbox: string, messages: AppendMessage[]): Promise<AppendOutcome[]> {
    if (this.selected !== mailbox) await this.select(mailbox);
    const answers: Promise<TaggedResult>[] = [];
    for (const m of messages) {
      const { done } = await this.sendAppend(mailbox, [m]);
      // with synchronising literals the next command must wait for this one's answer
      answers.push(this.literalPlus ? done : Promise.resolve(await done));
    }
    const results = await Promise.all(answers);
    return results.map((r) => this.outcome(r, 1));
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
