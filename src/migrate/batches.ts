// How a folder's new messages are cut into APPEND batches, and how already-copied
// messages are recognised after a crash or a UIDVALIDITY change. Pure functions.
import { createHash } from "node:crypto";

export interface BatchLimits {
  /** Messages per MULTIAPPEND. */
  maxMessages: number;
  /** Bytes per batch: bounds memory and bytes in flight. */
  maxBytes: number;
  /** Larger messages are spooled to disk and appended alone, never held in memory whole. */
  largeMessageBytes: number;
}

// 1,900 kB per batch: with its slack for miscounted sizes a batch fits a 2 MB read buffer
// (batch-buffers.ts), so with two folder workers each prefetching one batch while appending
// another, about 8 MB of message data is in memory at once. Batches of 4 MB (buffers of 3 to
// 5 MB) cost the 6,000-message copy about 6-8 MB more peak RSS for no speed (BENCHMARKS.md); most
// batches end at 100 messages anyway. A message above largeMessageBytes never sits in a batch.
export const DEFAULT_LIMITS: BatchLimits = { maxMessages: 100, maxBytes: 1900 * 1024, largeMessageBytes: 4 * 1024 * 1024 };

/** Batch limits with at most `bytes` a batch (at least 64 KB): a second of a bandwidth cap, a share of a daily allowance. */
export function capBatches(limits: BatchLimits, bytes: number): BatchLimits {
  return { ...limits, maxBytes: Math.max(64 * 1024, Math.min(limits.maxBytes, Math.floor(bytes))) };
}

export interface SizedUid {
  uid: number;
  size: number;
}

export interface Batch {
  uids: number[];
  bytes: number;
  /** Its largest message (RFC822.SIZE): what a FETCH literal of it may be. */
  largest: number;
  /** One message larger than largeMessageBytes: streamed through a spool file. */
  large: boolean;
}

/** Consecutive messages (ascending UID) grouped by count and bytes; large ones alone. */
export function planBatches(messages: SizedUid[], limits: BatchLimits): Batch[] {
  const batches: Batch[] = [];
  let current: Batch = { uids: [], bytes: 0, largest: 0, large: false };
  const flush = () => {
    if (current.uids.length) batches.push(current);
    current = { uids: [], bytes: 0, largest: 0, large: false };
  };
  for (const m of [...messages].sort((a, b) => a.uid - b.uid)) {
    if (m.size > limits.largeMessageBytes) {
      flush();
      batches.push({ uids: [m.uid], bytes: m.size, largest: m.size, large: true });
      continue;
    }
    if (current.uids.length >= limits.maxMessages || (current.uids.length > 0 && current.bytes + m.size > limits.maxBytes)) flush();
    current.uids.push(m.uid);
    current.bytes += m.size;
    current.largest = Math.max(current.largest, m.size);
  }
  flush();
  return batches;
}

/**
 * How far fetching may run ahead while batch `current` is appended: batches current..end-1
 * may be fetched (one after another on the folder's old connection). At most one batch of
 * each kind waits ahead, one held in memory and one spooled to disk, so memory stays bounded
 * by two batches and the spool by two messages; yet where large messages alternate with
 * small ones, the next large one is downloading while the one before it is appended.
 */
export function fetchHorizon(batches: readonly Pick<Batch, "large">[], current: number): number {
  let end = current + 1;
  const waiting = new Set<boolean>();
  while (end < batches.length && !waiting.has(batches[end]!.large)) waiting.add(batches[end++]!.large);
  return end;
}

/**
 * The largest FETCH literal accepted for a message announced at `expected` bytes
 * (RFC822.SIZE): room for servers whose size is approximate (twice it, or 1 MB more), never
 * more than migration.maxMessageBytes. A literal announced above it is refused as it is
 * announced: a hostile or broken server cannot make automigrate read 300 MB for a 353-byte
 * message.
 */
export function literalLimit(expected: number, maxMessageBytes: number): number {
  return Math.min(maxMessageBytes, Math.max(expected * 2, expected + 1024 * 1024));
}

/**
 * A message's identity across servers: its size, its INTERNALDATE (to the second) and a
 * hash of its header section. Two messages with equal fingerprints are copies of each other
 * for the purpose of not copying them twice; true duplicates are counted, not merged.
 */
export function fingerprint(size: number, internalDate: Date, header: Buffer | string): string {
  const h = createHash("sha256").update(header).digest("base64url").slice(0, 22);
  return `${size}:${Math.floor(internalDate.getTime() / 1000)}:${h}`;
}

/**
 * Which candidates (old messages) are already on the target. Multiset semantics: a
 * fingerprint seen twice on the target covers two candidates, in UID order, and no more.
 */
export function alreadyPresent(candidates: { uid: number; fp: string }[], targetFingerprints: Iterable<string>): Set<number> {
  const available = new Map<string, number>();
  for (const fp of targetFingerprints) available.set(fp, (available.get(fp) ?? 0) + 1);
  const present = new Set<number>();
  for (const c of [...candidates].sort((a, b) => a.uid - b.uid)) {
    const n = available.get(c.fp) ?? 0;
    if (n > 0) {
      present.add(c.uid);
      available.set(c.fp, n - 1);
    }
  }
  return present;
}

/** UID windows [from, to] of at most `size` UIDs covering from..uidNext-1. */
export function uidWindows(from: number, uidNext: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let lo = Math.max(1, from); lo < uidNext; lo += size) out.push([lo, Math.min(uidNext - 1, lo + size - 1)]);
  return out;
}

export interface FolderWatermark {
  uidValidity: number;
  lastUid: number;
  pending?: unknown;
  reconcile?: boolean;
  skipped: unknown[];
}

/**
 * Whether a folder can be left alone without opening it: same UIDVALIDITY, nothing at or
 * above the watermark (UIDNEXT - 1 <= lastUid), nothing in flight, skipped or to reconcile.
 * Unknown status (the server did not say) never counts as up to date.
 */
export function upToDate(state: FolderWatermark | undefined, status: { uidValidity?: number; uidNext?: number } | undefined): boolean {
  if (!state || !status || status.uidValidity === undefined || status.uidNext === undefined) return false;
  return state.uidValidity === status.uidValidity && status.uidNext - 1 <= state.lastUid && !state.pending && !state.reconcile && state.skipped.length === 0;
}

/**
 * At most how many messages a folder may have to copy: the UIDs from its watermark (or from 1
 * when its UIDVALIDITY changed or it was never copied) up to UIDNEXT - 1. Expunged UIDs count
 * too, so it is a bound, not a count. Undefined when the server did not say its UIDNEXT.
 */
export function uidsAhead(state: FolderWatermark | undefined, status: { uidValidity?: number; uidNext?: number } | undefined): number | undefined {
  if (status?.uidNext === undefined) return undefined;
  const from = state && state.uidValidity === status.uidValidity ? state.lastUid : 0;
  return Math.max(0, status.uidNext - 1 - from);
}

/**
 * The order folder workers take folders in: the most UIDs ahead first, so that the longest
 * copy starts first and the short ones fill in around it (a folder of 50,000 messages listed
 * last no longer starts after all the others). Stable: equal ones keep their order, and those
 * with no estimate come last in theirs.
 */
export function largestFirst<F>(folders: readonly F[], ahead: (f: F) => number | undefined): F[] {
  return folders
    .map((f, i) => ({ f, i, n: ahead(f) }))
    .sort((a, b) => (b.n ?? -1) - (a.n ?? -1) || a.i - b.i)
    .map((x) => x.f);
}
