// The daemon's queue, durable and per job: one small document per active job
// (state/queue/<user>.json) and per failed job (state/failed/<user>.json), plus
// state/daemon.json for pause flags and log positions. A change to one job writes one small
// file, so a sweep over 10,000 accounts never rewrites a 10,000-entry document. Finished
// jobs leave the queue; the account's own state records its runs.
import { readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Low } from "lowdb";
import { z } from "zod";
import { AutomigrateError } from "../src/errors.ts";
import { homePaths } from "../src/home.ts";
import type { Job } from "../src/queue/policy.ts";
import { accountFileName } from "../src/store/account-state.ts";
import { ensureDir, openDocument, readJsonFile, writeJsonFileAtomic } from "../src/store/json-file.ts";

const jobSchema = z.object({
  user: z.string(),
  domain: z.string(),
  oldServer: z.string(),
  reason: z.enum(["login", "manual", "retry", "sweep"]),
  priority: z.number(),
  state: z.enum(["queued", "running", "waiting"]),
  attempts: z.number(),
  enqueuedAt: z.number(),
  notBefore: z.number().optional(),
  lastError: z.string().optional(),
  again: z.boolean().optional(),
});
const failedSchema = jobSchema.extend({ failedAt: z.number() });
export type FailedJob = z.infer<typeof failedSchema>;

const positionSchema = z.object({ ino: z.number(), offset: z.number() });
const metaSchema = z.object({
  version: z.literal(1).default(1),
  paused: z.object({ all: z.boolean(), domains: z.array(z.string()) }).default({ all: false, domains: [] }),
  /** Log positions per log file path. */
  logs: z.record(z.string(), z.object({ current: positionSchema.optional(), previous: positionSchema.optional() })).default({}),
});
type Meta = z.infer<typeof metaSchema>;

function readDocs<T>(dir: string, schema: z.ZodType<T>): T[] {
  ensureDir(dir);
  const out: T[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".json"))) {
    const path = join(dir, f);
    const r = schema.safeParse(readJsonFile(path));
    if (!r.success) throw new AutomigrateError(`${path} is invalid: ${r.error.issues[0]?.path.join(".")}: ${r.error.issues[0]?.message}`, { file: path, hint: "fix or remove that job file" });
    out.push(r.data);
  }
  return out;
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
    const state = homePaths(home).state;
    const dirs = { queue: join(state, "queue"), failed: join(state, "failed") };
    const meta = await openDocument(join(state, "daemon.json"), metaSchema, metaSchema.parse({}));
    return new QueueStore(dirs, meta, readDocs(dirs.queue, jobSchema), readDocs(dirs.failed, failedSchema));
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
