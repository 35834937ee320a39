// Makes a checkout runnable with only node and npm: installs the npm dependencies (Bun
// among them) when missing or out of date, and builds dist/cli.js (scripts/build.ts: one
// bundle with precompiled bytecode that holds every command, the console included) when any
// of its sources (bin/, src/, daemon/, tui/, scripts/) is newer than it.
import { existsSync, readdirSync, statSync } from "node:fs";
import { execFileSync, execSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bun = join(root, "node_modules", ".bin", "bun");
const stamp = join(root, "node_modules", ".package-lock.json");
const lock = join(root, "package-lock.json");
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

if (!existsSync(bun) || mtime(lock) > mtime(stamp)) {
  console.error("automigrate: installing dependencies (npm ci) ...");
  execSync("npm ci --no-audit --no-fund --loglevel=error", { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
}

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const bundle = join(root, "dist", "cli.js");
const sources = ["bin", "src", "daemon", "tui", "scripts"].map((d) => newest(join(root, d)));
if (mtime(bundle) < Math.max(...sources, mtime(stamp))) {
  execFileSync(bun, ["scripts/build.ts"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
}
