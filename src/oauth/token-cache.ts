// Access tokens kept in memory (never on disk): one per app or per user, as the grant
// requires, reused until shortly before they expire; one request in flight per key; a token
// the server refused is dropped; and while the identity provider keeps failing, its error is
// answered from memory with a growing pause, so that a revoked app sees a few requests per
// minute, not one per login. Pure apart from the clock it is given.

export interface IssuedToken {
  token: string;
  /** Lifetime the provider gave, in seconds. */
  expiresInSec: number;
}

interface Entry {
  token?: string;
  /** When the token stops being handed out (ms since epoch): shortly before it expires. */
  usableUntil?: number;
  inflight?: Promise<string>;
  failure?: { error: unknown; until: number; streak: number };
}

/** The pause after the n-th failure in a row: 15 s, 30 s, 60 s, ... up to 5 minutes. */
export function failurePauseMs(streak: number): number {
  return Math.min(300_000, 15_000 * 2 ** Math.max(0, streak - 1));
}

/** How long before its expiry a token is no longer handed out: a minute, or a tenth of a short lifetime. */
export function expiryMarginMs(lifetimeSec: number): number {
  return Math.min(60_000, lifetimeSec * 100);
}

export class TokenCache {
  private entries = new Map<string, Entry>();
  /** Requests made to the provider (what the cache could not answer). */
  requests = 0;
  /** Their outcomes: "ok", or the failure's code (TOKEN_REFUSED, TOKEN_UNAVAILABLE, ...). */
  readonly outcomes = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The token for `key`: the cached one while usable, else one fetched (once, however many ask). */
  async get(key: string, fetch: () => Promise<IssuedToken>): Promise<string> {
    const e = this.entries.get(key) ?? {};
    this.entries.set(key, e);
    const now = this.now();
    if (e.token && (e.usableUntil ?? 0) > now) return e.token;
    if (e.inflight) return e.inflight;
    if (e.failure && e.failure.until > now) throw e.failure.error;
    this.requests++;
    e.inflight = fetch().then(
      (t) => {
        e.token = t.token;
        e.usableUntil = this.now() + t.expiresInSec * 1000 - expiryMarginMs(t.expiresInSec);
        e.failure = undefined;
        e.inflight = undefined;
        this.count("ok");
        return t.token;
      },
      (err: unknown) => {
        const streak = (e.failure?.streak ?? 0) + 1;
        e.failure = { error: err, until: this.now() + failurePauseMs(streak), streak };
        e.token = undefined;
        e.inflight = undefined;
        this.count(typeof (err as { code?: unknown }).code === "string" ? (err as { code: string }).code : "error");
        throw err;
      },
    );
    return e.inflight;
  }

  private count(outcome: string): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  /** The server refused `token`: it is not handed out again (the next get fetches a new one). */
  refused(key: string, token: string): void {
    const e = this.entries.get(key);
    if (e?.token === token) {
      e.token = undefined;
      e.usableUntil = undefined;
    }
  }
}
