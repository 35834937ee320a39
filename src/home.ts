// Where automigrate keeps its files (DESIGN.md "Home directory").
import { homedir } from "node:os";
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
    controlSocket: join(root, "control.sock"),
  };
}
