// An in-memory IMAP server on a real socket, scripted with the quirks of servers that are not
// Dovecot (and with faults a real server cannot be made to show): no UIDNEXT in EXAMINE or
// STATUS, no LIST-STATUS, an empty LIST, RETURN options advertised and refused, a body-less
// FETCH item, a connection dropped in the middle of a FETCH. It speaks enough IMAP4rev1 for
// automigrate's sessions (and imapflow) as a read-only OLD server:
// CAPABILITY, LOGIN, AUTHENTICATE PLAIN, NAMESPACE, LIST, LSUB, STATUS, EXAMINE/SELECT,
// UID FETCH, UID SEARCH, NOOP, LOGOUT. It is the middle test tier, beside the real servers.
import { createServer, type Server, type Socket } from "node:net";

export interface FakeMessage {
  uid: number;
  flags: string[];
  internalDate: Date;
  body: Buffer;
}

export interface FakeFolder {
  uidValidity: number;
  uidNext: number;
  messages: FakeMessage[];
  specialUse?: string;
}

export interface Quirks {
  /** Courier: no [UIDNEXT] in the SELECT/EXAMINE reply. */
  noUidNextInSelect?: boolean;
  /** Not even STATUS answers UIDNEXT (the highest UID must be used). */
  noUidNextInStatus?: boolean;
  /** An identity without a mailbox (Cyrus acting for a non-existent user): LIST is empty. */
  emptyList?: boolean;
  /** These UIDs come back from FETCH BODY.PEEK[] with no body item. */
  bodyless?: Set<number>;
  /** This UID's FETCH answer carries its BODY[] item twice (a broken proxy). */
  doubleBody?: number;
  /** Drop the connection once, in the middle of the n-th body FETCH answer (counted from 1). */
  dropDuringBodyFetch?: number;
  /** The server goes down right after the dropDuringBodyFetch drop: new connections are closed at once. */
  downAfterDrop?: boolean;
  /** Down: every new connection is closed before the greeting. */
  down?: boolean;
  /** Drop the connection once, without an answer, at the next LOGIN or AUTHENTICATE. */
  dropAtLogin?: boolean;
  /** As a new server: no UIDPLUS (APPEND answers without [APPENDUID], not advertised). */
  noUidPlus?: boolean;
  /** As a new server: refuse APPENDs into this folder with NO (a quota, a policy). */
  refuseAppendTo?: string;
  /** Hold each message's body answer back this long (a slow old server: a job that runs for a while). */
  slowBodyMs?: number;
  /**
   * As a new server: the next APPEND is stored, and answered, only this long after it arrived,
   * and stored even when its client is gone by then (a server still committing a message whose
   * bytes it has read when the client dies).
   */
  lateAppendMs?: number;
  /** Late APPENDs (lateAppendMs) stored so far. */
  lateStored?: number;
  /** As a new server: the UID set its APPENDUID answers carry, whatever was stored (hostile: "1:4294967295"). */
  appendUidSet?: string;
  /** As a new server: SELECT answers with an untagged response announcing a literal of this many bytes (hostile, never sent). */
  selectLiteralBytes?: number;
  /** Drop the connection once, right after answering the next command of this name (e.g. "EXAMINE"): the client finds it closed while idle. */
  dropAfter?: string;
  /**
   * A hostile proxy: the body of this UID is announced as a literal of `bytes` (not its
   * RFC822.SIZE) and streamed, 64 KB at a time, as long as the client reads.
   */
  inflateLiteral?: { uid: number; bytes: number };
  /** The body of this UID is sent one byte every `everyMs` (a server that never quite stops answering). */
  trickleBody?: { uid: number; everyMs: number };
  /** LOGIN and AUTHENTICATE answered NO with this text (Exchange's "Server Unavailable. 15"). */
  refuseLogin?: string;
  /** EXAMINE/SELECT answered NO with this text (Exchange's "User is authenticated but not connected."). */
  refuseExamine?: string;
  /** Advertises LIST-EXTENDED, LIST-STATUS and SPECIAL-USE but answers BAD to any LIST with RETURN options (servers that claim more than they take). */
  refuseReturnOptions?: boolean;
  /** Bytes the server wrote for inflated literals (to see that the client stopped reading). */
  inflatedSent?: number;
}

export interface FakeImap {
  host: string;
  port: number;
  folders: Map<string, FakeFolder>;
  quirks: Quirks;
  /** The commands received, for assertions (tag stripped). */
  commands: string[];
  /** Logins seen (the identity acted for). */
  logins: string[];
  add(folder: string, body: string | Buffer, flags?: string[], internalDate?: Date): FakeMessage;
  stop(): Promise<void>;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
function imapDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `"${p(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000"`;
}

/** Tokens of a command line: atoms, quoted strings, literals (already read) and raw (...) groups. */
function tokenize(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === " ") {
      i++;
    } else if (c === '"') {
      let v = "";
      for (i++; i < s.length && s[i] !== '"'; i++) v += s[i] === "\\" ? s[++i] : s[i];
      out.push(v);
      i++;
    } else if (c === "(") {
      let depth = 0;
      const start = i;
      for (; i < s.length; i++) {
        if (s[i] === "(") depth++;
        if (s[i] === ")" && --depth === 0) break;
      }
      out.push(s.slice(start, ++i));
    } else {
      const start = i;
      // an atom may hold [...] with spaces (BODY.PEEK[HEADER.FIELDS (A B)])
      let bracket = 0;
      for (; i < s.length && (s[i] !== " " || bracket > 0); i++) {
        if (s[i] === "[") bracket++;
        if (s[i] === "]") bracket--;
      }
      out.push(s.slice(start, i));
    }
  }
  return out;
}

function uidsIn(set: string, all: number[]): number[] {
  const max = all.length ? all[all.length - 1]! : 0;
  const want = new Set<number>();
  for (const part of set.split(",")) {
    const [a, b] = part.split(":").map((x) => (x === "*" ? max : Number(x)));
    const lo = Math.min(a!, b ?? a!);
    const hi = Math.max(a!, b ?? a!);
    for (const u of all) if (u >= lo && u <= hi) want.add(u);
  }
  return all.filter((u) => want.has(u));
}

export async function startFakeImap(opts: { quirks?: Quirks; separator?: string } = {}): Promise<FakeImap> {
  const sep = opts.separator ?? "/";
  const folders = new Map<string, FakeFolder>([["INBOX", { uidValidity: 1000, uidNext: 1, messages: [] }]]);
  const quirks: Quirks = opts.quirks ?? {};
  const commands: string[] = [];
  const logins: string[] = [];
  let bodyFetches = 0;
  const sockets = new Set<Socket>();

  const session = (sock: Socket) => {
    if (quirks.down) {
      sock.destroy();
      return;
    }
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => {});
    let buf = Buffer.alloc(0);
    let selected: FakeFolder | undefined;
    let pendingLine = "";
    let literalNeed = 0;
    let authTag: string | null = null;
    // with slowBodyMs every write (and close) goes through one chain, in order, so a body
    // answer can be held back without reordering what follows it
    let chain: Promise<void> | undefined;
    const later = (fn: () => void, delayMs = 0) => {
      if (!quirks.slowBodyMs && !chain) return fn();
      chain = (chain ?? Promise.resolve()).then(async () => {
        if (delayMs) await Bun.sleep(delayMs);
        fn();
      });
    };
    const send = (s: string | Buffer, delayMs = 0) =>
      later(() => {
        if (!sock.destroyed) sock.write(s);
      }, delayMs);
    const close = () => later(() => sock.destroy());
    // no MULTIAPPEND, no LITERAL+, no SPECIAL-USE, no CONDSTORE: a plain RFC 3501 server
    const caps = `IMAP4rev1 AUTH=PLAIN SASL-IR NAMESPACE${quirks.noUidPlus ? "" : " UIDPLUS"}${quirks.refuseReturnOptions ? " LIST-EXTENDED LIST-STATUS SPECIAL-USE" : ""}`;
    send(`* OK [CAPABILITY ${caps}] fake IMAP ready\r\n`);

    const handle = (line: string) => {
      if (authTag) {
        const [, user] = Buffer.from(line, "base64").toString().split("\0");
        const tag = authTag;
        authTag = null;
        logins.push(user ?? "");
        send(`${tag} OK logged in\r\n`);
        return;
      }
      const t = tokenize(line);
      const tag = t[0] ?? "*";
      let cmd = (t[1] ?? "").toUpperCase();
      let args = t.slice(2);
      if (cmd === "UID") {
        cmd = `UID ${(args[0] ?? "").toUpperCase()}`;
        args = args.slice(1);
      }
      commands.push(`${cmd} ${args.join(" ")}`.trim());
      if (quirks.dropAtLogin && (cmd === "LOGIN" || cmd === "AUTHENTICATE")) {
        quirks.dropAtLogin = false;
        close();
        return;
      }
      const dropNow = quirks.dropAfter !== undefined && quirks.dropAfter.toUpperCase() === cmd;
      if (dropNow) quirks.dropAfter = undefined;
      const ok = (text = "done") => {
        send(`${tag} OK ${text}\r\n`);
        if (dropNow) close();
      };
      switch (cmd) {
        case "CAPABILITY":
          send(`* CAPABILITY ${caps}\r\n`);
          return ok();
        case "NOOP":
          return ok();
        case "LOGOUT":
          send("* BYE bye\r\n");
          ok();
          later(() => sock.end());
          return;
        case "LOGIN":
          if (quirks.refuseLogin) return send(`${tag} NO ${quirks.refuseLogin}\r\n`);
          logins.push(args[0] ?? "");
          return ok("logged in");
        case "AUTHENTICATE":
          if (quirks.refuseLogin) return send(`${tag} NO ${quirks.refuseLogin}\r\n`);
          if (args[1]) {
            const [authzid, user] = Buffer.from(args[1], "base64").toString().split("\0");
            logins.push(authzid || user || "");
            return ok("logged in");
          }
          authTag = tag;
          send("+ \r\n");
          return;
        case "NAMESPACE":
          send(`* NAMESPACE (("" "${sep}")) NIL NIL\r\n`);
          return ok();
        case "LIST":
        case "LSUB": {
          if (quirks.refuseReturnOptions && args.some((a) => a.toUpperCase() === "RETURN")) return send(`${tag} BAD unknown RETURN option\r\n`);
          if (!quirks.emptyList) {
            for (const [name, f] of folders) {
              const flags = [cmd === "LIST" && f.specialUse ? f.specialUse : "", "\\HasNoChildren"].filter(Boolean).join(" ");
              // a name a quoted string cannot carry (control characters, very long) goes as a literal
              const wire = /[\x00-\x1f\x7f"\\]/.test(name) || name.length > 200 ? `{${Buffer.byteLength(name)}}\r\n${name}` : `"${name}"`;
              send(`* ${cmd} (${flags}) "${sep}" ${wire}\r\n`);
            }
          }
          return ok();
        }
        case "STATUS": {
          const f = folders.get(args[0] ?? "");
          if (!f || quirks.emptyList) return send(`${tag} NO no such mailbox\r\n`);
          const items = (args[1] ?? "").replace(/[()]/g, "").split(" ").filter(Boolean);
          const parts: string[] = [];
          for (const it of items.map((x) => x.toUpperCase())) {
            if (it === "MESSAGES") parts.push(`MESSAGES ${f.messages.length}`);
            if (it === "UIDVALIDITY") parts.push(`UIDVALIDITY ${f.uidValidity}`);
            if (it === "UIDNEXT" && !quirks.noUidNextInStatus) parts.push(`UIDNEXT ${f.uidNext}`);
            if (it === "UNSEEN") parts.push(`UNSEEN 0`);
          }
          send(`* STATUS "${args[0]}" (${parts.join(" ")})\r\n`);
          return ok();
        }
        case "SELECT":
        case "EXAMINE": {
          const f = quirks.emptyList ? undefined : folders.get(args[0] ?? "");
          if (quirks.refuseExamine) return send(`${tag} NO ${quirks.refuseExamine}\r\n`);
          if (!f) return send(`${tag} NO no such mailbox\r\n`);
          selected = f;
          send(`* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* ${f.messages.length} EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY ${f.uidValidity}] ok\r\n`);
          if (!quirks.noUidNextInSelect) send(`* OK [UIDNEXT ${f.uidNext}] ok\r\n`);
          if (cmd === "SELECT" && quirks.selectLiteralBytes) return send(`* OK [ALERT] {${quirks.selectLiteralBytes}}\r\n`);
          return ok(`[${cmd === "EXAMINE" ? "READ-ONLY" : "READ-WRITE"}] done`);
        }
        case "CREATE": {
          if (folders.has(args[0] ?? "")) return send(`${tag} NO [ALREADYEXISTS] mailbox exists\r\n`);
          folders.set(args[0]!, { uidValidity: 3000 + folders.size, uidNext: 1, messages: [] });
          return ok();
        }
        case "SUBSCRIBE":
        case "UNSUBSCRIBE":
          return ok();
        case "APPEND": {
          // APPEND mailbox [(flags)] ["date"] literal (the literal arrives as the last token)
          const f = folders.get(args[0] ?? "");
          if (!f) return send(`${tag} NO [TRYCREATE] no such mailbox\r\n`);
          if (quirks.refuseAppendTo === args[0]) return send(`${tag} NO [OVERQUOTA] quota exceeded\r\n`);
          const rest = args.slice(1);
          const body = Buffer.from(rest.pop() ?? "", "latin1");
          const flags = rest[0]?.startsWith("(") ? rest.shift()!.replace(/[()]/g, "").split(" ").filter(Boolean) : [];
          const d = rest[0] ? /^\s*(\d{1,2})-(\w{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/.exec(rest[0]) : null;
          const internalDate = d ? new Date(Date.UTC(Number(d[3]), MONTHS.indexOf(d[2]!), Number(d[1]), Number(d[4]), Number(d[5]), Number(d[6])) - (d[7] === "-" ? -1 : 1) * (Number(d[8]) * 60 + Number(d[9])) * 60_000) : new Date();
          const commit = () => {
            const m = { uid: f.uidNext++, flags, internalDate, body };
            f.messages.push(m);
            ok(quirks.noUidPlus ? "appended" : `[APPENDUID ${f.uidValidity} ${quirks.appendUidSet ?? m.uid}] appended`);
          };
          const late = quirks.lateAppendMs;
          if (!late) return commit();
          quirks.lateAppendMs = undefined;
          setTimeout(() => {
            commit();
            quirks.lateStored = (quirks.lateStored ?? 0) + 1;
          }, late);
          return;
        }
        case "UID SEARCH": {
          if (!selected) return send(`${tag} BAD no folder selected\r\n`);
          const all = selected.messages.map((m) => m.uid);
          const i = args.findIndex((a) => a.toUpperCase() === "UID");
          const hits = i >= 0 ? uidsIn(args[i + 1]!, all) : all;
          send(`* SEARCH${hits.map((u) => ` ${u}`).join("")}\r\n`);
          return ok();
        }
        case "FETCH":
        case "UID FETCH": {
          if (!selected) return send(`${tag} BAD no folder selected\r\n`);
          const f = selected;
          const all = f.messages.map((m) => m.uid);
          // a sequence set names positions: turn it into the UIDs at those positions
          const seqs = f.messages.map((_, i) => i + 1);
          if (cmd === "FETCH") args[0] = uidsIn(args[0]!, seqs).map((i) => all[i - 1]).join(",") || "0";
          const items = (args[1] ?? "").replace(/^\(|\)$/g, "");
          const wantsBody = /BODY(\.PEEK)?\[\](<\d+\.\d+>)?/i.exec(items);
          const wantsHeader = /BODY(\.PEEK)?\[HEADER\]/i.test(items);
          if (wantsBody) bodyFetches++;
          const uids = uidsIn(args[0]!, all);
          let n = 0;
          for (const uid of uids) {
            const seq = all.indexOf(uid) + 1;
            const m = f.messages[seq - 1]!;
            const parts: Buffer[] = [Buffer.from(`* ${seq} FETCH (UID ${uid}`)];
            if (/RFC822\.SIZE/i.test(items)) parts.push(Buffer.from(` RFC822.SIZE ${m.body.length}`));
            if (/FLAGS/i.test(items)) parts.push(Buffer.from(` FLAGS (${m.flags.join(" ")})`));
            if (/INTERNALDATE/i.test(items)) parts.push(Buffer.from(` INTERNALDATE ${imapDate(m.internalDate)}`));
            if (wantsHeader) {
              const end = m.body.indexOf("\r\n\r\n");
              const h = end < 0 ? m.body : m.body.subarray(0, end + 4);
              parts.push(Buffer.from(` BODY[HEADER] {${h.length}}\r\n`), h);
            }
            if (wantsBody && quirks.inflateLiteral?.uid === uid) {
              // everything before the literal, then the literal streamed while the client reads
              const head = Buffer.concat([...parts, Buffer.from(` BODY[] {${quirks.inflateLiteral.bytes}}\r\n`)]);
              send(head);
              // through the chain: what follows (other messages, the tagged OK) waits for it
              chain = (chain ?? Promise.resolve()).then(async () => {
                const chunk = Buffer.alloc(65536, 0x41);
                let left = quirks.inflateLiteral!.bytes;
                quirks.inflatedSent = 0;
                while (left > 0 && !sock.destroyed) {
                  const piece = chunk.subarray(0, Math.min(left, chunk.length));
                  if (!sock.write(piece)) await new Promise((r) => sock.once("drain", r).once("close", r));
                  left -= piece.length;
                  quirks.inflatedSent += piece.length;
                }
                if (!sock.destroyed) sock.write(")\r\n");
              });
              continue;
            }
            if (wantsBody && quirks.trickleBody?.uid === uid) {
              const head = Buffer.concat([...parts, Buffer.from(` BODY[] {${m.body.length}}\r\n`)]);
              send(head);
              chain = (chain ?? Promise.resolve()).then(async () => {
                for (let i = 0; i < m.body.length && !sock.destroyed; i++) {
                  sock.write(m.body.subarray(i, i + 1));
                  await Bun.sleep(quirks.trickleBody!.everyMs);
                }
                if (!sock.destroyed) sock.write(")\r\n");
              });
              continue;
            }
            if (wantsBody && !quirks.bodyless?.has(uid)) {
              const partial = /<(\d+)\.(\d+)>/.exec(wantsBody[2] ?? "");
              const b = partial ? m.body.subarray(Number(partial[1]), Number(partial[1]) + Number(partial[2])) : m.body;
              parts.push(Buffer.from(` BODY[]${partial ? `<${partial[1]}>` : ""} {${b.length}}\r\n`), b);
              if (quirks.doubleBody === uid) parts.push(Buffer.from(` BODY[] {${b.length}}\r\n`), b);
            }
            parts.push(Buffer.from(")\r\n"));
            const answer = Buffer.concat(parts);
            if (wantsBody && quirks.dropDuringBodyFetch === bodyFetches && ++n === Math.ceil(uids.length / 2)) {
              quirks.dropDuringBodyFetch = undefined;
              if (quirks.downAfterDrop) quirks.down = true;
              send(answer.subarray(0, Math.floor(answer.length / 2)));
              close();
              return;
            }
            send(answer, wantsBody ? (quirks.slowBodyMs ?? 0) : 0);
          }
          return ok();
        }
        default:
          return send(`${tag} BAD unknown command ${cmd}\r\n`);
      }
    };

    sock.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (literalNeed > 0) {
          if (buf.length < literalNeed) return;
          pendingLine += `"${buf.subarray(0, literalNeed).toString("latin1").replace(/(["\\])/g, "\\$1")}"`;
          buf = buf.subarray(literalNeed);
          literalNeed = 0;
        }
        const nl = buf.indexOf("\r\n");
        if (nl < 0) return;
        const part = buf.subarray(0, nl).toString("latin1");
        buf = buf.subarray(nl + 2);
        const lit = /\{(\d+)(\+?)\}$/.exec(part);
        if (lit) {
          pendingLine += part.slice(0, lit.index);
          literalNeed = Number(lit[1]);
          if (!lit[2]) send("+ go ahead\r\n");
          continue;
        }
        const line = pendingLine + part;
        pendingLine = "";
        handle(line);
      }
    });
  };

  const server: Server = createServer(session);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const fake: FakeImap = {
    host: "127.0.0.1",
    port,
    folders,
    quirks,
    commands,
    logins,
    add(folder, body, flags = [], internalDate = new Date("2024-03-01T10:00:00Z")) {
      let f = folders.get(folder);
      if (!f) folders.set(folder, (f = { uidValidity: 2000 + folders.size, uidNext: 1, messages: [] }));
      const m = { uid: f.uidNext++, flags, internalDate, body: Buffer.isBuffer(body) ? body : Buffer.from(body) };
      f.messages.push(m);
      return m;
    },
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}

/** A small RFC 5322 message with a unique Message-ID. */
export function fakeMessage(n: number, extra = ""): string {
  return `From: sender${n}@old.example\r\nTo: alice@example.com\r\nSubject: message ${n}\r\nMessage-ID: <m${n}@old.example>\r\nDate: Fri, 01 Mar 2024 10:00:00 +0000\r\n\r\nBody of message ${n}.\r\n${extra}`;
}
