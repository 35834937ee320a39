// The process's tokens: one cache (memory only) for every job, keyed by the provider's
// settings (and the user, where each has their own token), so that many logins share one
// token and a change of settings starts afresh. What a login is given to authenticate with.
import type { OAuth2Auth } from "../config/schema.ts";
import { PROVIDERS, tokenKey } from "./providers.ts";
import { TokenCache } from "./token-cache.ts";
import { requestToken } from "./token-source.ts";

/** Where a login gets its bearer token, and where it says the server refused one. */
export interface BearerSource {
  token(): Promise<string>;
  /** The server refused this token: the next token() asks the provider again. */
  refused(token: string): void;
  /** What to check when a fresh token is refused too. */
  refusedHint: string;
}

const cache = new TokenCache();

/** Token requests made by this process (what the cache could not answer), by outcome ("ok" or the error's code). */
export function tokenRequestOutcomes(): ReadonlyMap<string, number> {
  return cache.outcomes;
}

export function bearerFor(auth: OAuth2Auth, login: string, settingsKey: string): BearerSource {
  const key = tokenKey(auth, login);
  return {
    token: () => cache.get(key, () => requestToken(auth, login, settingsKey)),
    refused: (t) => cache.refused(key, t),
    refusedHint: PROVIDERS[auth.provider].loginRefused(settingsKey),
  };
}
