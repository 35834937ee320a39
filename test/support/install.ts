// What another user must read or run — Dovecot's auth process running the checkpassword
// helper or the Lua passdb, the daemon started as the `automigrate` system user — comes from
// a staged install with the Debian package's layout (scripts/stage-install.sh) in a
// world-readable temporary directory, never from the checkout: a checkout in a 0700 home
// (root's, anyone's) is readable by its owner only, and its modes are the user's, not ours.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./harness.ts";

export interface StagedInstall {
  /** The staged file system root (DEST of stage-install.sh). */
  root: string;
  /** The installed launcher, /usr/lib/automigrate/bin/automigrate. */
  cli: string;
  /** Dovecot's checkpassword front-end, /usr/lib/automigrate/bin/automigrate-checkpassword. */
  checkpassword: string;
  /** Dovecot's Lua passdb front-end, /usr/share/automigrate/automigrate-passdb.lua. */
  luaPassdb: string;
}

let staged: StagedInstall | undefined;

/** The staged install of this test process (staged on first use, removed when it exits). */
export function stagedInstall(): StagedInstall {
  if (staged) return staged;
  // the bundle staged is the one the checkout's launcher runs: built and up to date first
  const deps = spawnSync("node", [join(ROOT, "scripts", "ensure-deps.mjs")], { encoding: "utf8" });
  if (deps.status !== 0) throw new Error(`scripts/ensure-deps.mjs failed:\n${deps.stderr}`);
  const root = mkdtempSync(join(tmpdir(), "automigrate-install-"));
  chmodSync(root, 0o755);
  const r = spawnSync("sh", [join(ROOT, "scripts", "stage-install.sh"), root], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`scripts/stage-install.sh ${root} failed:\n${r.stderr}`);
  process.once("exit", () => rmSync(root, { recursive: true, force: true }));
  const lib = join(root, "usr", "lib", "automigrate");
  staged = { root, cli: join(lib, "bin", "automigrate"), checkpassword: join(lib, "bin", "automigrate-checkpassword"), luaPassdb: join(root, "usr", "share", "automigrate", "automigrate-passdb.lua") };
  return staged;
}
