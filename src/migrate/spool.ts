// Spool files of large messages ("<pid>-<time>-<uid>.eml" in state/spool): each run removes
// its own on every exit path; files of a process that no longer exists (killed, power loss)
// are swept when the next migration starts, so a full disk is never left full by old runs.
import { readdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { pidAlive } from "../store/lock-file.ts";

/** Removes spool files whose process is gone; returns how many and how many bytes. */
export function sweepStaleSpool(dir: string): { files: number; bytes: number } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { files: 0, bytes: 0 };
  }
  let files = 0;
  let bytes = 0;
  for (const name of names) {
    const pid = Number(/^(\d+)-\d+-\d+\.eml$/.exec(name)?.[1]);
    if (!pid || pid === process.pid || pidAlive(pid)) continue;
    const p = join(dir, name);
    try {
      bytes += statSync(p).size;
      unlinkSync(p);
      files++;
    } catch {}
  }
  return { files, bytes };
}
