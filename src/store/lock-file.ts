// Exclusive lock files holding the owner's pid. A lock whose owner is dead (kill -9)
// is taken over; a live owner is waited for up to `waitMs`, then the lock is refused with
// an error saying who holds it.
import { linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { AutomigrateError, type ErrorContext } from "../errors.ts";
import { ensureDir } from "./json-file.ts";

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function holderOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface LockOptions {
  /** How long to wait for a live holder; 0 = fail at once. */
  waitMs: number;
  /** What the lock protects, for the error ("settings", "the migration of alice@example.com"). */
  what: string;
  context?: ErrorContext;
  hint?: string;
}

export function acquireLock(path: string, opts: LockOptions): () => void {
  ensureDir(dirname(path));
  const deadline = Date.now() + opts.waitMs;
  // The lock appears atomically with its pid in it: written to a temp file, then link()ed.
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, String(process.pid), { mode: 0o600 });
  try {
    for (;;) {
      try {
        linkSync(tmp, path);
        return () => {
          if (holderOf(path) === process.pid) tryUnlink(path);
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const holder = holderOf(path);
      if (holder === undefined || (holder !== process.pid && !pidAlive(holder))) {
        tryUnlink(path); // the owner died (kill -9) or the file is not a lock of ours
        continue;
      }
      if (Date.now() >= deadline) {
        throw new AutomigrateError(`${opts.what} is locked by another automigrate process (pid ${holder})`, {
          ...opts.context,
          file: path,
          hint: opts.hint ?? "wait for it to finish, then retry",
        }, { transient: true });
      }
      Bun.sleepSync(3 + Math.random() * 10);
    }
  } finally {
    tryUnlink(tmp);
  }
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {}
}
