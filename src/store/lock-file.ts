// Exclusive lock files holding "<pid> <nonce>". A fresh lock appears atomically (link() of
// a complete temp file: O_EXCL semantics). A lock whose holder died (kill -9) is taken over
// without a race: the taker must first create the claim file "<lock>.takeover-<nonce>" of
// that very lock instance (O_EXCL: one winner per dead lock), check the lock still is that
// instance, and then rename() its own lock over it. A slower taker of the same dead lock
// finds the claim taken or the lock changed and waits; two holders are never admitted.
// (flock(2) would be simpler but is reachable from Bun only through FFI, which needs a JIT
// that Dovecot's auth service memory limit disables.) A live holder is waited for up to
// `waitMs`, then the lock is refused with an error saying who holds it.
import { createHash, randomBytes } from "node:crypto";
import { linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { AutomigrateError, type ErrorContext } from "../errors.ts";
import { ensureDir } from "./json-file.ts";
import { TIMEOUTS } from "../timeouts.ts";

/** A claim older than this whose creator is dead was left by a crash inside a takeover. */
const STALE_CLAIM_MS = TIMEOUTS.staleLockClaimMs;

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readQuiet(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function pidIn(content: string | undefined): number | undefined {
  const pid = Number(content?.trim().split(/\s+/)[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {}
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
  const mine = `${process.pid} ${randomBytes(12).toString("hex")}`;
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}`;
  writeFileSync(tmp, mine, { mode: 0o600 });
  const release = () => {
    // only our own lock: a live holder's lock is never replaced, so this cannot race
    if (readQuiet(path) === mine) tryUnlink(path);
  };
  try {
    for (;;) {
      try {
        linkSync(tmp, path);
        return release;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const current = readQuiet(path);
      if (current === undefined) continue; // released meanwhile
      const holder = pidIn(current);
      if (holder === undefined || (holder !== process.pid && !pidAlive(holder))) {
        if (takeOver(path, current, tmp, mine)) return release;
        continue;
      }
      if (Date.now() >= deadline) {
        throw new AutomigrateError(`${opts.what} is locked by another automigrate process (pid ${holder})`, {
          ...opts.context,
          file: path,
          hint: opts.hint ?? "wait for it to finish, then retry",
        }, { transient: true, code: "LOCKED" });
      }
      Bun.sleepSync(3 + Math.random() * 10);
    }
  } finally {
    tryUnlink(tmp);
  }
}

/** Replaces the dead lock instance `dead` by ours; false when another process is doing so. */
function takeOver(path: string, dead: string, tmp: string, mine: string): boolean {
  const claim = `${path}.takeover-${createHash("sha256").update(dead).digest("hex").slice(0, 24)}`;
  try {
    writeFileSync(claim, mine, { flag: "wx", mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    const by = pidIn(readQuiet(claim));
    let age = 0;
    try {
      age = Date.now() - statSync(claim).mtimeMs;
    } catch {}
    if (age > STALE_CLAIM_MS && (by === undefined || !pidAlive(by))) tryUnlink(claim);
    Bun.sleepSync(2 + Math.random() * 5);
    return false;
  }
  try {
    // the claim is ours: nobody else may replace this instance; is it still the lock?
    if (readQuiet(path) !== dead) return false;
    renameSync(tmp, path);
    return true;
  } finally {
    tryUnlink(claim);
  }
}
