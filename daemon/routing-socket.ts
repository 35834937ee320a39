// The Postfix socketmap server for coexistence routing (src/routing): a Unix socket the
// daemon listens on while `routing.socket` is set. Postfix keeps its connection open and
// sends one netstring request at a time; each is answered at once from the live settings and
// account states, so an account created a moment ago is routed locally on its next lookup.
import { chmodSync, chownSync, lstatSync, readFileSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { Config } from "../src/config/schema.ts";
import { errorText } from "../src/errors.ts";
import { routeAddress } from "../src/routing/transport-map.ts";
import { reply, splitRequest, takeNetstring } from "../src/routing/socketmap.ts";
import type { LocalAccounts } from "../src/routing/local-accounts.ts";
import type { Logger } from "./logger.ts";

/** The table name in `socketmap:unix:<path>:transport`. */
export const TABLE_NAME = "transport";

function groupId(name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  const line = readFileSync("/etc/group", "utf8")
    .split("\n")
    .find((l) => l.split(":")[0] === name);
  if (!line) throw new Error(`routing.socketGroup: no group "${name}" in /etc/group`);
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
async function clearStale(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`routing.socket ${path} exists and is not a socket: choose another path or remove it`);
  if (await answers(path)) throw new Error(`another process answers on routing.socket ${path} (another automigrate daemon?)`);
  unlinkSync(path);
}

export class RoutingSocket {
  private constructor(
    readonly path: string,
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    private readonly stats: { lookups: number },
  ) {}

  get lookups(): number {
    return this.stats.lookups;
  }

  static async listen(path: string, settings: Config["routing"], config: () => Config, local: LocalAccounts, log: Logger): Promise<RoutingSocket> {
    await clearStale(path);
    const sockets = new Set<Socket>();
    const stats = { lookups: 0 };
    const answer = (request: string): Buffer => {
      const r = splitRequest(request);
      if (!r) return reply({ kind: "perm", why: `malformed request "${request.slice(0, 100)}" (expected "<name> <key>")` });
      if (r.name !== TABLE_NAME) return reply({ kind: "perm", why: `unknown table "${r.name}": use socketmap:unix:${path}:${TABLE_NAME}` });
      stats.lookups++;
      try {
        const a = routeAddress(config(), r.key, (u) => local.has(u));
        log.debug({ msg: "routing lookup", key: r.key, answer: a.kind, transport: a.kind === "found" ? a.transport : undefined, why: a.why });
        if (a.kind === "temp") log.warn({ msg: "routing lookup deferred", key: r.key, why: a.why });
        return reply(a);
      } catch (e) {
        // a corrupt state file and the like: Postfix defers the mail and logs why
        log.error({ msg: "routing lookup failed", key: r.key, error: errorText(e) });
        return reply({ kind: "temp", why: errorText(e) });
      }
    };
    const server = createServer((sock) => {
      sockets.add(sock);
      let buf: Buffer = Buffer.alloc(0);
      sock.on("data", (chunk: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        for (;;) {
          const p = takeNetstring(buf);
          if ("incomplete" in p) return;
          if ("error" in p) {
            log.warn({ msg: "routing socket: bad request, connection closed", error: p.error });
            sock.removeAllListeners("data");
            sock.end(reply({ kind: "perm", why: p.error }));
            return;
          }
          buf = p.rest;
          sock.write(answer(p.request));
        }
      });
      sock.on("error", () => sock.destroy());
      sock.on("close", () => sockets.delete(sock));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => {
        server.off("error", reject);
        resolve();
      });
    });
    try {
      chmodSync(path, parseInt(settings.socketMode, 8));
      if (settings.socketGroup) chownSync(path, process.getuid?.() ?? 0, groupId(settings.socketGroup));
    } catch (e) {
      server.close();
      throw e;
    }
    return new RoutingSocket(path, server, sockets, stats);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {}
  }
}
