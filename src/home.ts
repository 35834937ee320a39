// Where automigrate keeps its files (DESIGN.md "Home directory").
import { readFileSync, statSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { join, resolve } from "node:path";

export interface HomeOptions {
  home?: string;
  env?: Record<string, string | undefined>;
  uid?: number;
}

export function resolveHome(opts: HomeOptions = {}): string {
  const env = opts.env ?? process.env;
  if (opts.home) return resolve(opts.home);
  if (env.AUTOMIGRATE_HOME) return resolve(env.AUTOMIGRATE_HOME);
  const uid = opts.uid ?? process.getuid?.() ?? -1;
  if (uid === 0) return "/var/lib/automigrate";
  const state = env.XDG_STATE_HOME || join(env.HOME || homedir(), ".local", "state");
  return join(state, "automigrate");
}

export interface HomePaths {
  root: string;
  config: string;
  state: string;
  accounts: string;
  spool: string;
  vault: string;
  /** The daemon's control socket on this host. */
  controlSocket: string;
}

export function homePaths(root: string): HomePaths {
  return {
    root,
    config: join(root, "config.json"),
    state: join(root, "state"),
    accounts: join(root, "state", "accounts"),
    spool: join(root, "state", "spool"),
    vault: join(root, "vault"),
    // one per host: mail nodes sharing a home (NFS) each run a daemon, and each node's CLI
    // and console talk to their own (a socket file is only reachable on its host anyway)
    controlSocket: join(root, `control.${hostname()}.sock`),
  };
}

/**
 * Run as root against a home directory that belongs to another user (the packaged daemon's
 * "automigrate"): become that user before anything is read or written, so every file and
 * lock stays the daemon's and an admin's `sudo automigrate domain add ...` can never leave a
 * root-owned config.json the daemon cannot read. Returns the user switched to, if any.
 */
export function becomeHomeOwner(home: string): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let st;
  try {
    st = statSync(home);
  } catch {
    return undefined; // a new home: created by whoever runs this
  }
  if (st.uid === 0) return undefined;
  const entry = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .map((l) => l.split(":"))
    .find((f) => f[2] === String(st.uid));
  const name = entry?.[0];
  if (name) (process as unknown as { initgroups(user: string, gid: number): void }).initgroups(name, st.gid);
  else process.setgroups!([st.gid]);
  process.setgid!(st.gid);
  process.setuid!(st.uid);
  return name ?? String(st.uid);
}
