// The write side of a migration: a dedicated IMAP connection to the NEW server that SELECTs
// the target folder and APPENDs messages in batches with MULTIAPPEND (RFC 3502) and
// LITERAL+ (RFC 7888), so a batch costs one round trip instead of two per message.
// imapflow sends one command at a time and no MULTIAPPEND; this is written on purpose
// where it stops. Bytes in flight are bounded by the caller's batch size.
import { closeSync, openSync, readSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { TlsMode } from "../../config/schema.ts";
import { crashPoint } from "../../crash-points.ts";
import { AutomigrateError } from "../../errors.ts";
import { tlsServername } from "../../tls-name.ts";
import { ResponseBoundError, ResponseReader } from "./response-reader.ts";
import { appendableFlags, encodeMailbox, imapDateTime, parseUidSet, quoted } from "./wire.ts";
import { TIMEOUTS } from "../../timeouts.ts";
import type { AppendMessage, AppendOutcome, MailWriter } from "../port.ts";

export type { AppendMessage, AppendOutcome };

export interface TaggedResult {
  status: "OK" | "NO" | "BAD";
  code?: string;
  text: string;
}

export interface AppenderOptions {
  host: string;
  port: number;
  tls: TlsMode;
  tlsVerify: boolean;
  user: string;
  pass: string;
  authzid?: string;
  timeoutMs?: number;
  /** Which server this is, for messages ("new server" by default). */
  label?: string;
}

interface Pending {
  resolve: (r: TaggedResult) => void;
  reject: (e: Error) => void;
}

const CRLF = Buffer.from("\r\n");

/**
 * Bounds on what the server may send (hostile or broken input must not grow memory): the
 * appender only reads short answers (greeting, CAPABILITY, SELECT, APPEND), never mail.
 */
export const RESPONSE_LIMITS = { lineBytes: 64 * 1024, literalBytes: 64 * 1024, untagged: 10_000 } as const;

/** Marks a promise as handled where it is made; whoever awaits it still sees the rejection. */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

export class ImapAppender implements MailWriter {
  private socket!: Socket | TLSSocket;
  private reader = new ResponseReader(RESPONSE_LIMITS);
  private pending = new Map<string, Pending>();
  private continuation: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private untagged: string[] = [];
  private greeting: Pending | null = null;
  private tagSeq = 0;
  private closedError: Error | null = null;
  capabilities = new Set<string>();
  private selected: string | null = null;
  selectedUidValidity: number | undefined;
  readonly server: string;

  private constructor(private readonly opts: AppenderOptions) {
    this.server = `${opts.label ?? "new server"} ${opts.host}:${opts.port}`;
  }

  static async open(opts: AppenderOptions): Promise<ImapAppender> {
    const a = new ImapAppender(opts);
    await a.connect(true);
    return a;
  }

  /**
   * Connects (TLS as configured, STARTTLS included) without logging in, and reports what the
   * server offers: for `test-connection`.
   */
  static async probe(opts: Omit<AppenderOptions, "user" | "pass" | "authzid">): Promise<{ greeting: string; capabilities: string[]; secure: boolean }> {
    const a = new ImapAppender({ ...opts, user: "", pass: "" });
    try {
      await a.connect(false);
      return { greeting: a.greetingText, capabilities: [...a.capabilities], secure: opts.tls !== "none" };
    } finally {
      await a.close();
    }
  }

  private fail(message: string, cause?: unknown): AutomigrateError {
    return new AutomigrateError(message, { server: this.server }, { code: "CONNECT", transient: true, cause });
  }

  private greetingText = "";

  private async connect(login: boolean): Promise<void> {
    const { host, port, tls, tlsVerify } = this.opts;
    const socket =
      tls === "implicit"
        ? tlsConnect({ host, port, servername: tlsServername(host), rejectUnauthorized: tlsVerify })
        : netConnect({ host, port });
    this.attach(socket);
    const greet = await new Promise<TaggedResult>((resolve, reject) => (this.greeting = { resolve, reject }));
    this.greetingText = greet.text.replace(/^\[CAPABILITY [^\]]*\]\s*/i, "");
    if (greet.status !== "OK") throw this.fail(`the server refused the connection: ${greet.text}`);
    await this.refreshCapabilities();
    if (tls === "starttls") {
      if (!this.capabilities.has("STARTTLS")) {
        throw new AutomigrateError("the server does not offer STARTTLS", {
          server: this.server,
          hint: "use TLS mode implicit (port 993) or, on a trusted network only, none",
        }, { code: "TLS" });
      }
      const r = await this.command("STARTTLS");
      if (r.status !== "OK") throw this.fail(`STARTTLS failed: ${r.text}`);
      const plain = this.socket;
      plain.removeAllListeners("data");
      const secure = tlsConnect({ socket: plain, host, servername: tlsServername(host), rejectUnauthorized: tlsVerify });
      await new Promise<void>((resolve, reject) => {
        secure.once("secureConnect", resolve);
        secure.once("error", reject);
      });
      this.attach(secure);
      await this.refreshCapabilities();
    }
    if (login) await this.login();
  }

  private attach(socket: Socket | TLSSocket): void {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(this.opts.timeoutMs ?? TIMEOUTS.imapIdleMs);
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("timeout", () => socket.destroy(this.fail(`no answer from the server for ${(this.opts.timeoutMs ?? TIMEOUTS.imapIdleMs) / 1000}s`)));
    socket.on("error", (e) => this.onClose(e));
    socket.on("close", () => this.onClose(this.fail("the server closed the connection")));
  }

  private onClose(err: Error): void {
    if (this.closedError) return;
    this.closedError = err instanceof AutomigrateError ? err : this.fail(`connection to the server failed: ${err.message}`, err);
    const e = this.closedError;
    this.greeting?.reject(e);
    this.continuation?.reject(e);
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private onData(chunk: Buffer): void {
    if (this.closedError) return;
    let responses: string[];
    try {
      responses = this.reader.push(chunk);
    } catch (e) {
      this.onClose(this.fail(e instanceof ResponseBoundError ? e.message : String(e)));
      this.socket.destroy();
      return;
    }
    for (const r of responses) {
      if (this.closedError) return;
      this.dispatch(r);
    }
  }

  private dispatch(line: string): void {
    if (this.greeting) {
      const g = this.greeting;
      this.greeting = null;
      const m = /^\* (OK|PREAUTH|BYE)\s*(.*)$/i.exec(line);
      g.resolve({ status: m && m[1]!.toUpperCase() !== "BYE" ? "OK" : "NO", text: m?.[2] ?? line });
      return;
    }
    if (line.startsWith("+")) {
      const c = this.continuation;
      this.continuation = null;
      c?.resolve();
      return;
    }
    if (line.startsWith("* ")) {
      if (this.untagged.length >= RESPONSE_LIMITS.untagged) {
        this.onClose(this.fail(`the server sent more than ${RESPONSE_LIMITS.untagged} untagged responses to one command`));
        this.socket.destroy();
        return;
      }
      this.untagged.push(line.slice(2));
      return;
    }
    const m = /^(\S+) (OK|NO|BAD)\s?(?:\[([^\]]*)\])?\s*(.*)$/i.exec(line);
    if (!m) return;
    const p = this.pending.get(m[1]!);
    if (!p) return;
    this.pending.delete(m[1]!);
    // a tagged answer also ends any wait for a continuation of that command
    if (this.continuation && this.pending.size === 0) {
      const c = this.continuation;
      this.continuation = null;
      c.reject(this.fail(`server answered instead of asking for the literal: ${m[4]}`));
    }
    p.resolve({ status: m[2]!.toUpperCase() as TaggedResult["status"], code: m[3], text: m[4] ?? "" });
  }

  private nextTag(): string {
    return `W${++this.tagSeq}`;
  }

  private async write(data: Buffer | string): Promise<void> {
    if (this.closedError) throw this.closedError;
    if (!this.socket.write(data)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          this.socket.off("close", onClose);
          resolve();
        };
        const onClose = () => {
          this.socket.off("drain", onDrain);
          reject(this.closedError ?? this.fail("connection closed while writing"));
        };
        this.socket.once("drain", onDrain);
        this.socket.once("close", onClose);
      });
    }
  }

  // Both promises below exist before the bytes that they answer are written; if the write
  // fails (the server closed an idle connection), they reject with nobody awaiting them
  // yet. handled() keeps that from being an unhandled rejection (which ends a Bun process).
  private expect(tag: string): Promise<TaggedResult> {
    return handled(
      new Promise((resolve, reject) => {
        if (this.closedError) return reject(this.closedError);
        this.pending.set(tag, { resolve, reject });
      }),
    );
  }

  private waitContinuation(): Promise<void> {
    return handled(
      new Promise((resolve, reject) => {
        if (this.closedError) return reject(this.closedError);
        this.continuation = { resolve, reject };
      }),
    );
  }

  async command(text: string): Promise<TaggedResult> {
    const tag = this.nextTag();
    const done = this.expect(tag);
    this.untagged = [];
    await this.write(`${tag} ${text}\r\n`);
    return done;
  }

  private async refreshCapabilities(): Promise<void> {
    const r = await this.command("CAPABILITY");
    const line = this.untagged.find((l) => /^CAPABILITY /i.test(l)) ?? "";
    this.capabilities = new Set(line.split(" ").slice(1).map((c) => c.toUpperCase()));
    if (r.status !== "OK") throw this.fail(`CAPABILITY failed: ${r.text}`);
  }

  private async login(): Promise<void> {
    const { user, pass, authzid } = this.opts;
    let r: TaggedResult;
    if (this.capabilities.has("AUTH=PLAIN")) {
      const token = Buffer.from(`${authzid ?? ""}\0${user}\0${pass}`).toString("base64");
      if (this.capabilities.has("SASL-IR")) {
        r = await this.command(`AUTHENTICATE PLAIN ${token}`);
      } else {
        const tag = this.nextTag();
        const done = this.expect(tag);
        const cont = this.waitContinuation();
        await this.write(`${tag} AUTHENTICATE PLAIN\r\n`);
        await Promise.race([cont, done]);
        await this.write(`${token}\r\n`);
        r = await done;
      }
    } else if (authzid) {
      throw new AutomigrateError("the server does not offer AUTH=PLAIN, so the master identity cannot be sent as authzid", {
        server: this.server,
        hint: "set target.auth.method=separator to log in as user*master",
      }, { code: "CONFIG" });
    } else {
      r = await this.command(`LOGIN ${quoted(user)} ${quoted(pass)}`);
    }
    if (r.status !== "OK") {
      throw new AutomigrateError(`the server refused the login for ${authzid ?? user}: ${r.text}`, {
        server: this.server,
        user: authzid ?? user,
        hint: "check target.auth (master user and its password file)",
      }, { code: "LOGIN_REFUSED" });
    }
    if (r.code && /^CAPABILITY /i.test(r.code)) {
      this.capabilities = new Set(r.code.split(" ").slice(1).map((c) => c.toUpperCase()));
    } else {
      await this.refreshCapabilities();
    }
  }

  /** SELECT the target folder: Dovecot appends far faster into the selected folder. */
  async select(mailbox: string): Promise<{ uidValidity?: number; uidNext?: number; exists?: number }> {
    const r = await this.command(`SELECT ${encodeMailbox(mailbox)}`);
    if (r.status !== "OK") {
      this.selected = null;
      throw new AutomigrateError(`cannot select folder on the server: ${r.text}`, { folder: mailbox, server: this.server }, { code: "SERVER" });
    }
    const num = (re: RegExp) => {
      for (const l of this.untagged) {
        const m = re.exec(l);
        if (m) return Number(m[1]);
      }
      return undefined;
    };
    this.selected = mailbox;
    this.selectedUidValidity = num(/\[UIDVALIDITY (\d+)\]/i);
    return { uidValidity: this.selectedUidValidity, uidNext: num(/\[UIDNEXT (\d+)\]/i), exists: num(/^(\d+) EXISTS/i) };
  }

  get literalPlus(): boolean {
    return this.capabilities.has("LITERAL+");
  }

  get multiAppend(): boolean {
    return this.capabilities.has("MULTIAPPEND");
  }

  private async writeLiteral(m: AppendMessage): Promise<void> {
    if (Buffer.isBuffer(m.content)) {
      await this.write(m.content);
      return;
    }
    await this.streamFile(m.content.path, m.content.size);
  }

  /**
   * Streams a spooled message through two reusable buffers: a buffer is refilled only after
   * the socket has flushed it, so a 1 GB message allocates nothing per chunk and the
   * garbage collector has nothing to fall behind on.
   */
  private async streamFile(path: string, size: number): Promise<void> {
    const CHUNK = 256 * 1024;
    const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
    const flushed: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
    const fd = openSync(path, "r");
    let sent = 0;
    try {
      for (let i = 0; sent < size; i ^= 1) {
        await flushed[i];
        if (this.closedError) throw this.closedError;
        const n = readSync(fd, buffers[i]!, 0, Math.min(CHUNK, size - sent), sent);
        if (n <= 0) throw this.fail(`spooled message ${path} is shorter than ${size} bytes`);
        sent += n;
        flushed[i] = handled(
          new Promise<void>((resolve, reject) =>
            this.socket.write(buffers[i]!.subarray(0, n), (err) => (err ? reject(this.fail(`writing to the server failed: ${err.message}`, err)) : resolve())),
          ),
        );
      }
      await Promise.all(flushed);
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
    const tag = this.nextTag();
    const done = this.expect(tag);
    this.untagged = [];
    let prefix = `${tag} APPEND ${encodeMailbox(mailbox)}`;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      await this.write(prefix + this.messageHeader(m, true));
      prefix = "";
      if (!this.literalPlus) {
        const cont = this.waitContinuation();
        const first = await Promise.race([cont.then(() => "cont" as const), done.then(() => "done" as const)]);
        if (first === "done") return { done };
      }
      await this.writeLiteral(m);
      if (i === 0 && messages.length > 1) crashPoint("append-mid-batch");
    }
    await this.write(CRLF);
    return { done };
  }

  private outcome(r: TaggedResult, count: number): AppendOutcome {
    if (r.status === "BAD") {
      // A BAD means the server did not parse our command, and with LITERAL+ it may read the
      // rest of the message bytes as commands: never send another byte on this connection.
      this.socket.destroy();
      this.onClose(this.fail(`the server rejected an APPEND as malformed: ${r.text}`));
      throw this.closedError;
    }
    // Dovecot appends its timing, "(0.001 + 0.000 secs).": not part of the reason
    const text = r.text.replace(/\s*\([\d.+ ]+secs\)\.?$/, "");
    if (r.status !== "OK") return { ok: false, reason: `${r.code ? `[${r.code}] ` : ""}${text}`.trim() };
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

  async close(): Promise<void> {
    if (this.closedError) return;
    try {
      await Promise.race([this.command("LOGOUT"), Bun.sleep(TIMEOUTS.imapLogoutMs)]);
    } catch {}
    this.socket.destroy();
  }
}
