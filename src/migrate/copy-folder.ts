// Copies one old folder's new messages into its target folder, exactly once.
//
// Protocol per batch (DESIGN.md "Migration rules"):
//   1. fetch the batch's sources from the old server (EXAMINE, BODY.PEEK[]: read-only)
//   2. persist the intent: old UIDs + the target's UIDNEXT/UIDVALIDITY before the APPEND
//   3. MULTIAPPEND into the SELECTed target folder
//   4. persist the commit: watermark = highest UID, intent cleared
// A crash between 2 and 4 leaves an intent; the next run matches the intent's messages
// against what the target got at or above that UIDNEXT (by fingerprint) and appends only
// what is missing. A UIDVALIDITY change matches the whole folder the same way.
import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { ImapFlow } from "imapflow";
import { crashPoint } from "../crash-points.ts";
import { AutomigrateError, errorText } from "../errors.ts";
import type { AppendMessage, ImapAppender } from "../imap/appender.ts";
import { formatUidSet } from "../imap/wire.ts";
import type { AccountStateStore, PendingBatch } from "../store/account-state.ts";
import { alreadyPresent, fingerprint, planBatches, uidWindows, type Batch, type BatchLimits } from "./batches.ts";
import type { PlannedFolder } from "./folder-plan.ts";
import { noteTransientBytes } from "./memory.ts";

export type ProgressEvent =
  | { type: "folder"; folder: string; target: string; messages: number; bytes: number }
  | { type: "copied"; folder: string; messages: number; bytes: number };

export interface CopyContext {
  user: string;
  old: ImapFlow;
  appender: ImapAppender;
  /** A reading connection to the target, opened only when fingerprints must be compared. */
  targetReader: () => Promise<ImapFlow>;
  state: AccountStateStore;
  limits: BatchLimits;
  spoolDir: string;
  onProgress?: (e: ProgressEvent) => void;
  signal?: AbortSignal;
}

export interface SkippedMessage {
  folder: string;
  uid: number;
  reason: string;
}

export interface FolderOutcome {
  folder: string;
  target: string;
  messages: number;
  bytes: number;
  skipped: SkippedMessage[];
}

const META_WINDOW = 5000;
const SPOOL_CHUNK = 1024 * 1024;

type Fetched = Map<number, AppendMessage & { size: number }>;

export async function copyFolder(ctx: CopyContext, pf: PlannedFolder): Promise<FolderOutcome> {
  const outcome: FolderOutcome = { folder: pf.old, target: pf.target, messages: 0, bytes: 0, skipped: [] };
  const box = await ctx.old.mailboxOpen(pf.old, { readOnly: true });
  const uidValidity = Number(box.uidValidity);
  const uidNext = Number(box.uidNext) || 0;

  const known = ctx.state.folder(pf.old);
  const target = known?.target ?? pf.target;
  outcome.target = target;
  const selected = await ctx.appender.select(target);
  let targetUidNext = selected.uidNext ?? 1;
  const targetUidValidity = selected.uidValidity ?? 0;

  if (!known) {
    // No record of this folder: if the target folder already holds mail (state lost, or the
    // user's new mail), match by fingerprint before copying rather than risk duplicates.
    await ctx.state.update((s) => {
      s.folders[pf.old] = { target, uidValidity, lastUid: 0, reconcile: (selected.exists ?? 0) > 0, skipped: [], messages: 0, bytes: 0 };
    });
  } else if (known.uidValidity !== uidValidity) {
    await ctx.state.updateFolder(pf.old, (f) => {
      f.uidValidity = uidValidity;
      f.lastUid = 0;
      f.reconcile = true;
      f.pending = undefined;
      f.skipped = [];
    });
  }
  const fs = () => ctx.state.folder(pf.old)!;

  const fetchBatch = async (batch: Batch): Promise<Fetched> => (batch.large ? spoolLarge(ctx, batch.uids[0]!) : fetchSources(ctx.old, batch.uids));

  /** Appends what is fetched, under a persisted intent, and commits the watermark. */
  const appendAndCommit = async (uids: number[], fetched: Fetched, intent?: PendingBatch) => {
    const order = uids.filter((u) => fetched.has(u)); // a message expunged meanwhile is simply gone
    const messages = order.map((u) => fetched.get(u)!);
    const skipped: { uid: number; reason: string }[] = [];
    let copiedBytes = 0;
    if (messages.length) {
      if (!intent) {
        await ctx.state.updateFolder(pf.old, (f) => {
          f.pending = { uids, targetUidNext, targetUidValidity };
        });
        crashPoint("intent-written");
      }
      let result = await ctx.appender.appendBatch(target, messages);
      crashPoint("appended");
      if (result.ok) {
        copiedBytes = messages.reduce((n, m) => n + m.size, 0);
      } else {
        // MULTIAPPEND is all-or-nothing: find the refused message(s) one by one.
        const each = messages.length > 1 ? await ctx.appender.appendEach(target, messages) : [result];
        each.forEach((r, i) => {
          if (r.ok) copiedBytes += messages[i]!.size;
          else skipped.push({ uid: order[i]!, reason: `the new server refused it: ${r.reason}` });
        });
        result = { ok: true, uids: each.flatMap((r) => (r.ok ? r.uids : [])) };
      }
      if (result.ok && result.uids.length) targetUidNext = Math.max(targetUidNext, ...result.uids) + 1;
    }
    const copied = messages.length - skipped.length;
    const max = Math.max(0, ...uids);
    await ctx.state.updateFolder(pf.old, (f) => {
      f.lastUid = Math.max(f.lastUid, max);
      f.pending = undefined;
      f.skipped = [...f.skipped.filter((s) => !uids.includes(s.uid)), ...skipped];
      f.messages += copied;
      f.bytes += copiedBytes;
    });
    crashPoint("committed");
    outcome.messages += copied;
    outcome.bytes += copiedBytes;
    outcome.skipped.push(...skipped.map((s) => ({ folder: pf.old, ...s })));
    ctx.onProgress?.({ type: "copied", folder: pf.old, messages: copied + skipped.length, bytes: copiedBytes });
  };

  // 1. A batch that was in flight when the last run died.
  const pending = fs().pending;
  if (pending) {
    const range = pending.targetUidValidity === targetUidValidity ? `${pending.targetUidNext}:*` : "1:*";
    const present = await presentOnTarget(ctx, target, pending.uids, range, pending.targetUidNext);
    const missing = pending.uids.filter((u) => !present.has(u));
    await appendAndCommit(pending.uids, missing.length ? await fetchAll(ctx, missing) : new Map(), pending);
    // present ones count as migrated (they were, by the run that died)
    await ctx.state.updateFolder(pf.old, (f) => {
      f.messages += present.size;
    });
  }

  // 2. Messages the target refused last time: the admin may have fixed the cause.
  const retry = fs().skipped.map((s) => s.uid);
  if (retry.length) await appendAndCommit(retry, await fetchAll(ctx, retry));

  // 3. After a UIDVALIDITY change or lost state: what is already there, by fingerprint.
  let present = new Set<number>();
  if (fs().reconcile) present = await presentOnTarget(ctx, target, "all", "1:*", 1);

  // 4. Everything new, window by window, fetching batch n+1 while batch n is appended.
  const windows = uidWindows(fs().lastUid + 1, uidNext, META_WINDOW);
  const plans: { lo: number; hi: number; batches: Batch[] }[] = [];
  let total = 0;
  let totalBytes = 0;
  for (const [lo, hi] of windows) {
    const metas: { uid: number; size: number }[] = [];
    for await (const m of ctx.old.fetch(`${lo}:${hi}`, { uid: true, size: true }, { uid: true })) {
      if (m.uid >= lo && m.uid <= hi && !present.has(m.uid)) metas.push({ uid: m.uid, size: m.size ?? 0 });
    }
    total += metas.length;
    totalBytes += metas.reduce((n, m) => n + m.size, 0);
    plans.push({ lo, hi, batches: planBatches(metas, ctx.limits) });
  }
  ctx.onProgress?.({ type: "folder", folder: pf.old, target, messages: total, bytes: totalBytes });

  for (const { hi, batches } of plans) {
    let next: Promise<Fetched> | undefined = batches[0] ? fetchBatch(batches[0]) : undefined;
    for (let i = 0; i < batches.length; i++) {
      const fetched = await next!;
      if (ctx.signal?.aborted) {
        cleanupSpool(fetched);
        next?.then(cleanupSpool, () => {});
        throw new AutomigrateError("stopped at a safe point (shutdown)", { user: ctx.user, folder: pf.old }, { transient: true });
      }
      next = batches[i + 1] ? fetchBatch(batches[i + 1]!) : undefined;
      try {
        await appendAndCommit(batches[i]!.uids, fetched);
      } finally {
        cleanupSpool(fetched);
      }
    }
    if (hi > fs().lastUid) {
      await ctx.state.updateFolder(pf.old, (f) => {
        f.lastUid = Math.max(f.lastUid, hi);
      });
    }
  }
  if (fs().reconcile) {
    await ctx.state.updateFolder(pf.old, (f) => {
      f.reconcile = false;
    });
  }
  return outcome;
}

async function fetchAll(ctx: CopyContext, uids: number[]): Promise<Fetched> {
  const all: Fetched = new Map();
  const sizes: { uid: number; size: number }[] = [];
  for await (const m of ctx.old.fetch(formatUidSet(uids), { uid: true, size: true }, { uid: true })) sizes.push({ uid: m.uid, size: m.size ?? 0 });
  for (const b of planBatches(sizes, ctx.limits)) {
    const part = b.large ? await spoolLarge(ctx, b.uids[0]!) : await fetchSources(ctx.old, b.uids);
    for (const [k, v] of part) all.set(k, v);
  }
  return all;
}

async function fetchSources(old: ImapFlow, uids: number[]): Promise<Fetched> {
  const out: Fetched = new Map();
  for await (const m of old.fetch(formatUidSet(uids), { uid: true, flags: true, internalDate: true, source: true }, { uid: true })) {
    if (!m.source) continue;
    out.set(m.uid, { content: m.source, size: m.source.length, flags: m.flags ?? new Set(), internalDate: asDate(m.internalDate) });
    noteTransientBytes(m.source.length);
  }
  return out;
}

function asDate(d: Date | string | undefined): Date {
  return d instanceof Date ? d : new Date(d ?? 0);
}

/** A large message, fetched in 1 MB partials into a 0600 spool file: memory stays flat. */
async function spoolLarge(ctx: CopyContext, uid: number): Promise<Fetched> {
  mkdirSync(ctx.spoolDir, { recursive: true, mode: 0o700 });
  const path = join(ctx.spoolDir, `${process.pid}-${Date.now()}-${uid}.eml`);
  const fd = openSync(path, "w", 0o600);
  let size = 0;
  let flags: Set<string> = new Set();
  let internalDate = new Date(0);
  try {
    for (;;) {
      const r = await ctx.old.fetchOne(
        String(uid),
        { uid: true, ...(size === 0 ? { flags: true, internalDate: true } : {}), source: { start: size, maxLength: SPOOL_CHUNK } },
        { uid: true },
      );
      if (!r) break;
      if (size === 0) {
        flags = r.flags ?? new Set();
        internalDate = asDate(r.internalDate);
      }
      const chunk = r.source ?? Buffer.alloc(0);
      if (chunk.length) writeSync(fd, chunk);
      size += chunk.length;
      noteTransientBytes(chunk.length);
      if (chunk.length < SPOOL_CHUNK) break;
    }
  } finally {
    closeSync(fd);
  }
  const out: Fetched = new Map();
  if (size > 0) out.set(uid, { content: { path, size }, size, flags, internalDate });
  else unlinkSync(path);
  return out;
}

function cleanupSpool(fetched: Fetched): void {
  for (const m of fetched.values()) {
    if (!Buffer.isBuffer(m.content)) {
      try {
        unlinkSync(m.content.path);
      } catch {}
    }
  }
}

/**
 * Which of the old messages (UIDs, or "all") already are in the target folder at `range`,
 * by fingerprint (size, INTERNALDATE, header hash), duplicates counted.
 */
async function presentOnTarget(ctx: CopyContext, target: string, uids: number[] | "all", range: string, minUid: number): Promise<Set<number>> {
  const reader = await ctx.targetReader();
  const targetFps: string[] = [];
  try {
    await reader.mailboxOpen(target, { readOnly: true });
    for await (const m of reader.fetch(range, { uid: true, size: true, internalDate: true, headers: true }, { uid: true })) {
      if (m.uid >= minUid && m.headers) targetFps.push(fingerprint(m.size ?? 0, asDate(m.internalDate), m.headers));
    }
  } catch (e) {
    throw new AutomigrateError(`cannot read the target folder to check for copies: ${errorText(e)}`, { user: ctx.user, folder: target }, { transient: true, cause: e });
  }
  if (targetFps.length === 0) return new Set();
  const candidates: { uid: number; fp: string }[] = [];
  const set = uids === "all" ? "1:*" : formatUidSet(uids);
  if (uids !== "all" && uids.length === 0) return new Set();
  for await (const m of ctx.old.fetch(set, { uid: true, size: true, internalDate: true, headers: true }, { uid: true })) {
    if (m.headers) candidates.push({ uid: m.uid, fp: fingerprint(m.size ?? 0, asDate(m.internalDate), m.headers) });
  }
  return alreadyPresent(candidates, targetFps);
}
