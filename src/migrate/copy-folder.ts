// Copies one old folder's new messages into its target folder, exactly once.
//
// Protocol per batch (DESIGN.md "Migration rules"):
//   1. fetch the batch's sources from the old server (EXAMINE, BODY.PEEK[]: read-only)
//   2. persist the intent: old UIDs + the target's UIDNEXT/UIDVALIDITY before the APPEND
//   3. MULTIAPPEND into the SELECTed target folder
//   4. persist the commit: watermark = highest UID, intent cleared — or, in the same write,
//      replaced by the next batch's intent, which then stands for step 2 of that batch when
//      its APPEND follows within TIMEOUTS.intentReuseMs (one state write per batch)
// A crash between 2 and 4 leaves an intent; the next run matches the intent's messages
// against what the target got at or above that UIDNEXT (by fingerprint) and appends only
// what is missing. A UIDVALIDITY change matches the whole folder the same way.
import { closeSync, mkdirSync, openSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { crashPoint } from "../crash-points.ts";
import { AutomigrateError, classify, errorText } from "../errors.ts";
import type { AppendMessage, FolderReader, MailWriter, OpenedFolder, ReadLimits, StreamedMessage } from "../mailstore/port.ts";
import type { ErrorCode } from "../errors.ts";
import { formatUidSet } from "../mailstore/uid-set.ts";
import type { PendingBatch } from "../store/account-state.ts";
import type { AccountDocument } from "../storage/account-states.ts";
import { alreadyPresent, fingerprint, fetchHorizon, literalLimit, planBatches, uidWindows, type Batch, type BatchLimits } from "./batches.ts";
import type { PlannedFolder } from "./folder-plan.ts";
import { checkStored, headerDigest, type SentMessage } from "./stored-check.ts";
import { untilLateCommitSettled } from "./late-commit.ts";
import { TIMEOUTS } from "../timeouts.ts";

export type ProgressEvent =
  | { type: "folder"; folder: string; target: string; messages: number; bytes: number }
  | { type: "copied"; folder: string; messages: number; bytes: number };

export interface CopyContext {
  user: string;
  old: FolderReader;
  appender: MailWriter;
  /** A reading connection to the target, opened only when fingerprints must be compared. */
  targetReader: () => Promise<FolderReader>;
  /** How long the new server may still commit a dead run's APPEND (MailOpener.lateCommitMs). */
  lateCommitMs?: number;
  /** A fresh connection to the old server after it dropped one (the worker's, replaced). */
  reopenOld?: () => Promise<FolderReader>;
  state: AccountDocument;
  limits: BatchLimits;
  spoolDir: string;
  onProgress?: (e: ProgressEvent) => void;
  signal?: AbortSignal;
  /** migration.maxMessageBytes: larger messages are skipped (TOO_LARGE), larger literals refused (OVERSIZED). */
  maxMessageBytes?: number;
  /** Messages this run itself put into a target folder that was empty (a notice): not a reason to match by fingerprint. */
  ownOnTarget?: ReadonlyMap<string, number>;
}

export interface SkippedMessage {
  folder: string;
  uid: number;
  reason: string;
  /** Why, as a stable code (reports and metrics group by it). */
  code?: ErrorCode;
}

/** What a skip is recorded as: the code and the reason in words. */
type Skip = { uid: number; reason: string; code: ErrorCode };

export const DEFAULT_MAX_MESSAGE_BYTES = 200 * 1024 * 1024;

export interface FolderOutcome {
  folder: string;
  target: string;
  messages: number;
  bytes: number;
  skipped: SkippedMessage[];
}

export function newOutcome(pf: PlannedFolder): FolderOutcome {
  return { folder: pf.old, target: pf.target, messages: 0, bytes: 0, skipped: [] };
}

const META_WINDOW = 5000;

type FetchedMessage = AppendMessage & { size: number };
/**
 * What a FETCH brought: messages with their bytes, UIDs the server answered without a body,
 * and UIDs whose FETCH made the server drop the connection every time (an unreadable message).
 * Its messages' bytes are the reader's until `dispose` gives them back (after the append).
 */
interface Fetched {
  messages: Map<number, FetchedMessage>;
  noBody: number[];
  unreadable: number[];
  /** Not fetched or refused as announced: too large, or announced larger than it is. */
  refused: Skip[];
  /** Gives the read buffers back to their reader. */
  releases: (() => void)[];
}
const emptyFetched = (): Fetched => ({ messages: new Map(), noBody: [], unreadable: [], refused: [], releases: [] });

/** One Fetched from several (a batch read message by message); the parts are not to be disposed on their own. */
function merge(into: Fetched, part: Fetched): void {
  for (const [u, m] of part.messages) into.messages.set(u, m);
  into.noBody.push(...part.noBody);
  into.unreadable.push(...part.unreadable);
  into.refused.push(...part.refused);
  into.releases.push(...part.releases);
}

/**
 * Copies the folder's new messages. `outcome` is filled as batches commit, so a caller whose
 * copy failed half-way still reports what landed.
 */
export async function copyFolder(ctx: CopyContext, pf: PlannedFolder, outcome: FolderOutcome = newOutcome(pf)): Promise<FolderOutcome> {
  const box = await ctx.old.examine(pf.old);
  const { uidValidity, uidNext } = await oldFolderIds(ctx, pf.old, box);

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
      s.folders[pf.old] = { target, uidValidity, lastUid: 0, reconcile: (selected.exists ?? 0) > (ctx.ownOnTarget?.get(target) ?? 0), skipped: [], messages: 0, bytes: 0, altered: [] };
    });
  } else if (known.uidValidity !== uidValidity) {
    await ctx.state.updateFolder(pf.old, (f) => {
      f.uidValidity = uidValidity;
      f.lastUid = 0;
      f.reconcile = true;
      f.pending = undefined;
      f.skipped = [];
      f.altered = [];
      // the counts describe the old UIDVALIDITY's messages: start again
      f.messages = 0;
      f.bytes = 0;
    });
  }
  const fs = () => ctx.state.folder(pf.old)!;
  const maxBytes = ctx.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  /** RFC822.SIZE of the messages met so far (what each FETCH literal may be). */
  const sizes = new Map<number, number>();
  const noteSizes = (metas: { uid: number; size: number }[]) => {
    for (const m of metas) sizes.set(m.uid, m.size);
    return metas;
  };
  /** A batch's messages: too large ones set aside unfetched, the others with their literals bounded by their sizes. */
  const fetchSome = async (uids: number[], large: boolean): Promise<Fetched> => {
    const tooLarge = uids.filter((u) => (sizes.get(u) ?? 0) > maxBytes);
    const rest = uids.filter((u) => !tooLarge.includes(u));
    const out = rest.length === 0 ? emptyFetched() : large ? await spoolLarge(ctx, rest[0]!, readLimits(rest)) : await fetchSources(ctx.old, rest, readLimits(rest));
    for (const uid of tooLarge) out.refused.push({ uid, code: "TOO_LARGE", reason: `${sizes.get(uid)} bytes, more than migration.maxMessageBytes (${maxBytes}): not fetched (raise the setting to copy it)` });
    return out;
  };
  const readLimits = (uids: number[]) => {
    const largest = Math.max(0, ...uids.map((u) => sizes.get(u) ?? 0));
    return { maxLiteralBytes: literalLimit(largest || maxBytes, maxBytes), expectedBytes: uids.reduce((n, u) => n + (sizes.get(u) ?? 0), 0) };
  };

  // what was appended, read back window by window (sizes; 8-bit headers byte for byte)
  let sent: SentMessage[] = [];
  const noteSent = (oldUid: number, targetUid: number | undefined, m: FetchedMessage) => {
    if (targetUid) sent.push({ oldUid, targetUid, size: m.size, header8bit: Buffer.isBuffer(m.content) ? headerDigest(m.content) : undefined });
  };
  const checkSent = async () => {
    if (!sent.length) return;
    const altered = await checkStored(await ctx.targetReader(), target, sent);
    sent = [];
    if (altered.length) {
      await ctx.state.updateFolder(pf.old, (f) => {
        const uids = new Set(altered.map((a) => a.uid));
        f.altered = [...f.altered.filter((a) => !uids.has(a.uid)), ...altered];
      });
    }
  };

  /**
   * A batch's bodies. When the old server drops the connection while sending them (Dovecot
   * does when a message file cannot be read), the batch is fetched again message by message on
   * fresh connections: the messages that drop it every time are set aside as unreadable and
   * the others are copied, instead of the whole folder failing on every run.
   */
  const fetchBatch = async (batch: Batch): Promise<Fetched> => {
    try {
      return await fetchSome(batch.uids, batch.large);
    } catch (e) {
      if (!ctx.reopenOld || !(droppedConnection(e) || oversized(e))) throw e;
      return isolateUnreadable(batch);
    }
  };
  const reopen = async () => {
    ctx.old = await ctx.reopenOld!();
    await ctx.old.examine(pf.old);
  };
  const isolateUnreadable = async (batch: Batch): Promise<Fetched> => {
    const out = emptyFetched();
    try {
      await reopen();
      for (const uid of batch.uids) {
        // a message is unreadable when fetching it alone drops the connection twice running;
        // one drop may be the network's
        for (let attempt = 1; ; attempt++) {
          try {
            merge(out, await fetchSome([uid], batch.large));
            break;
          } catch (e) {
            if (oversized(e)) {
              // refused as announced: this message, on this server, never fits; the others go on
              out.refused.push({ uid, code: "OVERSIZED", reason: `${errorText(e)} (its RFC822.SIZE is ${sizes.get(uid) ?? "unknown"})` });
              await reopen();
              break;
            }
            if (!droppedConnection(e)) throw e;
            await reopen();
            if (attempt === 2) {
              out.unreadable.push(uid);
              break;
            }
          }
        }
      }
    } catch (e) {
      // a server gone for good, or another failure: no spool file of this batch stays behind
      dispose(out);
      throw e;
    }
    return out;
  };

  // the intent that the last commit wrote for the batch after it (see nextIntent below)
  let prewritten: PendingBatch | undefined;
  /**
   * Appends what is fetched, under a persisted intent, and commits the watermark for `uids`.
   * `intent`: a crashed run's, found in the state. `asked`: the UIDs that were fetched (all of
   * `uids`, except after a crash, where the ones already on the target are not fetched again).
   * `next`: the next batch's UIDs, whose intent the commit writes.
   */
  const appendAndCommit = async (uids: number[], fetched: Fetched, opts: { intent?: PendingBatch; asked?: number[]; alreadyThere?: number; next?: number[] } = {}) => {
    const { intent, asked = uids, alreadyThere = 0, next } = opts;
    const ready = prewritten;
    prewritten = undefined;
    const order = uids.filter((u) => fetched.messages.has(u));
    const messages = order.map((u) => fetched.messages.get(u)!);
    const skipped: Skip[] = [
      ...fetched.noBody.map((uid) => ({
        uid,
        code: "NO_BODY" as const,
        reason: "the old server answered FETCH without the message's body (rerun to retry; if it persists, check the message on the old server)",
      })),
      ...fetched.unreadable.map((uid) => ({
        uid,
        code: "UNREADABLE" as const,
        reason: "the old server drops the connection whenever this message is fetched: it cannot read it (on Dovecot its log names the file and the error); fix it there, the next run retries it",
      })),
      ...fetched.refused,
    ];
    // A UID the server did not return at all was expunged meanwhile, unless it is still listed
    const absent = asked.filter((u) => !fetched.messages.has(u) && !fetched.noBody.includes(u) && !fetched.unreadable.includes(u) && !fetched.refused.some((r) => r.uid === u));
    for (const uid of absent.length ? await stillListed(ctx.old, absent) : []) {
      skipped.push({ uid, code: "NOT_RETURNED", reason: "the old server did not return it in FETCH although it still lists it (rerun to retry)" });
    }
    let copiedBytes = 0;
    let refused = 0;
    if (messages.length) {
      if (!intent) {
        // written with the last batch's commit, moments ago (checked now, just before the
        // APPEND): it is on disk already
        if (!ready || !intentStillFits(ready, uids, Date.now())) {
          await ctx.state.updateFolder(pf.old, (f) => {
            f.pending = { uids, targetUidNext, targetUidValidity, at: Date.now() };
          });
        }
        crashPoint("intent-written");
      }
      let result = await ctx.appender.appendBatch(target, messages);
      crashPoint("appended");
      if (result.ok) {
        copiedBytes = messages.reduce((n, m) => n + m.size, 0);
        if (result.uids.length === messages.length) messages.forEach((m, i) => noteSent(order[i]!, result.ok ? result.uids[i] : undefined, m));
      } else {
        // MULTIAPPEND is all-or-nothing: find the refused message(s) one by one.
        const each = messages.length > 1 ? await ctx.appender.appendEach(target, messages) : [result];
        each.forEach((r, i) => {
          if (r.ok) {
            copiedBytes += messages[i]!.size;
            if (r.uids.length === 1) noteSent(order[i]!, r.uids[0], messages[i]!);
          } else {
            refused++;
            // a full mailbox (RFC 5530 OVERQUOTA) is the admin's to fix: its own code, retried by the next run like any skip
            skipped.push({ uid: order[i]!, code: r.responseCode === "OVERQUOTA" ? "QUOTA" : "REFUSED_BY_NEW_SERVER", reason: `the new server refused it: ${r.reason}` });
          }
        });
        result = { ok: true, uids: each.flatMap((r) => (r.ok ? r.uids : [])) };
      }
      if (result.ok && result.uids.length) targetUidNext = Math.max(targetUidNext, ...result.uids) + 1;
    }
    const copied = messages.length - refused;
    const max = Math.max(0, ...uids);
    // the next batch's intent goes in the same write: as if written the moment after it
    const nextIntent: PendingBatch | undefined = next?.length ? { uids: next, targetUidNext, targetUidValidity, at: Date.now() } : undefined;
    await ctx.state.updateFolder(pf.old, (f) => {
      f.lastUid = Math.max(f.lastUid, max);
      f.pending = nextIntent;
      f.skipped = [...f.skipped.filter((x) => !uids.includes(x.uid)), ...skipped];
      // with a crashed run's batch: those found on the target count in the same write (a crash
      // between two writes would lose them from the count, and DONE's check would fail)
      f.messages += copied + alreadyThere;
      f.bytes += copiedBytes;
    });
    prewritten = nextIntent;
    crashPoint("committed");
    outcome.messages += copied;
    outcome.bytes += copiedBytes;
    outcome.skipped.push(...skipped.map((x) => ({ folder: pf.old, ...x })));
    ctx.onProgress?.({ type: "copied", folder: pf.old, messages: copied + skipped.length, bytes: copiedBytes });
  };

  /**
   * Copies messages batch by batch, fetching ahead while batch n is appended (fetchHorizon:
   * one batch in memory and one spooled message at most): memory is bounded by two batches
   * whatever the number of messages (retries included).
   */
  const copyBatches = async (batches: Batch[]) => {
    // fetched or being fetched and not appended yet; each fetch starts when the one before it
    // has ended (one old connection)
    const ahead = new Map<number, Promise<Fetched>>();
    let last: Promise<unknown> = Promise.resolve();
    let started = 0;
    // the loop has ended (done, failed or stopped): a fetch waiting its turn does not begin
    let ended = false;
    const fetchUpTo = (end: number) => {
      for (; started < end; started++) {
        const batch = batches[started]!;
        const p = settled(last.then(() => (ended ? emptyFetched() : fetchBatch(batch))));
        ahead.set(started, p);
        last = p;
      }
    };
    try {
      fetchUpTo(Math.min(1, batches.length));
      for (let i = 0; i < batches.length; i++) {
        const fetched = await ahead.get(i)!;
        ahead.delete(i);
        try {
          if (ctx.signal?.aborted) {
            throw new AutomigrateError("stopped at a safe point (shutdown)", { user: ctx.user, folder: pf.old }, { transient: true, code: "STOPPED" });
          }
          fetchUpTo(fetchHorizon(batches, i));
          await appendAndCommit(batches[i]!.uids, fetched, { next: batches[i + 1]?.uids });
        } finally {
          dispose(fetched);
        }
      }
    } catch (e) {
      // stopped before the next batch's APPEND began: its intent is not left behind (the next
      // run would take the batch for one in flight and wait to look for it on the target)
      if (prewritten) await withdrawIntent(prewritten).catch(() => {});
      throw e;
    } finally {
      // fetches still running when the loop ends early: their spool files and buffers go too
      ended = true;
      for (const p of ahead.values()) p.then(dispose, () => {});
    }
  };

  const withdrawIntent = async (p: PendingBatch) => {
    prewritten = undefined;
    await ctx.state.updateFolder(pf.old, (f) => {
      if (f.pending && f.pending.at === p.at && sameUids(f.pending.uids, p.uids)) f.pending = undefined;
    });
  };

  // what earlier runs skipped, as this run found it (a message the recovery below skips is
  // not tried a second time in the same run)
  const skippedBefore = fs().skipped.map((x) => x.uid);

  // 1. A batch that was in flight when the last run died.
  const pending = fs().pending;
  if (pending) {
    await untilLateCommitSettled(pending.at, ctx.lateCommitMs);
    const range = pending.targetUidValidity === targetUidValidity ? `${pending.targetUidNext}:*` : "1:*";
    const present = await presentOnTarget(ctx, target, pending.uids, range, pending.targetUidNext);
    const missing = pending.uids.filter((u) => !present.has(u));
    // the present ones count as migrated (they were, by the run that died)
    const fetched = missing.length ? await fetchAll(ctx, noteSizes(await sizesOf(ctx.old, missing)), fetchSome) : emptyFetched();
    try {
      await appendAndCommit(pending.uids, fetched, { intent: pending, asked: missing, alreadyThere: present.size });
    } finally {
      dispose(fetched);
    }
  }

  // 2. Messages skipped last time (refused by the new server, or not returned by the old
  //    one): the cause may be gone. Through the same batched, spooled path as new mail.
  const retry = skippedBefore.filter((u) => !pending?.uids.includes(u));
  if (retry.length) {
    const metas = noteSizes(await sizesOf(ctx.old, retry));
    const gone = retry.filter((u) => !metas.some((m) => m.uid === u));
    if (gone.length) {
      // expunged on the old server since: nothing left to copy
      await ctx.state.updateFolder(pf.old, (f) => {
        f.skipped = f.skipped.filter((x) => !gone.includes(x.uid));
      });
    }
    await copyBatches(planBatches(metas, ctx.limits));
  }

  // 3. After a UIDVALIDITY change or lost state: what is already there, by fingerprint.
  let present = new Set<number>();
  if (fs().reconcile) {
    present = await presentOnTarget(ctx, target, "all", "1:*", 1);
    // the old messages found on the target are the migrated ones so far
    await ctx.state.updateFolder(pf.old, (f) => {
      f.messages = present.size;
    });
  }

  // 4. Everything new, window by window.
  // what the old folder held before this pass's window: counted once when never recorded (a
  // first pass cut short, a state from an earlier version), else kept from the last pass
  let oldBytesBefore = fs().lastUid === 0 ? 0 : fs().oldBytes;
  if (oldBytesBefore === undefined) {
    oldBytesBefore = 0;
    for await (const m of ctx.old.metadata(`1:${fs().lastUid}`)) if (m.uid <= fs().lastUid) oldBytesBefore += m.size;
  }
  const windows = uidWindows(fs().lastUid + 1, uidNext, META_WINDOW);
  const plans: { lo: number; hi: number; batches: Batch[] }[] = [];
  let total = 0;
  let totalBytes = 0;
  /** The old messages' sizes read in this pass (those already on the target too): what the old folder holds, for reports. */
  let oldBytesSeen = 0;
  for (const [lo, hi] of windows) {
    const metas: { uid: number; size: number }[] = [];
    for await (const m of ctx.old.metadata(`${lo}:${hi}`)) {
      if (m.uid < lo || m.uid > hi) continue;
      oldBytesSeen += m.size;
      if (!present.has(m.uid)) metas.push({ uid: m.uid, size: m.size });
    }
    noteSizes(metas);
    total += metas.length;
    totalBytes += metas.reduce((n, m) => n + m.size, 0);
    plans.push({ lo, hi, batches: planBatches(metas, ctx.limits) });
  }
  ctx.onProgress?.({ type: "folder", folder: pf.old, target, messages: total, bytes: totalBytes });

  for (const { hi, batches } of plans) {
    await copyBatches(batches);
    await checkSent();
    if (hi > fs().lastUid) {
      await ctx.state.updateFolder(pf.old, (f) => {
        f.lastUid = Math.max(f.lastUid, hi);
      });
    }
  }
  // the first pass reads every message's size; later ones add what arrived since (a message
  // deleted on the old server later is not taken off: what the old server held as it was read)
  const oldBytes = oldBytesBefore + oldBytesSeen;
  if (fs().reconcile || fs().oldMessages !== box.exists || fs().oldBytes !== oldBytes) {
    await ctx.state.updateFolder(pf.old, (f) => {
      f.reconcile = false;
      // how many messages the old folder held at this pass (reports put it beside the copied count)
      f.oldMessages = box.exists;
      f.oldBytes = oldBytes;
    });
  }
  await checkSent();
  await checkAccounted(ctx, pf.old, fs());
  return outcome;
}

/** A promise whose rejection is handled where it is made (a prefetch nobody may await). */
function settled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/**
 * UIDVALIDITY and UIDNEXT of the EXAMINEd old folder. Not every server puts them in the
 * EXAMINE answer (Courier sends no [UIDNEXT]): then STATUS, then the highest UID + 1.
 * A missing UIDNEXT must never read as "nothing to copy".
 */
async function oldFolderIds(ctx: CopyContext, path: string, box: OpenedFolder): Promise<{ uidValidity: number; uidNext: number }> {
  let { uidValidity, uidNext } = box;
  if (uidNext === undefined || uidValidity === undefined) {
    const st = await ctx.old.status(path);
    uidValidity ??= st?.uidValidity;
    uidNext ??= st?.uidNext;
  }
  if (uidNext === undefined) {
    // the highest UID now: sequence number * is the last message
    const last = box.exists > 0 ? await ctx.old.lastUid() : undefined;
    uidNext = last ? last + 1 : 1;
    if (box.exists > 0 && !last) {
      throw new AutomigrateError("the old server gave no UIDNEXT and no highest UID for a folder that holds messages", { user: ctx.user, folder: path }, { code: "PROTOCOL" });
    }
  }
  if (uidValidity === undefined) {
    throw new AutomigrateError("the old server gave no UIDVALIDITY for the folder (RFC 3501 requires it): its UIDs cannot be trusted across runs", { user: ctx.user, folder: path }, { code: "PROTOCOL" });
  }
  return { uidValidity, uidNext };
}

/** UIDs of `uids` that the old folder still lists. */
async function stillListed(old: FolderReader, uids: number[]): Promise<number[]> {
  const set = new Set(await old.search(formatUidSet(uids)));
  return uids.filter((u) => set.has(u));
}

async function sizesOf(old: FolderReader, uids: number[]): Promise<{ uid: number; size: number }[]> {
  const sizes: { uid: number; size: number }[] = [];
  const wanted = new Set(uids);
  for await (const m of old.metadata(formatUidSet(uids))) if (wanted.has(m.uid)) sizes.push({ uid: m.uid, size: m.size });
  return sizes;
}

/** Fetches (a crashed run's batch) through the batch plan: large messages are spooled. */
async function fetchAll(ctx: CopyContext, metas: { uid: number; size: number }[], fetchSome: (uids: number[], large: boolean) => Promise<Fetched>): Promise<Fetched> {
  const all = emptyFetched();
  try {
    for (const b of planBatches(metas, ctx.limits)) merge(all, await fetchSome(b.uids, b.large));
  } catch (e) {
    dispose(all);
    throw e;
  }
  return all;
}

async function fetchSources(old: FolderReader, uids: number[], limits: ReadLimits): Promise<Fetched> {
  const out = emptyFetched();
  const wanted = new Set(uids);
  const batch = await old.bodies(formatUidSet(uids), limits);
  out.releases.push(batch.release);
  for (const m of batch.messages) {
    if (!wanted.has(m.uid)) continue;
    if (!m.source) {
      out.noBody.push(m.uid);
      continue;
    }
    out.messages.set(m.uid, { content: m.source, size: m.source.length, flags: m.flags, internalDate: m.internalDate });
  }
  return out;
}

/**
 * The invariant behind DONE: every message the old folder holds at or below the watermark
 * was migrated or skipped with a reason. (Fewer is fine: the old server expunged some since.)
 */
async function checkAccounted(ctx: CopyContext, folder: string, f: { lastUid: number; messages: number; skipped: unknown[] }): Promise<void> {
  if (f.lastUid === 0) return;
  const onOld = (await ctx.old.search(`1:${f.lastUid}`)).length;
  const accounted = f.messages + f.skipped.length;
  if (onOld > accounted) {
    throw new AutomigrateError(
      `not verified: the old folder holds ${onOld} messages up to UID ${f.lastUid}, but only ${f.messages} were migrated and ${f.skipped.length} skipped`,
      { user: ctx.user, folder, hint: "rerun the migration; if the counts still differ, run automigrate verify and report the output" },
      { code: "UNVERIFIED" },
    );
  }
}

/**
 * A large message, written into a 0600 spool file piece by piece as the old server sends it
 * (one FETCH: the server streams it whole while each piece is written): memory stays flat.
 */
async function spoolLarge(ctx: CopyContext, uid: number, limits: ReadLimits): Promise<Fetched> {
  mkdirSync(ctx.spoolDir, { recursive: true, mode: 0o700 });
  const path = join(ctx.spoolDir, `${process.pid}-${Date.now()}-${uid}.eml`);
  const fd = openSync(path, "w", 0o600);
  let written = 0;
  // a failed write (a full disk) stops the writing; the rest of the answer is read and
  // dropped, so that the connection stays usable, and the failure is thrown after it
  let writeFailure: unknown;
  let got: StreamedMessage | undefined;
  let complete = false;
  try {
    got = await ctx.old.streamBody(uid, (piece) => {
      if (writeFailure !== undefined) return;
      try {
        for (let at = 0; at < piece.length; ) at += writeSync(fd, piece, at, piece.length - at, written + at);
        written += piece.length;
      } catch (e) {
        writeFailure = e;
      }
    }, limits);
    if (writeFailure !== undefined) throw writeFailure;
    complete = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOSPC") {
      throw new AutomigrateError(`no space left to spool a large message (${written} bytes written so far) to ${path}`, {
        user: ctx.user,
        file: path,
        hint: `free space on the file system of ${ctx.spoolDir} (a message is spooled whole: it needs at least its size free); the spool file was removed`,
      }, { code: "NO_SPACE", transient: true, cause: e });
    }
    throw e;
  } finally {
    closeSync(fd);
    if (!complete) rmSync(path, { force: true });
  }
  const out = emptyFetched();
  if (got && written > 0) out.messages.set(uid, { content: { path, size: written }, size: written, flags: got.flags, internalDate: got.internalDate });
  else unlinkSync(path);
  return out;
}

/** The old server closed the connection under us (not a refusal, not a bug). */
function droppedConnection(e: unknown): boolean {
  return classify(e).code === "CONNECT";
}

/** A FETCH literal refused as announced: larger than the message said it was. */
function oversized(e: unknown): boolean {
  return classify(e).code === "OVERSIZED";
}

/** Done with a fetch: its spool files removed, its read buffers given back (their bytes may be reused at once). */
function dispose(fetched: Fetched): void {
  for (const m of fetched.messages.values()) {
    if (!Buffer.isBuffer(m.content)) {
      try {
        unlinkSync(m.content.path);
      } catch {}
    }
  }
  for (const release of fetched.releases.splice(0)) release();
}

/**
 * Which of the old messages (UIDs, or "all") already are in the target folder at `range`,
 * by fingerprint (size, INTERNALDATE, header hash), duplicates counted.
 */
async function presentOnTarget(ctx: CopyContext, target: string, uids: number[] | "all", range: string, minUid: number): Promise<Set<number>> {
  const reader = await ctx.targetReader();
  const targetFps: string[] = [];
  try {
    await reader.examine(target);
    for await (const m of reader.metadata(range, { date: true, headers: true })) {
      if (m.uid >= minUid && m.headers) targetFps.push(fingerprint(m.size, m.internalDate!, m.headers));
    }
  } catch (e) {
    throw new AutomigrateError(`cannot read the target folder to check for copies: ${errorText(e)}`, { user: ctx.user, folder: target }, { code: "SERVER", transient: true, cause: e });
  }
  if (targetFps.length === 0) return new Set();
  const candidates: { uid: number; fp: string }[] = [];
  const set = uids === "all" ? "1:*" : formatUidSet(uids);
  if (uids !== "all" && uids.length === 0) return new Set();
  for await (const m of ctx.old.metadata(set, { date: true, headers: true })) {
    if (m.headers) candidates.push({ uid: m.uid, fp: fingerprint(m.size, m.internalDate!, m.headers) });
  }
  return alreadyPresent(candidates, targetFps);
}

/**
 * Whether the intent that the last commit wrote may stand for the APPEND of `uids` now: the
 * same batch, written no longer than TIMEOUTS.intentReuseMs ago.
 */
export function intentStillFits(p: PendingBatch, uids: readonly number[], now: number): boolean {
  return p.at !== undefined && now - p.at <= TIMEOUTS.intentReuseMs && sameUids(p.uids, uids);
}

function sameUids(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((u, i) => u === b[i]);
}
