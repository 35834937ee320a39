// A home that other hosts use too (a shared file system): their control sockets and the
// locks they hold name them. Several nodes share a migration through PostgreSQL (cluster
// mode), not a shared home; the host-aware locks stay as a safety net, and the daemon says so.
import { readdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { homePaths } from "../home.ts";
import { holderOf } from "../store/lock-file.ts";

/** Lock files read at most (a home holds a lock per user being worked on, not per user). */
const MAX_LOCKS = 2000;

function names(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The other hosts this home shows signs of: a control socket of theirs, or a lock one of them holds. */
export function otherHostsIn(home: string, here = hostname()): string[] {
  const found = new Set<string>();
  for (const n of names(home)) {
    const m = /^control\.(.+)\.sock$/.exec(n);
    if (m && m[1] !== here) found.add(m[1]!);
  }
  const paths = homePaths(home);
  const locks = [paths.config + ".lock", ...names(paths.accounts).filter((n) => n.endsWith(".lock")).slice(0, MAX_LOCKS).map((n) => join(paths.accounts, n))];
  for (const p of locks) {
    let content: string | undefined;
    try {
      content = readFileSync(p, "utf8");
    } catch {
      continue;
    }
    const h = holderOf(content, here).host;
    if (h !== here) found.add(h);
  }
  return [...found].sort();
}
