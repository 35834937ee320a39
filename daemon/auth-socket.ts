// The first-login socket: Dovecot's checkpassword helper and Lua passdb ask here, so the
// daemon (its own unprivileged user) does the old-server or LDAP check, the account creation,
// the premium seat and the vault, and Dovecot's auth service needs no access to the home
// directory. One netstring request per login (src/accounts/auth-protocol.ts). Passwords are
// never logged; every answer is (user, kind, remote address, outcome, reason).
import { addressProblem, canonicalUser, shownName } from "../src/address.ts";
import { encodeAuthReply, parseAuthRequest } from "../src/accounts/auth-protocol.ts";
import { firstLogin, masterLookup, type FirstLogin } from "../src/accounts/first-login.ts";
import { FirstLoginGuard } from "../src/accounts/first-login-guard.ts";
import type { Config } from "../src/config/schema.ts";
import { errorText } from "../src/errors.ts";
import type { Logger } from "./logger.ts";
import { NetstringServer } from "./netstring-server.ts";
import { TIMEOUTS } from "../src/timeouts.ts";

/** user NUL password NUL address: a login name, a password and an address fit well inside. */
const MAX_REQUEST = 4096;

export function guardLimits(c: Config["firstLogin"]) {
  return { failuresPerUser: c.failuresPerUser, failuresPerAddress: c.failuresPerAddress, windowMs: c.windowMin * 60_000, limitedCheckEveryMs: c.limitedCheckEverySec * 1000 };
}

export class AuthSocket {
  private constructor(
    private readonly server: NetstringServer,
    readonly stats: { checks: number; accepted: number; refused: number; temporary: number },
  ) {}

  get path(): string {
    return this.server.path;
  }

  static async listen(home: string, config: () => Config, guard: FirstLoginGuard, log: Logger): Promise<AuthSocket> {
    const s = config().firstLogin;
    const stats = { checks: 0, accepted: 0, refused: 0, temporary: 0 };
    const answer = async (request: string): Promise<Buffer> => {
      const r = parseAuthRequest(request);
      if ("error" in r) {
        log.warn({ msg: "first-login socket: malformed request", error: r.error });
        return encodeAuthReply({ outcome: "tempfail", reason: `malformed request: ${r.error}` });
      }
      stats.checks++;
      const user = canonicalUser(r.user);
      let out: FirstLogin;
      const bad = addressProblem(user);
      try {
        if (bad) out = { outcome: "reject", reason: `${shownName(user)} is not a valid user address: it ${bad}` };
        else if (r.kind === "lookup") out = await masterLookup(home, config(), user);
        else out = await firstLogin(home, config(), user, r.password, { guard, address: r.address, port: r.port });
      } catch (e) {
        out = { outcome: "tempfail", reason: errorText(e) };
      }
      if (out.outcome === "accept") stats.accepted++;
      else if (out.outcome === "reject") stats.refused++;
      else stats.temporary++;
      const line = { msg: "first login", user, kind: r.kind, address: r.address || undefined, outcome: out.outcome, reason: out.outcome === "accept" ? undefined : out.reason, tier: out.outcome === "accept" ? out.tier : undefined };
      if (out.outcome === "tempfail") log.warn(line);
      else log.info(line);
      return encodeAuthReply(out);
    };
    // Dovecot's auth process opens one connection per helper run (checkpassword) or keeps one
    // per auth worker (Lua): a few hundred at once is a login storm, not a normal day
    const server = await NetstringServer.listen(
      { setting: "firstLogin.socket", path: s.socket!, socketMode: s.socketMode, socketGroup: s.socketGroup, maxRequest: MAX_REQUEST, maxConnections: 256, idleMs: TIMEOUTS.firstLoginIdleMs },
      answer,
      (why) => encodeAuthReply({ outcome: "tempfail", reason: why }),
      log,
    );
    return new AuthSocket(server, stats);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
