// The daemon's queue as a durable lowdb document (state/queue.json): active jobs only, plus
// failed ones kept visible until retried. Finished jobs leave the queue (the account's own
// state records its runs), so the file stays small whatever the number of accounts.
import { join } from "node:path";
import type { Low } from "lowdb";
import { z } from "zod";
import { homePaths } from "../src/home.ts";
import { openDocument } from "../src/store/json-file.ts";
import type { Job } from "../src/queue/policy.ts";

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

const queueSchema = z.object({
  version: z.literal(1).default(1),
  jobs: z.array(jobSchema).default([]),
  failed: z.array(jobSchema.extend({ failedAt: z.number() })).default([]),
  paused: z.object({ all: z.boolean(), domains: z.array(z.string()) }).default({ all: false, domains: [] }),
  /** Log positions per log file path. */
  logs: z.record(z.string(), z.object({ current: z.object({ ino: z.number(), offset: z.number() }).optional(), previous: z.object({ ino: z.number(), offset: z.number() }).optional() })).default({}),
});
export type QueueDoc = z.infer<typeof queueSchema>;
export type FailedJob = QueueDoc["failed"][number];

export class QueueStore {
  private chain: Promise<unknown> = Promise.resolve();
  private constructor(private readonly db: Low<QueueDoc>) {}

  static async open(home: string): Promise<QueueStore> {
    const db = await openDocument(join(homePaths(home).state, "queue.json"), queueSchema, queueSchema.parse({}));
    return new QueueStore(db);
  }

  get data(): QueueDoc {
    return this.db.data;
  }

  get jobs(): Job[] {
    return this.db.data.jobs;
  }

  /** Persists the document; writes are serialised. */
  save(): Promise<void> {
    const run = this.chain.then(() => this.db.write());
    this.chain = run.catch(() => {});
    return run;
  }
}
