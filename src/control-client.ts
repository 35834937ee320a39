// Talking to a running daemon over its control socket (HTTP over a Unix socket).
// undefined means no daemon answered: callers say that live status is unavailable.
import { homePaths } from "./home.ts";

export async function daemonGet(home: string, path: string, timeoutMs = 3000): Promise<any | undefined> {
  try {
    const r = await fetch(`http://automigrate${path}`, { unix: homePaths(home).controlSocket, signal: AbortSignal.timeout(timeoutMs) } as RequestInit);
    return await r.json();
  } catch {
    return undefined;
  }
}

export async function daemonPost(home: string, path: string, body: unknown = {}, timeoutMs = 3000): Promise<any | undefined> {
  try {
    const r = await fetch(`http://automigrate${path}`, { method: "POST", body: JSON.stringify(body), unix: homePaths(home).controlSocket, signal: AbortSignal.timeout(timeoutMs) } as RequestInit);
    return await r.json();
  } catch {
    return undefined;
  }
}
