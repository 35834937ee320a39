// Per-account migration state: one durable lowdb document per user under state/accounts,
// so no update ever rewrites other accounts. Holds each old folder's watermark
// (UIDVALIDITY + highest migrated UID), the batch in flight (for crash recovery),
// skipped messages and totals. Also a per-user run lock: two migrations of one user at
// the same time would copy messages twice.
import { canonicalUser } from "../address.ts";
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Low } from "lowdb";
import { z } from "zod";
import { anyKeyRecord } from "../own-record.ts";
import { RENAME_REASONS } from "../migrate/folder-plan.ts";
import type { ErrorCode } from "../errors.ts";
import { homePaths } from "../home.ts";
import { ensureDir, openDocument, readJsonFile } from "./json-file.ts";
import { acquireLock } from "./lock-file.ts";
import { TIMEOUTS } from "../timeouts.ts";

export const pendingBatchSchema = z.object({
  /** Old UIDs being appended. */
  uids: z.array(z.number().int().positive()),
  /** Target UIDNEXT and UIDVALIDITY before the APPEND: anything of this batch lands at or above it. */
  targetUidNext: z.number().int().positive(),
  targetUidValidity: z.number().int().nonnegative(),
  /** When the intent was written (epoch ms): a rerun lets the dead run's last APPEND settle on the new server from then. */
  at: z.number().int().nonnegative().optional(),
});
export type PendingBatch = z.infer<typeof pendingBatchSchema>;

export const folderStateSchema = z.object({
  target: z.string(),
  uidValidity: z.number().int().nonnegative(),
  /** Every message with UID <= lastUid is on the target (or listed in skipped). */
  lastUid: z.number().int().nonnegative(),
  /** Set after a UIDVALIDITY change (or lost state): match the whole folder by fingerprint before copying. */
  reconcile: z.boolean().default(false),
  pending: pendingBatchSchema.optional(),
  /** Messages not copied, each with why (a stable code; older documents have none) in words. */
  skipped: z.array(z.object({ uid: z.number().int(), reason: z.string(), code: z.string().optional() as z.ZodOptional<z.ZodType<ErrorCode>> })).default([]),
  messages: z.number().int().nonnegative().default(0),
  bytes: z.number().nonnegative().default(0),
  /** The old folder's message count (EXISTS) when its last pass began: what a report compares the copied count with. */
  oldMessages: z.number().int().nonnegative().optional(),
  /** The old messages' sizes (RFC822.SIZE) as the passes read them: all of them on the first pass, then what arrived since. */
  oldBytes: z.number().nonnegative().optional(),
  /** Messages the new server stored otherwise than sent (old UID, sizes, what differs). */
  altered: z.array(z.object({ uid: z.number().int(), sent: z.number(), stored: z.number(), what: z.enum(["size", "header"]) })).default([]),
});
export type FolderState = z.infer<typeof folderStateSchema>;

const noticeRecord = z.object({
  state: z.enum(["appending", "delivered", "failed"]),
  at: z.string(),
  /** The INBOX's UIDVALIDITY and UIDNEXT just before the APPEND. */
  uidValidity: z.number().int().nonnegative().optional(),
  uidNext: z.number().int().positive().optional(),
  /** Why the last try failed (it is tried again on the next run). */
  error: z.string().optional(),
});
export type NoticeRecord = z.infer<typeof noticeRecord>;

export const accountStateSchema = z.object({
  version: z.literal(1).default(1),
  user: z.string(),
  folders: anyKeyRecord(folderStateSchema).prefault({}),
  /** Folder renames of the last full planning, reported again by runs that had nothing to copy. */
  renamed: z.array(z.object({ from: z.string(), to: z.string(), reason: z.enum(RENAME_REASONS) })).default([]),
  /**
   * The folder plan as first made (old folder → target), written before any folder is
   * created and kept: later runs map these folders the same way whatever the new server lists
   * by then (its own folders, names that look like roles), so a crash never moves a folder.
   */
  plan: anyKeyRecord(z.object({ target: z.string(), reason: z.enum(RENAME_REASONS).optional() })).prefault({}),
  /**
   * When the user's mail started going to the new server: a run reached the account there
   * (before its first folder was copied). Catch-up passes count from here.
   */
  routedLocalAt: z.string().optional(),
  /** Bytes downloaded from the old server on one UTC day (the daily allowance a profile may set). */
  download: z.object({ day: z.string(), bytes: z.number().nonnegative() }).optional(),
  /** The account automigrate created on the new server (first login or import). */
  account: z
    .object({ className: z.string(), tier: z.enum(["premium", "basic"]), createdAt: z.string(), via: z.enum(["first-login", "import"]) })
    .optional(),
  /** The external (PIM) application's last run for this account. */
  pim: z
    .object({ status: z.enum(["done", "failed"]), at: z.string(), exitCode: z.number().nullable(), durationMs: z.number(), stderrTail: z.string().optional() })
    .optional(),
  /** The last `automigrate verify`: when, how deep, and whether old and new were the same. */
  verified: z.object({ at: z.string(), deep: z.boolean(), exact: z.boolean(), missing: z.number().int().nonnegative() }).optional(),
  /**
   * Notices put into the user's INBOX (migration.notice.*). "appending" is written before the
   * APPEND, with the INBOX's UIDNEXT then: a run after a crash looks for the notice's
   * Message-ID from there on before appending again, so a notice is never put in twice.
   */
  notices: z
    .object({
      started: noticeRecord.optional(),
      completed: noticeRecord.optional(),
    })
    .optional(),
  /** When a run first left nothing to retry (done, or partial for messages that cannot come across). */
  completedAt: z.string().optional(),
  /** Completed runs (any status): how often this account was migrated. */
  runs: z.number().int().nonnegative().default(0),
  lastRun: z
    .object({
      status: z.enum(["done", "partial", "failed"]),
      startedAt: z.string().optional(),
      finishedAt: z.string(),
      messages: z.number(),
      bytes: z.number(),
      error: z.string().optional(),
      /** The first error's code (reports group by it). */
      errorCode: z.string().optional(),
    })
    .optional(),
});
export type AccountState = z.infer<typeof accountStateSchema>;

/** Longest file name stem, well under the 255 bytes most file systems allow (".create.lock" etc. follow). */
const MAX_STEM = 180;

/**
 * The one file name for a user's documents, locks and directories (state, queue, vault,
 * PIM): the address itself where it is plain, percent-encoded otherwise (no "/" or ".."
 * can escape the directory), and cut with a hash when too long for a file name.
 */
export function accountFileName(user: string): string {
  const u = canonicalUser(user);
  const stem = /^[a-z0-9@._+-]+$/.test(u) && !u.startsWith(".") ? u : encodeURIComponent(u).replace(/^\./, "%2E");
  if (stem.length <= MAX_STEM) return `${stem}.json`;
  return `${stem.slice(0, MAX_STEM - 18)}~${createHash("sha256").update(u).digest("hex").slice(0, 16)}.json`;
}

/** Every user with a state document (the inverse of accountFileName). */
export function knownAccountUsers(home: string): string[] {
  let names: string[];
  try {
    names = readdirSync(homePaths(home).accounts);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  return names
    .filter((x) => x.endsWith(".json"))
    .map((f) => {
      if (!f.includes("~")) return decodeURIComponent(f.slice(0, -5));
      // a hashed (long) name: the document says whose it is
      const doc = readJsonFile(join(homePaths(home).accounts, f)) as { user?: string } | null;
      return doc?.user ?? decodeURIComponent(f.slice(0, -5));
    });
}

/**
 * A user's state document as it is on disk, read through its schema (no lock: a reader's
 * snapshot); null when there is none or it cannot be read as one.
 */
export function readAccountState(home: string, user: string): AccountState | null {
  try {
    const r = accountStateSchema.safeParse(readJsonFile(join(homePaths(home).accounts, accountFileName(user))));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/** How long a writer keeps the document's lock after its last update. */
const HOLD_MS = 250;

export class AccountStateStore {
  private chain: Promise<unknown> = Promise.resolve();
  private held?: { release: () => void; timer?: ReturnType<typeof setTimeout> };

  private constructor(
    private readonly db: Low<AccountState>,
    private readonly path: string,
  ) {}

  static async open(home: string, user: string): Promise<AccountStateStore> {
    const dir = homePaths(home).accounts;
    ensureDir(dir);
    const path = join(dir, accountFileName(user));
    const db = await openDocument(path, accountStateSchema, accountStateSchema.parse({ user }));
    return new AccountStateStore(db, path);
  }

  get data(): AccountState {
    return this.db.data;
  }

  folder(old: string): FolderState | undefined {
    return this.db.data.folders[old];
  }

  /**
   * Applies a change and persists it durably; changes are serialised in call order. Every
   * writer of the document (migration, account creation, another process) holds the
   * document's lock while it reads and writes, so no writer overwrites another's change.
   * A writer keeps the lock while its updates follow each other (a migration commits a batch
   * every few milliseconds) and lets it go after HOLD_MS without one, or at close(): the
   * document is read afresh only when the lock was taken anew, since nobody else can have
   * written it while it was held. (Taking a lock file per update cost a migration of 6,000
   * messages over a second, in file creations queued behind the fsyncs.)
   */
  update(change: (s: AccountState) => void): Promise<void> {
    const run = this.chain.then(async () => {
      if (!this.held) {
        this.held = { release: acquireLock(this.path.replace(/\.json$/, ".doc.lock"), { waitMs: TIMEOUTS.lockWaitMs, what: `the state of ${this.db.data.user}`, context: { user: this.db.data.user } }) };
        await this.db.read();
      }
      clearTimeout(this.held.timer);
      try {
        change(this.db.data);
        await this.db.write();
      } finally {
        if (this.held) {
          this.held.timer = setTimeout(() => this.close(), HOLD_MS);
          this.held.timer.unref?.();
        }
      }
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** Lets the document's lock go now (a process that exits leaves none behind). */
  close(): void {
    const h = this.held;
    this.held = undefined;
    if (!h) return;
    clearTimeout(h.timer);
    h.release();
  }

  updateFolder(old: string, change: (f: FolderState) => void): Promise<void> {
    return this.update((s) => {
      const f = s.folders[old];
      if (!f) throw new Error(`no state for folder ${old}`);
      change(f);
    });
  }
}

/** Exclusive per-user run lock; a lock left by a dead process (kill -9) is taken over. */
export function lockAccount(home: string, user: string): () => void {
  const path = join(homePaths(home).accounts, accountFileName(user).replace(/\.json$/, ".lock"));
  return acquireLock(path, {
    waitMs: 0,
    what: `the migration of ${user}`,
    context: { user },
    hint: "a migration of this user is already running; `automigrate status` shows its progress",
  });
}
