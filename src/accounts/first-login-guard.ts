// Keeps the new server from becoming a password-guessing relay against the old one: first
// logins are checked there one at a time per user, a wrong password already refused is not
// sent again, and after too many wrong passwords for one user or from one remote address
// within the window, the old server is not asked at all until the window has moved on (so
// nobody is locked out there by a burst here). Passwords are kept only as HMACs under a key
// that lives in memory. Pure apart from the clock, which is injected.
import { createHmac, randomBytes } from "node:crypto";

export interface GuardLimits {
  failuresPerUser: number;
  failuresPerAddress: number;
  windowMs: number;
}

export type GuardVerdict = { ask: true } | { ask: false; reason: string };

/** Entries kept at most per map; the oldest go first (a flood of names cannot grow memory). */
const MAX_KEYS = 100_000;

export class FirstLoginGuard {
  private readonly failures = new Map<string, number[]>();
  /** user \0 HMAC(password) → when it was refused, and why. */
  private readonly refused = new Map<string, { at: number; reason: string }>();
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
    const seen = this.refused.get(this.passwordKey(user, password));
    if (seen !== undefined && t - seen.at < this.limits.windowMs) return { ask: false, reason: `${seen.reason} (at ${clock(seen.at)}; the same password is not checked again before ${clock(seen.at + this.limits.windowMs)})` };
    const byUser = this.recent(`u\0${user}`, t);
    if (byUser.length >= this.limits.failuresPerUser) return { ask: false, reason: `${byUser.length} wrong passwords for ${user} since ${clock(byUser[0]!)}: the old server is not asked again before ${clock(byUser[0]! + this.limits.windowMs)}` };
    if (address) {
      const byAddress = this.recent(`a\0${address}`, t);
      if (byAddress.length >= this.limits.failuresPerAddress) return { ask: false, reason: `${byAddress.length} wrong passwords from ${address} since ${clock(byAddress[0]!)}: refused before ${clock(byAddress[0]! + this.limits.windowMs)}` };
    }
    return { ask: true };
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
