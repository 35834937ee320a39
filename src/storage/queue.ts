// The queue as stored, for readers that are not the daemon (`status` while this node's daemon
// is stopped): this home's files, or the cluster's database.
import { loadLocalConfig, usesDatabase } from "../config/store.ts";
import type { Job, Paused } from "../queue/policy.ts";
import { readPaused, readQueue, readQueueEntry, type FailedJob } from "../store/queue-store.ts";
import { withDatabase } from "./open.ts";
import { readDatabaseQueue } from "./postgres/queue.ts";

export async function storedQueue(home: string): Promise<{ jobs: Job[]; failed: FailedJob[]; paused: Paused }> {
  const local = loadLocalConfig(home);
  if (usesDatabase(local)) return withDatabase(home, local, (db) => readDatabaseQueue(db.sql));
  return { ...readQueue(home), paused: readPaused(home) };
}

/** One user's job and failure record as stored. */
export async function storedQueueEntry(home: string, user: string): Promise<{ job: Job | null; failed: FailedJob | null }> {
  if (!usesDatabase(loadLocalConfig(home))) return readQueueEntry(home, user);
  const q = await storedQueue(home);
  return { job: q.jobs.find((j) => j.user === user) ?? null, failed: q.failed.find((f) => f.user === user) ?? null };
}
