// Per-account migration state: one durable lowdb document per user under state/accounts,
// so no update ever rewrites other accounts. Holds each old folder's watermark
// (UIDVALIDITY + highest migrated UID), the batch in flight (for crash recovery),
// skipped messages and totals. Also a per-user run lock: two migrations of one user at
// the same time would copy messages twice.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Low } from "lowdb";
import { z } from "zod";
import { homePaths } from "../home.ts";
import { ensureDir, openDocument } from "./json-file.ts";
import { acquireLock } from "./lock-file.ts";

export const pendingBatchSchema = z.object({
  /** Old UIDs being appended. */
  uids: z.array(z.number().int().positive()),
  /** Target UIDNEXT and UIDVALIDITY before the APPEND: anything of this batch lands at or above it. */
  targetUidNext: z.number().int().positive(),
  targetUidValidity: z.number().int().nonnegative(),
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
  skipped: z.array(z.object({ uid: z.number().int(), reason: z.string() })).default([]),
  messages: z.number().int().nonnegative().default(0),
  bytes: z.number().nonnegative().default(0),
});
export type FolderState = z.infer<typeof folderStateSchema>;

export const accountStateSchema = z.object({
  version: z.literal(1).default(1),
  user: z.string(),
  folders: z.record(z.string(), folderStateSchema).default({}),
  /** Folder renames of the last full planning, reported again by runs that had nothing to copy. */
  renamed: z.array(z.object({ from: z.string(), to: z.string(), reason: z.enum(["separator", "special-use", "rename-rule", "collision"]) })).default([]),
  /** The account automigrate created on the new server (first login or import). */
  account: z
    .object({ className: z.string(), tier: z.enum(["premium", "basic"]), createdAt: z.string(), via: z.enum(["first-login", "import"]) })
    .optional(),
  /** The external (PIM) application's last run for this account. */
  pim: z
    .object({ status: z.enum(["done", "failed"]), at: z.string(), exitCode: z.number().nullable(), durationMs: z.number(), stderrTail: z.string().optional() })
    .optional(),
  /** Completed runs (any status): how often this account was migrated. */
  runs: z.number().int().nonnegative().default(0),
  lastRun: z
    .object({
      status: z.enum(["done", "partial", "failed"]),
      finishedAt: z.string(),
      messages: z.number(),
      bytes: z.number(),
      error: z.string().optional(),
    })
    .optional(),
});
export type AccountState = z.infer<typeof accountStateSchema>;

export function accountFileName(user: string): string {
  const u = user.toLowerCase();
  return /^[a-z0-9@._+-]+$/.test(u) ? `${u}.json` : `${encodeURIComponent(u)}.json`;
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
  return names.filter((x) => x.endsWith(".json")).map((f) => decodeURIComponent(f.slice(0, -5)));
}

export class AccountStateStore {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(private readonly db: Low<AccountState>) {}

  static async open(home: string, user: string): Promise<AccountStateStore> {
    const dir = homePaths(home).accounts;
    ensureDir(dir);
    const db = await openDocument(join(dir, accountFileName(user)), accountStateSchema, accountStateSchema.parse({ user }));
    return new AccountStateStore(db);
  }

  get data(): AccountState {
    return this.db.data;
  }

  folder(old: string): FolderState | undefined {
    return this.db.data.folders[old];
  }

  /** Applies a change and persists it durably; changes are serialised in call order. */
  update(change: (s: AccountState) => void): Promise<void> {
    const run = this.chain.then(async () => {
      change(this.db.data);
      await this.db.write();
    });
    this.chain = run.catch(() => {});
    return run;
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
