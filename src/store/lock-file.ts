// Exclusive lock files holding "<pid> <nonce> <host>". A fresh lock appears atomically (link() of
// a complete temp file: O_EXCL semantics). A lock whose holder died (kill -9) is taken over
// without a race: the taker must first create the claim file "<lock>.takeover-<nonce>" of
// that very lock instance (O_EXCL: one winner per dead lock), check the lock still is that
// instance, and then rename() its own lock over it. A slower taker of the same dead lock
// finds the claim taken or the lock changed and waits; two holders are never admitted.
// (flock(2) would be simpler but is reachable from Bun only through FFI, which needs a JIT
// that Dovecot's auth service memory limit disables.) A live holder is waited for up to
// `waitMs`, then the lock is refused with an error saying who holds it.
//
// Several mail nodes may share one home (NFS): a pid means nothing on another host, so a
// lock written on another host is never judged by its pid. Its holder keeps the file's mtime
// fresh (a heartbeat every quarter lease); a foreign lock not refreshed for a whole lease
// (the holder's host died) counts as dead. Locks without a host (older versions) are local.
import { createHash, randomBytes } from "node:crypto";
import { linkSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
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

const HOST = hostname();

/** Who holds a lock: its pid and host ("<pid> <nonce> <host>"; no host: this one). */
export function holderOf(content: string | undefined, here = HOST): { pid?: number; host: string } {
  const [p, , host] = content?.trim().split(/\s+/) ?? [];
  const pid = Number(p);
  return { pid: Number.isInteger(pid) && pid > 0 ? pid : undefined, host: host || here };
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Whether the holder of a lock (or claim) file is gone: on this host by its pid, on another
 * host by a heartbeat older than the lease.
 */
export function holderGone(h: { pid?: number; host: string }, age: number, leaseMs: number, here = HOST, alive = pidAlive): boolean {
  if (h.host !== here) return age > leaseMs;
  return h.pid === undefined || (h.pid !== process.pid && !alive(h.pid));
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
  /** A lock from another host not refreshed for this long is dead (default TIMEOUTS.lockLeaseMs). */
  leaseMs?: number;
}

export function acquireLock(path: string, opts: LockOptions): () => void {
  ensureDir(dirname(path));
  const deadline = Date.now() + opts.waitMs;
  const leaseMs = opts.leaseMs ?? TIMEOUTS.lockLeaseMs;
  const mine = `${process.pid} ${randomBytes(12).toString("hex")} ${HOST}`;
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}`;
  writeFileSync(tmp, mine, { mode: 0o600 });
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const held = () => {
    // the heartbeat: other hosts see the holder alive while the mtime is fresh
    heartbeat = setInterval(() => {
      if (readQuiet(path) !== mine) return clearInterval(heartbeat);
      try {
        const now = new Date();
        utimesSync(path, now, now);
      } catch {}
    }, Math.max(50, leaseMs / 4));
    heartbeat.unref?.();
    return release;
  };
  const release = () => {
    clearInterval(heartbeat);
    // only our own lock: a live holder's lock is never replaced, so this cannot race
    if (readQuiet(path) === mine) tryUnlink(path);
  };
  try {
    for (;;) {
      try {
        linkSync(tmp, path);
        return held();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const current = readQuiet(path);
      if (current === undefined) continue; // released meanwhile
      const holder = holderOf(current);
      if (holderGone(holder, ageMs(path), leaseMs)) {
        if (takeOver(path, current, tmp, leaseMs)) return held();
        continue;
      }
      if (Date.now() >= deadline) {
        const who = `pid ${holder.pid ?? "?"}${holder.host !== HOST ? ` on ${holder.host}` : ""}`;
        throw new AutomigrateError(`${opts.what} is locked by another automigrate process (${who})`, {
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
function takeOver(path: string, dead: string, tmp: string, leaseMs: number): boolean {
  const claim = `${path}.takeover-${createHash("sha256").update(dead).digest("hex").slice(0, 24)}`;
  try {
    writeFileSync(claim, readFileSync(tmp, "utf8"), { flag: "wx", mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    const age = ageMs(claim);
    if (age > STALE_CLAIM_MS && holderGone(holderOf(readQuiet(claim)), age, leaseMs)) tryUnlink(claim);
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
