// The Postfix socketmap server for coexistence routing (src/routing): a Unix socket the
// daemon listens on while `routing.socket` is set. Postfix keeps its connection open and
// sends one netstring request at a time; each is answered at once from the live settings and
// account states, so an account created a moment ago is routed locally on its next lookup.
import type { Config } from "../src/config/schema.ts";
import { errorText } from "../src/errors.ts";
import { routeAddress } from "../src/routing/transport-map.ts";
import { MAX_REQUEST, reply, splitRequest } from "../src/routing/socketmap.ts";
import type { LocalAccounts } from "../src/routing/local-accounts.ts";
import type { Logger } from "./logger.ts";
import { NetstringServer } from "./netstring-server.ts";
import { TIMEOUTS } from "../src/timeouts.ts";

/** The table name in `socketmap:unix:<path>:transport`. */
export const TABLE_NAME = "transport";

export class RoutingSocket {
  private constructor(
    private readonly server: NetstringServer,
    private readonly stats: { lookups: number },
  ) {}

  get path(): string {
    return this.server.path;
  }

  get lookups(): number {
    return this.stats.lookups;
  }

  static async listen(path: string, settings: Config["routing"], config: () => Config, local: LocalAccounts, log: Logger): Promise<RoutingSocket> {
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
    // Postfix keeps a connection per process (smtpd, trivial-rewrite...) and reuses it
    const server = await NetstringServer.listen(
      { setting: "routing.socket", path, socketMode: settings.socketMode, socketGroup: settings.socketGroup, maxRequest: MAX_REQUEST, maxConnections: 500, idleMs: TIMEOUTS.routingIdleMs },
      answer,
      // full: TEMP, so that Postfix defers the mail (never bounces it because automigrate is busy)
      (why, kind) => reply({ kind: kind === "busy" ? "temp" : "perm", why }),
      log,
    );
    return new RoutingSocket(server, stats);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
