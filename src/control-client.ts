// Talking to a running daemon over its control socket (HTTP over a Unix socket), typed by
// the routes of src/status/control-api.ts. undefined means no daemon answered: callers say
// that live status is unavailable; a refusal comes back as { code, error }.
import { homePaths } from "./home.ts";
import type { Answers, ControlError, PostRoute, RequestOf } from "./status/control-api.ts";

export type { ControlError };

async function call(home: string, path: string, init: RequestInit, timeoutMs: number): Promise<unknown> {
  try {
    const r = await fetch(`http://automigrate${path}`, { ...init, unix: homePaths(home).controlSocket, signal: AbortSignal.timeout(timeoutMs) } as RequestInit);
    return await r.json();
  } catch {
    return undefined;
  }
}

/** GET /status. */
export async function daemonStatus(home: string, timeoutMs = 3000): Promise<Answers["GET /status"] | ControlError | undefined> {
  return (await call(home, "/status", {}, timeoutMs)) as Answers["GET /status"] | ControlError | undefined;
}

/** GET /accounts/<user>. */
export async function daemonAccount(home: string, user: string, timeoutMs = 3000): Promise<Answers["GET /accounts/:user"] | ControlError | undefined> {
  return (await call(home, `/accounts/${encodeURIComponent(user)}`, {}, timeoutMs)) as Answers["GET /accounts/:user"] | ControlError | undefined;
}

/** POST to a route (`param` fills a route's ":name" segment, e.g. the domain of /domains/:domain). */
export async function daemonPost<R extends PostRoute>(home: string, route: R, body: RequestOf<R>, opts: { param?: string; timeoutMs?: number } = {}): Promise<Answers[R] | ControlError | undefined> {
  const path = opts.param === undefined ? route : route.replace(/:[a-z]+$/, encodeURIComponent(opts.param));
  return (await call(home, path, { method: "POST", body: JSON.stringify(body) }, opts.timeoutMs ?? 3000)) as Answers[R] | ControlError | undefined;
}

/** A refusal rather than an answer. */
export function refusedBy(v: unknown): v is ControlError {
  return typeof v === "object" && v !== null && typeof (v as { error?: unknown }).error === "string";
}
