// Keeps the new server from becoming a password-guessing relay against the old one, without
// ever locking a user out: first logins are checked there one at a time per user; a password
// the old server refused is not sent again within the window (answered as wrong, which it
// is); after too many wrong passwords for one user, or from one remote address, within the
// window, checks are rate-limited, not refused: the answer is "temporary failure" (never
// "wrong password"), and one check per interval still goes through for each user and source,
// so an attacker can slow a first login but not block it, and a source's own failures do
// not hold back other sources. Passwords are kept only as HMACs under a key that lives in
// memory. Pure apart from the clock, which is injected.
import { createHmac, randomBytes } from "node:crypto";

export interface GuardLimits {
  failuresPerUser: number;
  failuresPerAddress: number;
  windowMs: number;
  /** While limited: one check per this interval still goes through, per user and source. */
  limitedCheckEveryMs: number;
}

export type GuardVerdict =
  | { ask: true }
  /** This very password was refused by the old server a moment ago: wrong, truthfully. */
  | { ask: false; answer: "reject"; reason: string }
  /** Rate-limited: try again later (Dovecot's temporary failure, never "wrong password"). */
  | { ask: false; answer: "tempfail"; reason: string };

/** Entries kept at most per map; the oldest go first (a flood of names cannot grow memory). */
const MAX_KEYS = 100_000;

export class FirstLoginGuard {
  private readonly failures = new Map<string, number[]>();
  /** user \0 HMAC(password) → when it was refused, and why. */
  private readonly refused = new Map<string, { at: number; reason: string }>();
  /** user \0 address → when a check last went through while the user or the address was limited. */
  private readonly letThrough = new Map<string, number>();
  private readonly running = new Map<string, Promise<unknown>>();
  private readonly key = randomBytes(32);

  constructor(
    private limits: GuardLimits,
    private readonly now: () => number = Date.now,
  ) {}

  setLimits(limits: GuardLimits): void {
    this.limits = limits;
  }

  /** Runs `fn` after every earlier check of the same user has finished. */
  async oneAtATime<T>(user: string, fn: () => Promise<T>): Promise<T> {
    const before = this.running.get(user) ?? Promise.resolve();
    const mine = before.then(fn, fn);
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.running.set(user, settled);
    void settled.then(() => {
      if (this.running.get(user) === settled) this.running.delete(user);
    });
    return mine;
  }

  /** Whether the old server (or LDAP) may be asked for this user, password and address now. */
  verdict(user: string, address: string, password: string): GuardVerdict {
    const t = this.now();
    const { windowMs, limitedCheckEveryMs } = this.limits;
    const seen = this.refused.get(this.passwordKey(user, password));
    if (seen !== undefined && t - seen.at < windowMs) return { ask: false, answer: "reject", reason: `${seen.reason} (at ${clock(seen.at)}; the same password is not checked again before ${clock(seen.at + windowMs)})` };
    const byUser = this.recent(`u\0${user}`, t);
    const byAddress = address ? this.recent(`a\0${address}`, t) : [];
    const why =
      byAddress.length >= this.limits.failuresPerAddress
        ? `${byAddress.length} wrong passwords from ${address} since ${clock(byAddress[0]!)}`
        : byUser.length >= this.limits.failuresPerUser
          ? `${byUser.length} wrong passwords for ${user} since ${clock(byUser[0]!)}`
          : undefined;
    if (why === undefined) return { ask: true };
    // limited: one check per interval for this user from this source still goes through
    const pair = `${user}\0${address}`;
    const last = this.letThrough.get(pair);
    if (last === undefined || t - last >= limitedCheckEveryMs) {
      remember(this.letThrough, pair, t);
      return { ask: true };
    }
    return { ask: false, answer: "tempfail", reason: `${why}: checks are slowed down, try again after ${clock(last + limitedCheckEveryMs)}` };
  }

  /** What the old server (or LDAP) answered: only "wrong password" counts as a failure. */
  record(user: string, address: string, password: string, answer: "accept" | "reject" | "tempfail", reason = "wrong password"): void {
    const t = this.now();
    if (answer === "accept") {
      this.failures.delete(`u\0${user}`);
      return;
    }
    if (answer !== "reject") return;
    remember(this.refused, this.passwordKey(user, password), { at: t, reason });
    this.push(`u\0${user}`, t);
    if (address) this.push(`a\0${address}`, t);
  }

  private passwordKey(user: string, password: string): string {
    return `${user}\0${createHmac("sha256", this.key).update(password).digest("base64")}`;
  }

  private recent(key: string, t: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((at) => t - at < this.limits.windowMs);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }

  private push(key: string, t: number): void {
    const list = this.recent(key, t);
    list.push(t);
    this.failures.delete(key);
    remember(this.failures, key, list);
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > MAX_KEYS) map.delete(map.keys().next().value!);
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19) + " UTC";
}
