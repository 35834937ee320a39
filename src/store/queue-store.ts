// The daemon's queue, durable and per job: one small document per active job
// (state/queue/<user>.json) and per failed job (state/failed/<user>.json), plus
// state/daemon.json for pause flags and log positions. A change to one job writes one small
// file, so a sweep over 10,000 accounts never rewrites a 10,000-entry document. Finished
// jobs leave the queue; the account's own state records its runs.
import { readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Low } from "lowdb";
import { z } from "zod";
import { AutomigrateError, type ErrorCode } from "../errors.ts";
import { homePaths } from "../home.ts";
import type { Job } from "../queue/policy.ts";
import { accountFileName } from "./account-state.ts";
import { ensureDir, openDocument, readJsonFile, writeJsonFileAtomic } from "./json-file.ts";

export const jobSchema = z.object({
  user: z.string(),
  domain: z.string(),
  oldServer: z.string(),
  reason: z.enum(["login", "manual", "retry", "catch-up", "sweep"]),
  priority: z.number(),
  state: z.enum(["queued", "scheduled", "running", "waiting"]),
  attempts: z.number(),
  enqueuedAt: z.number(),
  notBefore: z.number().optional(),
  lastError: z.string().optional(),
  lastErrorCode: z.string().optional() as z.ZodOptional<z.ZodType<ErrorCode>>,
  again: z.boolean().optional(),
  /** Cluster mode: the node that runs it (running jobs). */
  node: z.string().optional(),
  cancel: z.boolean().optional(),
});
export const failedSchema = jobSchema.extend({ failedAt: z.number() });
export type FailedJob = z.infer<typeof failedSchema>;

const positionSchema = z.object({ ino: z.number(), offset: z.number(), head: z.string().regex(/^[0-9a-f]*$/).max(128).optional() });
const metaSchema = z.object({
  version: z.literal(1).default(1),
  paused: z.object({ all: z.boolean(), domains: z.array(z.string()) }).default({ all: false, domains: [] }),
  /** Log positions per log file path. */
  logs: z.record(z.string(), z.object({ current: positionSchema.optional(), previous: positionSchema.optional() })).default({}),
});
type Meta = z.infer<typeof metaSchema>;

/** A job document through its schema; null when the file is missing; an invalid one is named. */
function readDoc<T>(path: string, schema: z.ZodType<T>): T | null {
  const raw = readJsonFile(path);
  if (raw === null) return null;
  const r = schema.safeParse(raw);
  if (!r.success) throw new AutomigrateError(`${path} is invalid: ${r.error.issues[0]?.path.join(".")}: ${r.error.issues[0]?.message}`, { file: path, hint: "fix or remove that job file" }, { code: "CORRUPT" });
  return r.data;
}

function readDocs<T>(dir: string, schema: z.ZodType<T>): T[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  return names.filter((x) => x.endsWith(".json")).flatMap((f) => readDoc(join(dir, f), schema) ?? []);
}

function queueDirs(home: string): { queue: string; failed: string } {
  const state = homePaths(home).state;
  return { queue: join(state, "queue"), failed: join(state, "failed") };
}

/** The queue as on disk, for readers that are not the daemon (status while it is stopped). */
export function readQueue(home: string): { jobs: Job[]; failed: FailedJob[] } {
  const dirs = queueDirs(home);
  return { jobs: readDocs(dirs.queue, jobSchema), failed: readDocs(dirs.failed, failedSchema) };
}

/** The pause flags as on disk (state/daemon.json). */
export function readPaused(home: string): Meta["paused"] {
  return readDoc(join(homePaths(home).state, "daemon.json"), metaSchema)?.paused ?? { all: false, domains: [] };
}

/** One user's queued job and failure record as on disk. */
export function readQueueEntry(home: string, user: string): { job: Job | null; failed: FailedJob | null } {
  const dirs = queueDirs(home);
  return { job: readDoc(join(dirs.queue, accountFileName(user)), jobSchema), failed: readDoc(join(dirs.failed, accountFileName(user)), failedSchema) };
}

export class QueueStore {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dirs: { queue: string; failed: string },
    private readonly meta: Low<Meta>,
    readonly jobs: Job[],
    readonly failed: FailedJob[],
  ) {}

  static async open(home: string): Promise<QueueStore> {
    const dirs = queueDirs(home);
    ensureDir(dirs.queue);
    ensureDir(dirs.failed);
    const meta = await openDocument(join(homePaths(home).state, "daemon.json"), metaSchema, metaSchema.parse({}));
    const { jobs, failed } = readQueue(home);
    return new QueueStore(dirs, meta, jobs, failed);
  }

  get paused(): Meta["paused"] {
    return this.meta.data.paused;
  }

  get logs(): Meta["logs"] {
    return this.meta.data.logs;
  }

  /** Writes are serialised; each is durable (fsync + rename) before it resolves. */
  private serial(fn: () => void | Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }

  saveJob(job: Job): Promise<void> {
    const snapshot = { ...job };
    return this.serial(() => writeJsonFileAtomic(join(this.dirs.queue, accountFileName(job.user)), snapshot));
  }

  saveJobs(jobs: Iterable<Job>): Promise<void> {
    return Promise.all([...new Set(jobs)].map((j) => this.saveJob(j))).then(() => {});
  }

  /** Takes a job out of the queue (finished, or moved to failed). */
  dropJob(job: Job): Promise<void> {
    const i = this.jobs.indexOf(job);
    if (i >= 0) this.jobs.splice(i, 1);
    return this.serial(() => unlinkQuiet(join(this.dirs.queue, accountFileName(job.user))));
  }

  addFailed(f: FailedJob): Promise<void> {
    const i = this.failed.findIndex((x) => x.user === f.user);
    if (i >= 0) this.failed.splice(i, 1);
    this.failed.push(f);
    return this.serial(() => writeJsonFileAtomic(join(this.dirs.failed, accountFileName(f.user)), f));
  }

  dropFailed(user: string): Promise<void> {
    const i = this.failed.findIndex((x) => x.user === user);
    if (i >= 0) this.failed.splice(i, 1);
    return this.serial(() => unlinkQuiet(join(this.dirs.failed, accountFileName(user))));
  }

  saveMeta(): Promise<void> {
    return this.serial(() => this.meta.write());
  }

  /** Waits for every write issued so far. */
  flush(): Promise<void> {
    return this.serial(() => {});
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}
