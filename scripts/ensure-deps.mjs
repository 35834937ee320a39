// Installs the npm dependencies (Bun among them) when they are missing or out of date,
// so `npm start` and `npm test` work on a fresh machine that has only node and npm.
import { existsSync, statSync } from "node:fs";
import { execSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bun = join(root, "node_modules", ".bin", "bun");
const stamp = join(root, "node_modules", ".package-lock.json");
const lock = join(root, "package-lock.json");
const stale = !existsSync(bun) || !existsSync(stamp) || statSync(lock).mtimeMs > statSync(stamp).mtimeMs;
if (stale) {
  console.error("automigrate: installing dependencies (npm ci) ...");
  execSync("npm ci --no-audit --no-fund --loglevel=error", { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
}
