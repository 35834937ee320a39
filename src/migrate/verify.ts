// `automigrate verify <user>`: the old and the new mailbox compared folder by folder through
// the persisted plan (old folder → its recorded target). Counts by default: the old folder's
// messages up to the watermark, less those skipped with a reason, must all be on the target.
// With `deep`, every message's bytes are hashed on both sides (streamed: one message in
// memory at a time, hashes kept) and compared as multisets: missing (on the old side, not on
// the new), extra (on the new side only: the user's new mail, informational), and altered
// (the same bytes with another INTERNALDATE). Flags are not compared: users change them.
import { canonicalUser } from "../address.ts";
import { createHash } from "node:crypto";
import type { Config } from "../config/schema.ts";
import { AutomigrateError, classify, type ErrorCode } from "../errors.ts";

import type { FolderReader, MailOpener } from "../mailstore/port.ts";
import { formatUidSet } from "../mailstore/uid-set.ts";
import { accountStatesOf } from "../storage/account-states.ts";
import { DEFAULT_LIMITS, literalLimit, planBatches } from "./batches.ts";
import { domainOf } from "../mailstore/endpoints.ts";

export interface FolderCheck {
  folder: string;
  target: string;
  /** Old messages up to the watermark. */
  old: number;
  skipped: number;
  /** Messages in the target folder (all of them, the user's new mail included). */
  onTarget: number;
  /** Old messages (not skipped) that are not on the target. */
  missing: number;
  /** Messages the old folder received after the last run's watermark: the next pass copies them (not missing). */
  newSince: number;
  /** Deep only: target messages that are not among the old ones. */
  extra?: number;
  /** Deep only: same bytes, another INTERNALDATE. */
  altered?: number;
  /** Deep only: up to 5 old UIDs of missing messages. */
  missingUids?: number[];
  /** Reported by the migration: the new server stored these otherwise than sent. */
  alteredOnAppend: number;
  /** The folder could not be read on one side (deleted, renamed by the user...). */
  error?: string;
  /** Its code (SERVER: the server refused; CONNECT: the connection dropped). */
  errorCode?: ErrorCode;
  exact: boolean;
}

export interface VerifyReport {
  user: string;
  deep: boolean;
  exact: boolean;
  folders: FolderCheck[];
}

/** Multiset comparison of digests "sha256|internalDate" (pure). */
export function compareDigests(old: { uid: number; sha: string; date: number }[], target: { sha: string; date: number }[], skipped: Set<number>) {
  const bySha = new Map<string, number[]>();
  for (const t of target) {
    const dates = bySha.get(t.sha);
    if (dates) dates.push(t.date);
    else bySha.set(t.sha, [t.date]);
  }
  let missing = 0;
  let altered = 0;
  const missingUids: number[] = [];
  for (const o of old) {
    const dates = bySha.get(o.sha);
    if (!dates?.length) {
      if (skipped.has(o.uid)) continue;
      missing++;
      if (missingUids.length < 5) missingUids.push(o.uid);
      continue;
    }
    const i = dates.indexOf(o.date);
    if (i >= 0) dates.splice(i, 1);
    else {
      dates.shift();
      altered++;
    }
  }
  let extra = 0;
  for (const d of bySha.values()) extra += d.length;
  return { missing, altered, extra, missingUids };
}

/** Every message's digest in `range`, read in batches as the copy reads them (bounded memory). */
async function digests(c: FolderReader, range: string): Promise<{ uid: number; sha: string; date: number }[]> {
  const out: { uid: number; sha: string; date: number }[] = [];
  const sizes = [];
  for await (const m of c.metadata(range)) sizes.push(m);
  for (const b of planBatches(sizes, DEFAULT_LIMITS)) {
    const batch = await c.bodies(formatUidSet(b.uids), { maxLiteralBytes: literalLimit(b.largest, Number.MAX_SAFE_INTEGER), expectedBytes: b.bytes });
    try {
      for (const m of batch.messages) {
        if (m.source) out.push({ uid: m.uid, sha: createHash("sha256").update(m.source).digest("hex"), date: m.internalDate.getTime() });
      }
    } finally {
      batch.release();
    }
  }
  return out;
}

/** INBOX first, then the folders by name (pure). */
export function folderOrder(a: string, b: string): number {
  const inbox = (f: string) => (f.toUpperCase() === "INBOX" ? 0 : 1);
  return inbox(a) - inbox(b) || (a < b ? -1 : a > b ? 1 : 0);
}

export async function verifyUser(home: string, config: Config, user: string, opener: MailOpener, opts: { deep?: boolean } = {}): Promise<VerifyReport> {
  const u = canonicalUser(user);
  domainOf(config, u); // a domain that is not configured (or has no old server) is said first
  const state = await accountStatesOf(home).open(u);
  // a stable order whatever order parallel copies recorded them in: INBOX first, then by name
  const folders = Object.entries(state.data.folders).sort(([a], [b]) => folderOrder(a, b));
  if (!folders.length) throw new AutomigrateError(`${u} has no migration state: nothing to verify yet`, { user: u, hint: `migrate first: automigrate migrate ${u}` }, { exitCode: 1, code: "NO_MAILBOX" });
  const old = await opener.oldReader();
  let target: FolderReader | undefined;
  try {
    target = await opener.targetReader();
    const checks: FolderCheck[] = [];
    for (const [folder, f] of folders) {
      const skipped = new Set(f.skipped.map((s) => s.uid));
      const check: FolderCheck = { folder, target: f.target, old: 0, skipped: f.skipped.length, onTarget: 0, missing: 0, newSince: 0, alteredOnAppend: f.altered.length, exact: false };
      let t;
      try {
        await old.examine(folder);
        t = await target.examine(f.target);
      } catch (e) {
        check.error = `cannot open ${(e as Error).message}`;
        check.errorCode = classify(e).code;
        checks.push(check);
        continue;
      }
      check.onTarget = t.exists;
      // what reached the old folder after the watermark: new since the last run, not missing
      // ("n:*" names the last message even below n: only UIDs above the watermark count)
      check.newSince = (await old.search(`${f.lastUid + 1}:*`)).filter((uid) => uid > f.lastUid).length;
      if (f.lastUid > 0) {
        if (opts.deep) {
          const o = await digests(old, `1:${f.lastUid}`);
          const n = t.exists ? await digests(target, "1:*") : [];
          check.old = o.length;
          Object.assign(check, compareDigests(o, n, skipped));
        } else {
          const found = await old.search(`1:${f.lastUid}`);
          check.old = found.length;
          const notSkipped = check.old - found.filter((x) => skipped.has(x)).length;
          check.missing = Math.max(0, notSkipped - check.onTarget);
        }
      }
      check.exact = check.missing === 0 && (check.altered ?? 0) === 0 && check.alteredOnAppend === 0;
      checks.push(check);
    }
    const report = { user: u, deep: Boolean(opts.deep), exact: checks.every((c) => c.exact), folders: checks };
    // remembered for status and the console ("verified ... at ...")
    await state.update((s) => {
      s.verified = { at: new Date().toISOString(), deep: report.deep, exact: report.exact, missing: checks.reduce((n, c) => n + c.missing, 0) };
    });
    return report;
  } finally {
    await old.close();
    await target?.close();
    state.close();
  }
}

export function formatVerify(r: VerifyReport): string {
  const lines = [`${r.user}: ${r.exact ? "EXACT" : "DIFFERENCES"} (${r.deep ? "every message's bytes and date compared" : "counts; --deep compares every message"})`];
  for (const c of r.folders) {
    const parts = [`${c.old} old`, ...(c.skipped ? [`${c.skipped} skipped with a reason`] : []), `${c.onTarget} on the new server`, `${c.missing} missing`];
    if (c.newSince) parts.push(`${c.newSince} new on the old server since the last run (the next pass copies them)`);
    if (c.extra !== undefined) parts.push(`${c.extra} only on the new server`);
    if (c.altered) parts.push(`${c.altered} with another date`);
    if (c.alteredOnAppend) parts.push(`${c.alteredOnAppend} altered by the new server on APPEND`);
    if (c.missingUids?.length) parts.push(`missing old UIDs ${c.missingUids.join(", ")}${c.missing > c.missingUids.length ? ", ..." : ""}`);
    lines.push(`  ${c.exact ? "ok  " : "DIFF"} ${c.folder} → ${c.target}: ${c.error ?? parts.join(", ")}`);
  }
  return lines.join("\n");
}
