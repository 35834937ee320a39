// A Unix socket that answers netstring requests one at a time per connection: Postfix's
// socketmap (routing) and the first-login socket of Dovecot's checkpassword helper and Lua
// passdb. Stale sockets of a killed daemon are removed (anything else at the path is left
// alone), mode and group are set as configured, connections are capped and idle ones closed.
import { chmodSync, chownSync, lstatSync, readFileSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { takeNetstring } from "../src/netstring.ts";
import type { Logger } from "./logger.ts";
import { TIMEOUTS } from "../src/timeouts.ts";

export interface SocketSettings {
  /** The setting that names the path, for messages (e.g. "routing.socket"). */
  setting: string;
  path: string;
  socketMode: string;
  socketGroup?: string;
  /** Largest request accepted, bytes. */
  maxRequest: number;
  /** Connections open at once; more are closed at once. */
  maxConnections: number;
  /** A connection silent this long is closed. */
  idleMs: number;
}

/**
 * A request begun must be complete within this, counted from its first byte (a sender that
 * trickles a byte now and then would otherwise hold a connection slot for ever).
 */
const REQUEST_MS = TIMEOUTS.socketRequestMs;

/** Why a connection is refused: "busy" (every slot taken: try again later) or "bad" (not a request). */
export type Refusal = "busy" | "bad";

export function groupId(name: string, setting: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  const line = readFileSync("/etc/group", "utf8")
    .split("\n")
    .find((l) => l.split(":")[0] === name);
  if (!line) throw new Error(`${setting}: no group "${name}" in /etc/group`);
  return Number(line.split(":")[2]);
}

/** Whether something accepts connections on the Unix socket `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(path);
    const done = (v: boolean) => {
      c.destroy();
      resolve(v);
    };
    c.once("connect", () => done(true));
    c.once("error", () => done(false));
    c.setTimeout(1000, () => done(false));
  });
}

/** Removes a socket a killed daemon left behind; refuses to remove anything else. */
async function clearStale(path: string, setting: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${setting} ${path} exists and is not a socket: choose another path or remove it`);
  if (await answers(path)) throw new Error(`another process answers on ${setting} ${path} (another automigrate daemon?)`);
  unlinkSync(path);
}

export class NetstringServer {
  private constructor(
    readonly path: string,
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
  ) {}

  /**
   * `answer` turns one request into one reply; `refuse` makes the reply that ends a connection
   * whose request is not a netstring. Replies go out in request order.
   */
  static async listen(s: SocketSettings, answer: (request: string) => Buffer | Promise<Buffer>, refuse: (why: string, kind: Refusal) => Buffer, log: Logger): Promise<NetstringServer> {
    await clearStale(s.path, s.setting);
    const sockets = new Set<Socket>();
    const server = createServer((sock) => {
      // every connection is tracked (close() ends them all), refused ones included
      const full = sockets.size >= s.maxConnections;
      sockets.add(sock);
      sock.on("close", () => sockets.delete(sock));
      sock.on("error", () => sock.destroy());
      if (full) {
        log.warn({ msg: `${s.setting}: too many connections, one refused`, open: sockets.size - 1 });
        sock.end(refuse(`too many connections (${s.maxConnections})`, "busy"));
        sock.setTimeout(1000, () => sock.destroy());
        return;
      }
      sock.setTimeout(s.idleMs, () => sock.destroy());
      let buf: Buffer = Buffer.alloc(0);
      let queue = Promise.resolve();
      // the deadline of the request in progress, from its first byte
      let deadline: ReturnType<typeof setTimeout> | undefined;
      const requestBegun = () => {
        if (deadline || !buf.length) return;
        deadline = setTimeout(() => {
          log.warn({ msg: `${s.setting}: a request not complete within ${REQUEST_MS / 1000} s of its first byte, connection closed` });
          sock.destroy();
        }, REQUEST_MS);
      };
      const requestDone = () => {
        clearTimeout(deadline);
        deadline = undefined;
      };
      sock.on("close", requestDone);
      sock.on("data", (chunk: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        for (;;) {
          const p = takeNetstring(buf, s.maxRequest);
          if ("incomplete" in p) {
            requestBegun();
            return;
          }
          if ("error" in p) {
            log.warn({ msg: `${s.setting}: bad request, connection closed`, error: p.error });
            sock.removeAllListeners("data");
            requestDone();
            queue = queue.then(() => void sock.end(refuse(p.error, "bad")));
            return;
          }
          requestDone();
          buf = p.rest;
          const request = p.request;
          queue = queue
            .then(async () => {
              const reply = await answer(request);
              if (!sock.destroyed) sock.write(reply);
            })
            .catch(() => void sock.destroy());
        }
      });
    });
    // beyond the cap a connection is answered and closed; far beyond it, closed unanswered
    server.maxConnections = s.maxConnections + 100;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(s.path, () => {
        server.off("error", reject);
        resolve();
      });
    });
    try {
      chmodSync(s.path, parseInt(s.socketMode, 8));
      if (s.socketGroup) chownSync(s.path, process.getuid?.() ?? 0, groupId(s.socketGroup, `${s.setting.replace(/socket$/, "")}socketGroup`));
    } catch (e) {
      server.close();
      throw e;
    }
    return new NetstringServer(s.path, server, sockets);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    // a connection the kernel still holds must not keep the daemon from stopping
    await Promise.race([new Promise<void>((resolve) => this.server.close(() => resolve())), Bun.sleep(TIMEOUTS.socketCloseMs)]);
    try {
      unlinkSync(this.path);
    } catch {}
  }
}
