// One IMAP connection of our own (no imapflow): TLS (implicit or STARTTLS), greeting,
// CAPABILITY, login (SASL PLAIN with or without an authzid, else LOGIN), tagged commands and
// the untagged answers of the command in flight. The appender (MULTIAPPEND writer) and the
// folder reader (FETCH of bodies straight into batch buffers) are built on it. Every failure
// is a coded AutomigrateError naming the server; the connection never outlives one.
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { TlsMode } from "../../config/schema.ts";
import { AutomigrateError, tlsErrorCode } from "../../errors.ts";
import { tlsServername } from "../../tls-name.ts";
import { TIMEOUTS } from "../../timeouts.ts";
import { ResponseBoundError, ResponseFramer, responseText, type LiteralSink, type Response, type ResponseLimits } from "./framer.ts";
import { SOCKET_READS } from "./read-garbage.ts";
import { quoted } from "./wire.ts";

export interface SessionOptions {
  host: string;
  port: number;
  tls: TlsMode;
  tlsVerify: boolean;
  user: string;
  pass: string;
  authzid?: string;
  /** An OAuth2 access token: logs in with SASL OAUTHBEARER (or XOAUTH2) instead of a password. */
  accessToken?: string;
  /** Idle time without an answer before the connection is given up (and the greeting's wait). */
  timeoutMs?: number;
  /** Which server this is, for messages ("new server" by default). */
  label?: string;
  /** "old" or "new": a refused login on the new server may be an account not visible yet (worth a retry); on the old one it is final. */
  role?: "old" | "new";
  /** Tag prefix, so that a server's log tells our connections apart. */
  tagPrefix?: string;
  /** Bounds of what the server may send (lines, inline literals). */
  limits?: ResponseLimits;
  /** Most untagged answers kept for one command (a handler given to the command sees them all instead). */
  maxUntagged?: number;
  /** IMAP ID fields (RFC 2971) sent before the login when the server offers ID: who connects, for whom. */
  id?: Record<string, string>;
}

export interface TaggedResult {
  status: "OK" | "NO" | "BAD";
  code?: string;
  text: string;
}

interface Pending {
  resolve: (r: TaggedResult) => void;
  reject: (e: Error) => void;
}

/** Bounds for short answers (greeting, CAPABILITY, SELECT, APPEND): no mail comes this way. */
export const SHORT_ANSWERS: ResponseLimits = { lineBytes: 64 * 1024, literalBytes: 64 * 1024 };

/** Marks a promise as handled where it is made; whoever awaits it still sees the rejection. */
export function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

export class ImapSession {
  private socket!: Socket | TLSSocket;
  private framer: ResponseFramer;
  private pending = new Map<string, Pending>();
  private continuation: { resolve: (text: string) => void; reject: (e: Error) => void } | null = null;
  private greeting: Pending | null = null;
  private tagSeq = 0;
  private closedError: AutomigrateError | null = null;
  /** The text of a BYE the server sent: why it closes. */
  private bye: string | undefined;
  private untaggedHandler: ((r: Response) => void) | null = null;
  /** Untagged answers (as text) of the command in flight, when it gave no handler. */
  untagged: string[] = [];
  /** Where literals of untagged answers go (set by a reader for its FETCH); inline when unset or it declines. */
  literalSink: LiteralSink | undefined;
  capabilities = new Set<string>();
  greetingText = "";
  readonly server: string;

  protected constructor(protected readonly opts: SessionOptions) {
    this.server = `${opts.label ?? "new server"} ${opts.host}:${opts.port}`;
    this.framer = new ResponseFramer(opts.limits ?? SHORT_ANSWERS, (size, head) => this.literalSink?.(size, head));
  }

  /** Connects and, with `login`, logs in. */
  static async open(opts: SessionOptions, login = true): Promise<ImapSession> {
    const s = new ImapSession(opts);
    await s.start(login);
    return s;
  }

  /** A failure of this connection: worth a retry on a fresh one. */
  fail(message: string, cause?: unknown): AutomigrateError {
    const tls = tlsErrorCode(cause);
    return new AutomigrateError(message, { server: this.server, ...(tls ? { hint: "check the TLS mode and the server's certificate (tlsVerify)" } : {}) }, { code: tls ? "TLS" : "CONNECT", transient: !tls, cause });
  }

  /** The error that ended the connection, if it has ended. */
  get closed(): AutomigrateError | null {
    return this.closedError;
  }

  protected async start(login: boolean): Promise<void> {
    const { host, port, tls, tlsVerify } = this.opts;
    const socket = tls === "implicit" ? tlsConnect({ host, port, servername: tlsServername(host), rejectUnauthorized: tlsVerify }) : netConnect({ host, port });
    this.attach(socket);
    const waited = this.opts.timeoutMs ?? TIMEOUTS.imapConnectMs;
    const timer = setTimeout(() => this.destroy(this.fail(`no greeting from the server within ${Math.round(waited / 1000)} s`)), waited);
    let greet: TaggedResult;
    try {
      greet = await new Promise<TaggedResult>((resolve, reject) => (this.greeting = { resolve, reject }));
    } finally {
      clearTimeout(timer);
    }
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
        secure.once("error", (e) => reject(this.fail(`TLS after STARTTLS failed: ${e.message}`, e)));
      });
      this.attach(secure);
      await this.refreshCapabilities();
    }
    if (this.opts.id && this.capabilities.has("ID")) await this.sendId(this.opts.id);
    if (login) await this.login();
  }

  /** ID (RFC 2971): informational; a server refusing it is no reason to stop. */
  private async sendId(fields: Record<string, string>): Promise<void> {
    const pairs = Object.entries(fields).flatMap(([k, v]) => [quoted(k), quoted(v)]);
    await this.command(`ID (${pairs.join(" ")})`);
  }

  private attach(socket: Socket | TLSSocket): void {
    this.socket = socket;
    socket.setNoDelay(true);
    const idle = this.opts.timeoutMs ?? TIMEOUTS.imapIdleMs;
    socket.setTimeout(idle);
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("timeout", () => this.destroy(this.fail(`no answer from the server for ${Math.round(idle / 1000)}s`)));
    socket.on("error", (e: Error & { code?: string }) => this.onClose(this.socketError(e)));
    socket.on("close", () => this.onClose(this.fail(this.bye !== undefined ? `the server ended the session: BYE "${this.bye}"` : "the server closed the connection")));
  }

  /** A socket's error: before the greeting the server could not be reached (with what to check), after it the connection broke. */
  private socketError(e: Error & { code?: string }): AutomigrateError {
    const what = `${e.message}${e.code && !e.message.includes(e.code) ? ` (${e.code})` : ""}`; // text-ok: formatting, no decision
    if (!this.greeting || tlsErrorCode(e)) return this.fail(`connection to the server failed: ${what}`, e);
    const hint = this.opts.tls === "none" ? "is the server up and listening on that port?" : "is the server up, and is the TLS mode right (none, starttls, implicit)?";
    return new AutomigrateError(`cannot connect: ${what}`, { server: this.server, hint }, { code: "CONNECT", transient: true, cause: e });
  }

  /** Ends the connection with `err` (every waiting command rejects with it). */
  destroy(err: AutomigrateError): void {
    this.onClose(err);
    this.socket?.destroy();
  }

  private onClose(err: AutomigrateError): void {
    if (this.closedError) return;
    this.closedError = err;
    this.greeting?.reject(err);
    this.greeting = null;
    this.continuation?.reject(err);
    this.continuation = null;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private onData(chunk: Buffer): void {
    SOCKET_READS.note(chunk.length);
    if (this.closedError) return;
    let responses: Response[];
    try {
      responses = this.framer.push(chunk);
    } catch (e) {
      this.destroy(e instanceof AutomigrateError ? e : this.fail(e instanceof ResponseBoundError ? e.message : `unreadable answer from the server: ${(e as Error).message}`, e));
      return;
    }
    for (const r of responses) {
      if (this.closedError) return;
      try {
        this.dispatch(r);
      } catch (e) {
        this.destroy(e instanceof AutomigrateError ? e : this.fail(`unreadable answer from the server: ${(e as Error).message}`, e));
        return;
      }
    }
  }

  private dispatch(r: Response): void {
    const line = r.lines[0]!;
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
      c?.resolve(line.slice(1).trim());
      return;
    }
    if (line.startsWith("* ")) {
      const bye = /^\* BYE\s?(.*)$/i.exec(line);
      if (bye) this.bye = bye[1]!.slice(0, 300);
      if (this.untaggedHandler) return this.untaggedHandler(r);
      const max = this.opts.maxUntagged ?? 10_000;
      if (this.untagged.length >= max) throw this.fail(`the server sent more than ${max} untagged responses to one command`);
      this.untagged.push(responseText(r).slice(2));
      return;
    }
    const m = /^(\S+) (OK|NO|BAD)\s?(?:\[([^\]]*)\])?\s*(.*)$/i.exec(responseText(r));
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

  nextTag(): string {
    return `${this.opts.tagPrefix ?? "W"}${++this.tagSeq}`;
  }

  async write(data: Buffer | string): Promise<void> {
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

  /** Writes without waiting for the socket to flush; `done` is called once it has (or failed). */
  writeThen(data: Buffer, done: (err?: Error | null) => void): void {
    this.socket.write(data, done);
  }

  // Both promises below exist before the bytes that they answer are written; if the write
  // fails (the server closed an idle connection), they reject with nobody awaiting them
  // yet. handled() keeps that from being an unhandled rejection (which ends a Bun process).
  expect(tag: string): Promise<TaggedResult> {
    return handled(
      new Promise((resolve, reject) => {
        if (this.closedError) return reject(this.closedError);
        this.pending.set(tag, { resolve, reject });
      }),
    );
  }

  /** Waits for the server's continuation request ("+ ..."); resolves with its text. */
  waitContinuation(): Promise<string> {
    return handled(
      new Promise((resolve, reject) => {
        if (this.closedError) return reject(this.closedError);
        this.continuation = { resolve, reject };
      }),
    );
  }

  /**
   * Sends one command and waits for its tagged answer. Its untagged answers go to `onUntagged`
   * when given (a throw there ends the connection with that error), else into `untagged`.
   */
  async command(text: string, onUntagged?: (r: Response) => void): Promise<TaggedResult> {
    const tag = this.nextTag();
    const done = this.expect(tag);
    this.untagged = [];
    this.untaggedHandler = onUntagged ?? null;
    try {
      await this.write(`${tag} ${text}\r\n`);
      return await done;
    } finally {
      this.untaggedHandler = null;
    }
  }

  private async refreshCapabilities(): Promise<void> {
    const r = await this.command("CAPABILITY");
    const line = this.untagged.find((l) => /^CAPABILITY /i.test(l)) ?? "";
    this.capabilities = new Set(line.split(" ").slice(1).map((c) => c.toUpperCase()));
    if (r.status !== "OK") throw this.fail(`CAPABILITY failed: ${r.text}`);
  }

  private async login(): Promise<void> {
    const { user, pass, authzid, accessToken } = this.opts;
    const who = authzid ?? user;
    let r: TaggedResult;
    try {
      if (accessToken !== undefined) {
        r = await this.bearerLogin(user, accessToken);
      } else if (this.capabilities.has("AUTH=PLAIN")) {
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
          user: authzid,
          hint: "set auth.method=separator to log in as user*master",
        }, { code: "CONFIG" });
      } else if (this.capabilities.has("LOGINDISABLED")) {
        throw new AutomigrateError("the server refuses LOGIN on this connection (LOGINDISABLED) and offers no AUTH=PLAIN", {
          server: this.server,
          user: who,
          hint: "use TLS (implicit or starttls) for this server",
        }, { code: "CONFIG" });
      } else {
        r = await this.command(`LOGIN ${quoted(user)} ${quoted(pass)}`);
      }
    } catch (e) {
      // Courier ends the session with a BYE when the login is accepted but the account's
      // mailbox cannot be opened ("Temporary problem, please try again later")
      if (this.bye !== undefined && e === this.closedError) {
        throw new AutomigrateError(`the server ended the session for ${who}: BYE "${this.bye}"`, {
          server: this.server,
          user: who,
          hint: `check that ${who} has a mailbox there (a login the server accepts but whose mailbox it cannot open ends this way), or whether the server limits connections`,
        }, { transient: true, cause: e, code: "CONNECT" });
      }
      throw e;
    }
    if (r.status !== "OK") {
      throw new AutomigrateError(`login refused for ${who}: ${r.text}`, {
        server: this.server,
        user: who,
        hint: this.opts.role === "old" ? "check the master user and its password file, and that the user exists there" : "check target.auth (master user and its password file)",
      }, { code: "LOGIN_REFUSED", transient: this.opts.role === "new" });
    }
    if (r.code && /^CAPABILITY /i.test(r.code)) {
      this.capabilities = new Set(r.code.split(" ").slice(1).map((c) => c.toUpperCase()));
    } else {
      await this.refreshCapabilities();
    }
  }

  /**
   * SASL OAUTHBEARER (RFC 7628) where offered, else XOAUTH2. A refused token gets a
   * continuation holding the server's error (JSON); the client answers it (with %x01 or an
   * empty line) to get the tagged NO.
   */
  private async bearerLogin(user: string, token: string): Promise<TaggedResult> {
    let mech: string;
    let payload: string;
    let ack: string;
    if (/[\x00-\x20\x7f]/.test(token) || /[\x00-\x1f\x7f]/.test(user)) throw new AutomigrateError("the access token or the login holds control characters", { server: this.server, user }, { code: "TOKEN_REFUSED" });
    if (this.capabilities.has("AUTH=OAUTHBEARER")) {
      mech = "OAUTHBEARER";
      payload = `n,a=${user.replaceAll("=", "=3D").replaceAll(",", "=2C")},\x01host=${this.opts.host}\x01port=${this.opts.port}\x01auth=Bearer ${token}\x01\x01`;
      ack = "AQ==";
    } else if (this.capabilities.has("AUTH=XOAUTH2")) {
      mech = "XOAUTH2";
      payload = `user=${user}\x01auth=Bearer ${token}\x01\x01`;
      ack = "";
    } else {
      throw new AutomigrateError("the server offers neither AUTH=OAUTHBEARER nor AUTH=XOAUTH2, so it cannot take an OAuth2 token", {
        server: this.server,
        user,
        hint: "check the server (and its TLS mode: some offer them only after STARTTLS), or log in with another auth.mode",
      }, { code: "CONFIG" });
    }
    const encoded = Buffer.from(payload).toString("base64");
    const tag = this.nextTag();
    const done = this.expect(tag);
    let cont = this.waitContinuation();
    if (this.capabilities.has("SASL-IR")) {
      await this.write(`${tag} AUTHENTICATE ${mech} ${encoded}\r\n`);
    } else {
      await this.write(`${tag} AUTHENTICATE ${mech}\r\n`);
      await Promise.race([cont, done]);
      cont = this.waitContinuation();
      await this.write(`${encoded}\r\n`);
    }
    const first = await Promise.race([cont.then(() => "error" as const, () => "done" as const), done.then(() => "done" as const)]);
    if (first === "error") await this.write(`${ack}\r\n`);
    return done;
  }

  /** Logs out (bounded in time) and closes; never throws. */
  async close(): Promise<void> {
    if (!this.closedError) {
      try {
        await Promise.race([this.command("LOGOUT"), Bun.sleep(TIMEOUTS.imapLogoutMs)]);
      } catch {}
    }
    this.destroy(this.closedError ?? this.fail("closed"));
  }
}
