// A real Radicale (Debian `radicale`) CalDAV/CardDAV server on 127.0.0.1 for tests: its own
// storage and htpasswd (plain) users, no system configuration read.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../tui/servers/dovecot.ts";
import { spawnServer, stopSpawned } from "../../tui/servers/processes.ts";
import { waitFor } from "./daemon.ts";

export interface Radicale {
  url: string;
  /** A request as `user` (Basic auth). */
  dav: (user: string, password: string, method: string, path: string, body?: string, headers?: Record<string, string>) => Promise<Response>;
  stop: () => Promise<void>;
}

export async function startRadicale(users: { user: string; password: string }[]): Promise<Radicale> {
  const dir = mkdtempSync(join(tmpdir(), "automigrate-radicale-"));
  writeFileSync(join(dir, "users"), users.map((u) => `${u.user}:${u.password}\n`).join(""));
  const port = await freePort();
  const proc = spawnServer(`Radicale ${dir}`, "radicale", ["-C", "", "--server-hosts", `127.0.0.1:${port}`, "--auth-type", "htpasswd", "--auth-htpasswd-filename", join(dir, "users"), "--auth-htpasswd-encryption", "plain", "--storage-filesystem-folder", join(dir, "collections"), "--rights-type", "owner_only"]);
  let stderr = "";
  proc.stderr?.on("data", (d) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}/`;
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`radicale exited ${proc.exitCode}: ${stderr}`);
    try {
      await fetch(url, { method: "OPTIONS" });
      return true;
    } catch {
      return false;
    }
  }, 15_000, "radicale");
  return {
    url,
    dav: (user, password, method, path, body, headers = {}) =>
      fetch(new URL(path, url), { method, body, headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`, ...headers } }),
    stop: async () => {
      await stopSpawned(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
