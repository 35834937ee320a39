// One user's migration: plan folders, create them on the new server, copy folders in
// parallel (one old + one new connection per worker), and report.
import { deliverNotice, type NoticeOutcome } from "./deliver-notice.ts";
import { skippedInWords, type NoticeKind } from "./notices.ts";
import { quotedName } from "../text.ts";
import { canonicalUser, splitUser } from "../address.ts";
import { usesUserPasswords, type Config, type DomainSettings } from "../config/schema.ts";
import { AutomigrateError, classify, errorCode, errorText, type ErrorCode } from "../errors.ts";
import { homePaths } from "../home.ts";
import type { FolderIds, FolderReader, MailOpener, MailStore, MailWriter } from "../mailstore/port.ts";
import { domainOf, oldServerKey } from "../mailstore/endpoints.ts";
import { vaultOf, type VaultStore } from "../storage/vault.ts";
import { pimRun, runPim, type PimResult } from "../hooks/pim.ts";
import type { AccountState } from "../store/account-state.ts";
import { accountStatesOf, type AccountDocument } from "../storage/account-states.ts";
import { sweepStaleSpool } from "./spool.ts";
import { crashPoint } from "../crash-points.ts";
import { capBatches, DEFAULT_LIMITS, largestFirst, uidsAhead, upToDate, type BatchLimits } from "./batches.ts";
import { copyFolder, newOutcome, type CopyContext, type ProgressEvent, type SkippedMessage } from "./copy-folder.ts";
import { busyByProfile, dailyDownloadBytes, folderOptionsOf, oldConnectionsPerUser, SOURCE_PROFILES, type SourceProfile } from "./source-profiles.ts";
import { budgetedReader, BudgetError, DailyAllowance, serverLimiter, type ReadBudget } from "./read-budget.ts";
import { copiedFromOld, planFolders, skippedFolders, type FolderPlan, type FolderRules, type SkippedFolder, type Layout, type ListedFolder, type PinnedTarget, type PlannedFolder, type Rename } from "./folder-plan.ts";

export type MigrationStatus = "done" | "partial" | "failed";

export interface MigrationReport {
  user: string;
  status: MigrationStatus;
  /** Folders in sync after this run (copied now or already up to date); failed ones excluded. */
  folders: number;
  messages: number;
  bytes: number;
  skipped: SkippedMessage[];
  renamed: Rename[];
  /** Old folders not copied, and the rule that skipped each (folders.exclude, the profile's). */
  skippedFolders: SkippedFolder[];
  /** `transient`: worth retrying later (server down, connection dropped, stopped by shutdown); `resumeAt`: not before then (a budget refills). */
  errors: { folder?: string; message: string; transient?: boolean; code?: ErrorCode; resumeAt?: string }[];
  /** The external (PIM) application, when it ran in this run. */
  pim?: PimResult;
  /** Notices put into the user's INBOX in this run (migration.notice.*), or tried and failed. */
  notices?: NoticeOutcome[];
  durationMs: number;
}

export type MigrationEvent = ProgressEvent | { type: "plan"; folders: number } | { type: "bandwidth"; waitMs: number };

export interface MigrateOptions {
  home: string;
  config: Config;
  user: string;
  /** Where the connections come from (an IMAP opener for the user's endpoints, a memory one in tests). */
  opener: MailOpener;
  onProgress?: (e: MigrationEvent) => void;
  limits?: BatchLimits;
  /** Stops the run at the next safe point (between batches); what is committed stays. */
  signal?: AbortSignal;
  /**
   * Announces that the user's mail now goes to the new server, beyond this home's state
   * (cluster mode: the routing table the MX nodes read). Called on every run right after the
   * switch is persisted and before the first folder is created; a failure stops the run.
   */
  routeLocal?: (user: string) => Promise<void>;
}

type FolderStatus = FolderIds;

/** LIST, with each folder's UIDVALIDITY/UIDNEXT (LIST-STATUS where offered) when asked. */
async function listFolders(store: MailStore, withStatus = false): Promise<{ folders: ListedFolder[]; status: Map<string, FolderStatus> }> {
  const list = await store.list({ status: withStatus });
  const status = new Map<string, FolderStatus>();
  for (const f of list) if (f.status) status.set(f.path, f.status);
  const folders = list.map(({ status: _, ...f }) => f);
  return { folders, status };
}

/**
 * The domain's external application, after the mail: until it has succeeded once, or on
 * every pass with migration.pim.everyPass. Its failure makes the run partial (and, being
 * transient, retried by the daemon); it never stops or undoes the mail.
 */
async function runExternalApplication(opts: MigrateOptions, state: AccountDocument, vault: VaultStore, report: MigrationReport): Promise<void> {
  const run = pimRun(opts.home, opts.config, report.user, state.data.account);
  if (!run || report.status === "failed" || opts.signal?.aborted) return;
  const d = opts.config.domains[splitUser(report.user).domain]!;
  if (!d.migration.pim.everyPass && state.data.pim?.status === "done") return;
  const password = usesUserPasswords(d.migration.old.auth) ? await vault.get(report.user) : undefined;
  const r = await runPim(run, password);
  report.pim = r;
  await state.update((s) => {
    s.pim = { status: r.status, at: new Date().toISOString(), exitCode: r.exitCode, durationMs: r.durationMs, stderrTail: r.stderrTail };
  });
  if (r.status === "failed") {
    report.errors.push({ message: `the external application failed (exit ${r.exitCode ?? "none"}): ${r.stderrTail ?? ""}`.trim(), transient: true });
    report.status = "partial";
  }
}

async function notice(report: MigrationReport, kind: NoticeKind, o: Parameters<typeof deliverNotice>[1]): Promise<void> {
  const r = await deliverNotice(kind, o);
  if (r) report.notices = [...(report.notices ?? []), r];
}

/**
 * The account's completion: the first run that leaves nothing to retry (done, or partial only
 * for messages that will not come across: no temporary error left) is kept as `completedAt`,
 * and the "completed" notice goes in then. It says what did not come across, in words, over
 * every pass (the state's counts). A notice that failed is tried again on later runs; one set
 * up after an account completed is not sent to it.
 */
async function completedNotice(opts: MigrateOptions, domain: DomainSettings, state: AccountDocument, report: MigrationReport, completedBefore: boolean): Promise<void> {
  if (report.status === "failed" || report.errors.some((e) => e.transient) || opts.signal?.aborted) return;
  const last = state.data.notices?.completed;
  if (completedBefore && (!last || last.state === "delivered")) return;
  const folders = Object.values(state.data.folders);
  const byCode = new Map<string, number>();
  for (const f of folders) for (const k of f.skipped) byCode.set(k.code ?? "UNKNOWN", (byCode.get(k.code ?? "UNKNOWN") ?? 0) + 1);
  await notice(report, "completed", {
    opener: opts.opener,
    state,
    user: report.user,
    template: domain.migration.notice.completed,
    values: {
      user: report.user,
      domain: splitUser(report.user).domain,
      date: new Date().toISOString().slice(0, 10),
      folders: folders.length,
      messages: folders.reduce((n, f) => n + f.messages, 0),
      skipped: [...byCode.values()].reduce((a, b) => a + b, 0),
      skippedList: skippedInWords(byCode),
    },
  });
  // after the notice: a crash in between finds it delivered (or "appending") on the next run
  if (!completedBefore) {
    await state.update((s) => {
      s.completedAt ??= new Date().toISOString();
    });
  }
}

export function isTransient(e: unknown): boolean {
  return classify(e).transient;
}

/** One entry of a report's errors, from any error (a bug keeps its stack for the daemon's log). */
function reportError(e: unknown, folder?: string, profile?: SourceProfile): MigrationReport["errors"][number] {
  // the old server's own words for "busy" (its profile's table) make a failure temporary
  const c = profile ? busyByProfile(profile, classify(e)) : classify(e);
  return { ...(folder ? { folder } : {}), message: errorText(c), transient: c.transient, code: c.code, ...(e instanceof BudgetError ? { resumeAt: new Date(e.resumeAt).toISOString() } : {}) };
}

export async function migrateUser(opts: MigrateOptions): Promise<MigrationReport> {
  const started = Date.now();
  const user = canonicalUser(opts.user);
  const report: MigrationReport = { user, status: "failed", folders: 0, messages: 0, bytes: 0, skipped: [], renamed: [], skippedFolders: [], errors: [], durationMs: 0 };
  const vault = vaultOf(opts.home);
  const domain = domainOf(opts.config, user);
  const states = accountStatesOf(opts.home);
  const unlock = await states.lockRun(user);
  let opened: AccountDocument | undefined;
  try {
    const state = await states.open(user);
    opened = state;
    // (a run that ended done before completedAt was kept counts: an account migrated by an
    // earlier version never gets a "started" notice)
    const completedBefore = state.data.completedAt !== undefined || state.data.lastRun?.status === "done";
    const finish = async (): Promise<MigrationReport> => {
      // messages the new server stored otherwise than sent, this run or an earlier one: never DONE
      for (const [folder, f] of Object.entries(state.data.folders)) {
        if (!f.altered.length || report.status === "failed") continue;
        const a = f.altered[0]!;
        report.errors.push({
          folder,
          code: "ALTERED",
          transient: false,
          message: `the new server stored ${f.altered.length} message(s) of ${folder} otherwise than they were sent (e.g. old UID ${a.uid}: ${a.what === "size" ? `${a.sent} bytes sent, ${a.stored} stored` : "8-bit header bytes rewritten at the same size"})\n  hint: the new server rewrites messages on APPEND (Cyrus: set munge8bit: no in imapd.conf and restart it); the altered copies stay there: to copy them again, delete them on the new server and remove ${user}'s state file (state/accounts), then migrate (what is still there is matched, not copied twice)`,
        });
        report.status = "partial";
      }
      report.durationMs = Date.now() - started;
      await state.update((s) => {
        s.runs += 1;
        s.lastRun = {
          status: report.status,
          startedAt: new Date(started).toISOString(),
          finishedAt: new Date().toISOString(),
          messages: report.messages,
          bytes: report.bytes,
          error: report.errors[0]?.message,
          errorCode: report.errors[0]?.code,
        };
      });
      return report;
    };
    try {
      const old = await opts.opener.old();
      const oldList = await listFolders(old, true).catch(async (e) => {
        await old.close();
        throw e;
      });
      if (!oldList.folders.some((f) => f.path.toUpperCase() === "INBOX")) {
        await old.close();
        throw noOldMailbox(user);
      }
      report.skippedFolders = skippedFolders(oldList.folders, old.layout, folderOptionsOf(domain));
      const unchanged = nothingNew(oldList, old.layout, state, folderOptionsOf(domain));
      if (unchanged !== undefined) {
        // a rerun with nothing new: one LIST-STATUS on the old server, no new-server login
        await old.close();
        report.folders = unchanged;
        report.renamed = state.data.renamed;
        report.status = "done";
        opts.onProgress?.({ type: "plan", folders: 0 });
        await runExternalApplication(opts, state, vault, report);
        await completedNotice(opts, domain, state, report, completedBefore);
        return finish();
      }
      // the listing connections go on as the first folder worker's: 2 logins a job, not 4
      const handed: WorkerConnections = {};
      try {
        const { plan, status, writer } = await prepareFolders(opts.opener, domain, user, report, old, oldList, state, opts.routeLocal);
        handed.appender = writer;
        handed.old = old.asReader?.();
        await state.update((s) => {
          s.renamed = plan.renamed;
        });
        // runs until the account completes (the first, or later ones when the notice did not go in)
        const ownOnTarget = new Map<string, number>();
        if (!completedBefore) {
          await notice(report, "started", { opener: opts.opener, state, user, template: domain.migration.notice.started, values: { user, domain: splitUser(user).domain, date: new Date().toISOString().slice(0, 10), folders: plan.folders.length } });
          if (report.notices?.some((n) => n.kind === "started" && n.intoEmptyInbox)) ownOnTarget.set("INBOX", 1);
        }
        const work = plan.folders.filter((f) => f.selectable && !report.errors.some((e) => e.folder === f.old));
        // folders with nothing new are not even opened
        const toCopy = largestFirst(
          work.filter((f) => !upToDate(state.folder(f.old), status.get(f.old))),
          (f) => uidsAhead(state.folder(f.old), status.get(f.old)),
        );
        opts.onProgress?.({ type: "plan", folders: toCopy.length });
        await runWorkers(opts, domain, state, toCopy, report, ownOnTarget, handed);
        const failedFolders = new Set(report.errors.map((e) => e.folder));
        report.folders = work.filter((f) => !failedFolders.has(f.old)).length;
        report.status = report.errors.length === 0 && report.skipped.length === 0 ? "done" : report.folders > 0 || work.length === 0 ? "partial" : "failed";
        await runExternalApplication(opts, state, vault, report);
        await completedNotice(opts, domain, state, report, completedBefore);
      } finally {
        await old.close();
        await closeWorker(handed);
      }
    } catch (e) {
      report.errors.push(reportError(e, undefined, SOURCE_PROFILES[domain.migration.old.profile]));
      report.status = "failed";
    }
    return await finish();
  } finally {
    opened?.close();
    await unlock();
  }
}

/** An old server that lists no INBOX for the login: no such account there (or another login). */
export function noOldMailbox(user: string): AutomigrateError {
  return new AutomigrateError(`the old server lists no INBOX for ${user}: the account does not exist there, or its login there differs`, {
    user,
    server: "old server",
    hint: "check the address; for servers whose logins are bare names set migration.old.login={localpart}",
  }, { code: "NO_MAILBOX" });
}

/** What earlier runs decided stands: their plan, or at least the targets their folders use. */
export function pinnedPlan(data: Pick<AccountState, "folders" | "plan">): Record<string, PinnedTarget> {
  const pinned: Record<string, PinnedTarget> = {};
  for (const [oldName, f] of Object.entries(data.folders)) pinned[oldName] = { target: f.target };
  return Object.assign(pinned, data.plan);
}

/**
 * The number of old folders when every one of them is up to date (same UIDVALIDITY,
 * nothing above the watermark, nothing in flight or skipped); undefined when anything may
 * need copying, including a folder never seen before. No I/O: it reads the state in memory.
 */
export function nothingNew(oldList: { folders: ListedFolder[]; status: Map<string, FolderStatus> }, layout: Layout, state: AccountDocument, rules: FolderRules): number | undefined {
  if (Object.keys(state.data.folders).length === 0) return undefined;
  let n = 0;
  for (const f of oldList.folders) {
    if (!copiedFromOld(f, layout, rules)) continue;
    if (!upToDate(state.folder(f.path), oldList.status.get(f.path))) return undefined;
    n++;
  }
  return n;
}

/** Lists the new server, plans the mapping, creates and subscribes target folders. `old` stays the caller's to close. */
async function prepareFolders(
  opener: MailOpener,
  domain: DomainSettings,
  user: string,
  report: MigrationReport,
  old: MailStore,
  oldList: { folders: ListedFolder[]; status: Map<string, FolderStatus> },
  state: AccountDocument,
  routeLocal: MigrateOptions["routeLocal"],
): Promise<{ plan: FolderPlan; status: Map<string, FolderStatus>; writer?: MailWriter }> {
  let target: MailStore | undefined;
  try {
    target = await opener.target();
    const targetList = await listFolders(target);
    const plan = planFolders(oldList.folders, old.layout, target.layout, targetList.folders, folderOptionsOf(domain), pinnedPlan(state.data));
    report.renamed = plan.renamed;
    // persisted before any folder is created: a run killed from here on resumes this very plan.
    // The account answered on the new server: from now on the user's mail goes there (routing
    // says local), before the first folder is copied — mail arriving meanwhile lands there,
    // and what still reaches the old server is picked up by the catch-up passes
    const decided = plan.folders.filter((f) => f.selectable && !Object.hasOwn(state.data.plan, f.old));
    if (decided.length || !state.data.routedLocalAt) {
      await state.update((s) => {
        for (const f of decided) s.plan[f.old] = { target: f.target, reason: plan.renamed.find((r) => r.from === f.old)?.reason };
        s.routedLocalAt ??= new Date().toISOString();
      });
    }
    await routeLocal?.(report.user);
    const existing = new Set(targetList.folders.map((f) => f.path));
    for (const f of plan.folders) {
      if (!f.selectable) continue;
      try {
        if (!existing.has(f.target) && f.target.toUpperCase() !== "INBOX") {
          await target.create(f.target, { subscribed: Boolean(f.subscribed) });
          crashPoint("folder-created");
        } else if (f.subscribed) await target.subscribe(f.target);
      } catch (e) {
        // the server answered NO: that name is refused for good (fix the plan, see the hint),
        // not a reason to retry; a dropped connection is
        if (errorCode(e) === "FOLDER_REFUSED") {
          report.errors.push({
            folder: f.old,
            code: "FOLDER_REFUSED",
            transient: false,
            message: `the new server refuses to create ${quotedName(f.target)}: ${errorText(e)}\n  hint: its messages are not copied; give it another name (migration.folders.rename, or a smaller migration.folders.maxNameBytes) and rebuild its plan: automigrate plan reset ${user} --folder ${quotedName(f.old)}`,
          });
        } else report.errors.push(reportError(e, f.old));
      }
    }
    // the listing connection goes on as the first folder worker's appender (a login fewer)
    return { plan, status: oldList.status, writer: target.asWriter?.() };
  } catch (e) {
    // ours keep their code; a dropped connection is CONNECT (temporary), a server's NO is SERVER
    throw classify(e, { user });
  } finally {
    await target?.close();
  }
}

export interface WorkerConnections {
  old?: FolderReader;
  appender?: MailWriter;
  reader?: FolderReader;
}

/**
 * Opens the worker's missing connections at once: the two logins overlap (a worker that opens
 * both waited for one login after the other, about 30 ms before its first FETCH). One that
 * opened is kept in `c` when the other fails, for the caller's closeWorker; the old server's
 * failure is the one thrown when both fail.
 */
export async function connectWorker(c: WorkerConnections, openOld: () => Promise<FolderReader>, openWriter: () => Promise<MailWriter>): Promise<{ old: FolderReader; appender: MailWriter }> {
  const [old, writer] = await Promise.allSettled([c.old ?? openOld(), c.appender ?? openWriter()]);
  if (old.status === "fulfilled") c.old = old.value;
  if (writer.status === "fulfilled") c.appender = writer.value;
  if (old.status === "rejected") throw old.reason;
  if (writer.status === "rejected") throw writer.reason;
  return { old: old.value, appender: writer.value };
}

async function closeWorker(c: WorkerConnections): Promise<void> {
  await c.old?.close();
  await c.reader?.close();
  await c.appender?.close();
  c.old = c.reader = c.appender = undefined;
}

/** The pace and allowance of this run's reads from the old server (none when the domain sets neither). */
function readBudgetOf(opts: MigrateOptions, domain: DomainSettings, state: AccountDocument): ReadBudget {
  const o = domain.migration.old;
  const perDay = dailyDownloadBytes(domain);
  return {
    limiter: o.maxBytesPerSec ? serverLimiter(oldServerKey(o), o.maxBytesPerSec) : undefined,
    daily: perDay ? new DailyAllowance(opts.user, perDay, state.data.download) : undefined,
    onWait: (waitMs) => opts.onProgress?.({ type: "bandwidth", waitMs }),
    signal: opts.signal,
  };
}

/** `handed`: connections the first worker goes on with (the listing's), taken from it; whatever is not taken stays the caller's to close. */
async function runWorkers(opts: MigrateOptions, domain: DomainSettings, state: AccountDocument, work: PlannedFolder[], report: MigrationReport, ownOnTarget: ReadonlyMap<string, number> | undefined, handed: WorkerConnections): Promise<void> {
  const queue = [...work];
  // under a bandwidth cap a batch holds about a second of it, so that the pace is even; under
  // a daily allowance a twentieth of it at most, so that a day's reads stop close to it
  const perDay = dailyDownloadBytes(domain);
  const cap = Math.min(domain.migration.old.maxBytesPerSec ?? Infinity, perDay ? perDay / 20 : Infinity);
  const limits = Number.isFinite(cap) ? capBatches(opts.limits ?? DEFAULT_LIMITS, cap) : (opts.limits ?? DEFAULT_LIMITS);
  const spoolDir = homePaths(opts.home).spool;
  sweepStaleSpool(spoolDir);
  // one old connection per folder worker (the listing's is the first worker's)
  const parallel = Math.max(1, Math.min(oldConnectionsPerUser(domain), queue.length));
  const budget = readBudgetOf(opts, domain, state);
  const oldReader = async () => budgetedReader(await opts.opener.oldReader(), budget);
  const worker = async () => {
    const conn: WorkerConnections = { old: handed.old && budgetedReader(handed.old, budget), appender: handed.appender };
    handed.old = handed.appender = undefined;
    try {
      for (let f = queue.shift(); f && !opts.signal?.aborted; f = queue.shift()) {
        const outcome = newOutcome(f);
        try {
          const { old, appender } = await connectWorker(conn, oldReader, () => opts.opener.writer());
          const ctx: CopyContext = {
            user: opts.user,
            old,
            appender,
            // the appender's own connection when it can read: a login fewer per worker (on a
            // small mailbox the logins are most of what a run costs the new server)
            targetReader: async () => (conn.reader ??= conn.appender?.reader?.() ?? (await opts.opener.targetReader())),
            lateCommitMs: opts.opener.lateCommitMs,
            reopenOld: async () => {
              await conn.old?.close();
              conn.old = undefined;
              conn.old = await oldReader();
              return conn.old;
            },
            state,
            limits,
            spoolDir,
            onProgress: opts.onProgress,
            signal: opts.signal,
            maxMessageBytes: domain.migration.maxMessageBytes,
            ownOnTarget,
          };
          await copyFolder(ctx, f, outcome);
        } catch (e) {
          report.errors.push(reportError(e, f.old, SOURCE_PROFILES[domain.migration.old.profile]));
          // the day's allowance is spent: no other folder would get further today
          if (e instanceof BudgetError) for (const rest of queue.splice(0)) report.errors.push(reportError(e, rest.old));
          // the connections may be broken; the next folder starts on fresh ones
          await closeWorker(conn);
        } finally {
          // what landed counts, whether the folder finished or not
          report.messages += outcome.messages;
          report.bytes += outcome.bytes;
          report.skipped.push(...outcome.skipped);
        }
      }
    } finally {
      await closeWorker(conn);
    }
  };
  try {
    await Promise.all(Array.from({ length: parallel }, worker));
  } finally {
    // what was downloaded today counts for the next runs too
    const daily = budget.daily;
    if (daily) await state.update((s) => void (s.download = { ...daily.ledger }));
  }
  if (opts.signal?.aborted && queue.length > 0) {
    report.errors.push({ message: "stopped before the end (shutdown); the next run continues where this one stopped", transient: true });
  }
}
