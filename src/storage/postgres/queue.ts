// The queue in the cluster's database: one row per job, one per failed job, the pause flags,
// and the cron schedules' last firing. Every change takes the queue's transaction lock, reads
// the rows it touches, applies the same pure decisions as the files queue (policy.ts,
// job-policy.ts) and writes them back in one transaction, then NOTIFYs every daemon. One lock
// for every writer keeps the global limits exact (workers.perOldServer is counted over the
// running rows of all nodes at the moment of the claim) at the price of serialising queue
// writes, each a few milliseconds (BENCHMARKS.md: claims per second).
//
// A running row names its node and a claim number. A node is alive while its daemon holds
// the node's lock (node-slot.ts); every claim first gives the running rows of dead nodes back
// to the queue (not counted as an attempt), so a node killed with kill -9 loses its jobs at
// the next claim of any node. Its run lock per user (account-states.ts) keeps a user from
// running twice meanwhile. A node settles only a row that still has its claim number: when
// its job was given away (its connection was lost) its verdict is dropped, never written over
// the new owner's.
//
// A login while the database cannot be reached is kept in this home's queue files and pushed
// into the database when it answers again.
import { SQL } from "bun";
import type { ClaimLimits, EnqueueRequest, JobQueue, Settled } from "../../queue/queue-port.ts";
import { enqueue, PRIORITY, selectForCancel, type CancelSelection, type EnqueueResult, type Job, type Paused } from "../../queue/policy.ts";
import { decide, type JobEvent, type PolicyLimits } from "../../queue/job-policy.ts";
import { failedSchema, jobSchema, type FailedJob } from "../../store/queue-store.ts";
import type { FilesJobQueue } from "../../store/files-job-queue.ts";
import { LOCKS } from "./schema.ts";
import { AutomigrateError } from "../../errors.ts";

export const QUEUE_CHANNEL = "automigrate_queue";

type Tx = SQL;

/** A job row's document through the files' schema: the database is input too. */
function jobOf(doc: unknown, row?: { node?: unknown; cancel?: unknown }): Job {
  const r = jobSchema.safeParse(doc);
  if (!r.success) {
    const user = typeof (doc as { user?: unknown } | null)?.user === "string" ? (doc as { user: string }).user : "(no user)";
    throw new AutomigrateError(`the queue's job row of ${user} is invalid: ${r.error.issues[0]?.path.join(".")}: ${r.error.issues[0]?.message}`, { user, hint: `delete that row (delete from automigrate_jobs where username = '${user.replace(/'/g, "''")}'), then queue the user again (automigrate migrate ${user} --queue)` }, { code: "CORRUPT" });
  }
  const job = r.data as Job;
  if (job.state === "running" && typeof row?.node === "string") job.node = row.node;
  if (job.state === "running" && row?.cancel === true) job.cancel = true;
  return job;
}

/** The document stored for a job: plain JSON (no undefined values), without the node and the cancel flag (columns). */
function docOf(job: Job): Record<string, unknown> {
  const { node: _n, cancel: _c, ...rest } = job;
  return JSON.parse(JSON.stringify(rest));
}

const BATCH = 500;

export class DatabaseJobQueue implements JobQueue {
  private cache: Job[] = [];
  private failedCache: FailedJob[] = [];
  private pausedCache: Paused = { all: false, domains: [] };
  private cancelAsked: string[] = [];
  /** This daemon's claim number per running user: the fence of its settle. */
  private readonly claims = new Map<string, string>();

  constructor(
    private readonly sql: SQL,
    private readonly node: string,
    /** This home's queue files: logins kept while the database cannot be reached. */
    private readonly outbox: FilesJobQueue,
  ) {}

  jobs(): readonly Job[] {
    const inDb = new Set(this.cache.map((j) => j.user));
    return [...this.cache, ...this.outbox.jobs().filter((j) => !inDb.has(j.user))];
  }

  failed(): readonly FailedJob[] {
    return this.failedCache;
  }

  paused(): Paused {
    return this.pausedCache;
  }

  private lock(tx: Tx) {
    return tx`select pg_advisory_xact_lock(${LOCKS.classid}::int, ${LOCKS.queue}::int)`;
  }

  private notify(tx: Tx) {
    return tx`select pg_notify(${QUEUE_CHANNEL}, ${this.node})`;
  }

  /** Inserts or updates jobs (a running row keeps its node and claim). */
  private async upsert(tx: Tx, jobs: Job[]): Promise<void> {
    if (!jobs.length) return;
    const docs = { jobs: jobs.map(docOf) };
    await tx`insert into automigrate_jobs (username, domain, old_server, state, priority, enqueued_at, not_before, doc)
      select x->>'user', x->>'domain', x->>'oldServer', x->>'state', (x->>'priority')::int, (x->>'enqueuedAt')::bigint, (x->>'notBefore')::bigint, x
      from jsonb_array_elements(${docs}::jsonb -> 'jobs') x
      on conflict (username) do update set domain = excluded.domain, old_server = excluded.old_server, state = excluded.state, priority = excluded.priority,
        enqueued_at = excluded.enqueued_at, not_before = excluded.not_before, doc = excluded.doc, updated_at = now()`;
  }

  async enqueue(reqs: EnqueueRequest[], now: number): Promise<EnqueueResult[]> {
    try {
      return await this.enqueueInDatabase(reqs, now);
    } catch (e) {
      if (!(e instanceof SQL.SQLError)) throw e;
      // the database cannot be reached: kept here, pushed when it answers (refresh)
      return this.outbox.enqueue(reqs, now);
    }
  }

  private async enqueueInDatabase(reqs: EnqueueRequest[], now: number): Promise<EnqueueResult[]> {
    const results: EnqueueResult[] = [];
    for (let i = 0; i < reqs.length; i += BATCH) {
      const slice = reqs.slice(i, i + BATCH);
      const users = [...new Set(slice.map((r) => r.user))];
      results.push(
        ...(await this.sql.begin(async (tx) => {
          await this.lock(tx);
          const rows = await tx`select doc, node from automigrate_jobs where username = any(${users}::text[])`;
          const jobs = rows.map((r: { doc: unknown; node: unknown }) => jobOf(r.doc));
          const before = new Map(jobs.map((j: Job) => [j.user, JSON.stringify(j)]));
          const out = slice.map((r) => enqueue(jobs, { ...r, now }));
          await this.upsert(tx, jobs.filter((j: Job) => before.get(j.user) !== JSON.stringify(j)));
          await this.notify(tx);
          return out;
        })),
      );
    }
    return results;
  }

  async addIfAbsent(job: Job): Promise<{ job: Job; added: boolean }> {
    return this.sql.begin(async (tx) => {
      await this.lock(tx);
      const [row] = await tx`select doc, node from automigrate_jobs where username = ${job.user}`;
      if (row) return { job: jobOf(row.doc, row), added: false };
      await this.upsert(tx, [job]);
      await this.notify(tx);
      return { job, added: true };
    });
  }

  async started(): Promise<void> {}

  /** Running rows whose node is gone go back to the queue (a shutdown's "stopped": not an attempt). */
  private async reclaimDead(tx: Tx): Promise<void> {
    await tx`update automigrate_jobs set state = 'queued', node = null, claim = null, cancel = false, doc = jsonb_set(doc, '{state}', '"queued"'), updated_at = now()
      where state = 'running' and (node is null or not automigrate_node_alive(node))`;
  }

  async claim(limits: ClaimLimits, now: number, policy: PolicyLimits, busy: readonly string[]): Promise<Job | undefined> {
    return this.sql.begin(async (tx) => {
      await this.lock(tx);
      await this.reclaimDead(tx);
      const [mine] = await tx`select count(*)::int as n from automigrate_jobs where state = 'running' and node = ${this.node}`;
      if (Number(mine?.n ?? 0) >= limits.total) return undefined;
      const [row] = await tx`select j.doc from automigrate_jobs j, automigrate_queue_state q
        where q.id = 1 and not (q.paused->>'all')::boolean and not (q.paused->'domains' @> to_jsonb(j.domain))
          and j.state <> 'running' and coalesce(j.not_before, 0) <= ${now} and j.username <> all(${[...busy]}::text[])
          and (select count(*) from automigrate_jobs r where r.state = 'running' and r.old_server = j.old_server) < ${limits.perOldServer}
        order by j.priority, j.enqueued_at limit 1`;
      if (!row) return undefined;
      const job = jobOf(row.doc);
      const started = decide(job, { kind: "start" }, now, policy);
      if (!("patch" in started)) return undefined;
      Object.assign(job, { state: started.to, ...started.patch });
      const [c] = await tx`update automigrate_jobs set state = 'running', node = ${this.node}, claim = nextval('automigrate_claims'), cancel = false, doc = ${docOf(job)}::jsonb, updated_at = now()
        where username = ${job.user} returning claim::text as claim`;
      this.claims.set(job.user, String(c!.claim));
      job.node = this.node;
      await this.notify(tx);
      return job;
    });
  }

  async settle(job: Job, event: JobEvent, now: number, policy: PolicyLimits): Promise<Settled | undefined> {
    const claim = this.claims.get(job.user);
    if (claim === undefined) return undefined;
    const settled = await this.sql.begin(async (tx) => {
      await this.lock(tx);
      const [row] = await tx`select doc, cancel from automigrate_jobs where username = ${job.user} and claim = ${claim}::bigint for update`;
      if (!row) return undefined;
      // the row, not this daemon's copy: another node's login may have asked for one more pass
      const current = jobOf(row.doc);
      const verdict = decide(current, row.cancel ? { kind: "cancelled" } : event, now, policy);
      const after: Job = "patch" in verdict ? { ...current, state: verdict.to, ...verdict.patch } : current;
      switch (verdict.to) {
        case "unchanged":
          break;
        case "done":
        case "cancelled":
          await tx`delete from automigrate_jobs where username = ${job.user}`;
          break;
        case "failed": {
          await tx`delete from automigrate_jobs where username = ${job.user}`;
          const f: FailedJob = { ...current, state: "queued", lastError: verdict.error.reason, lastErrorCode: verdict.error.code, failedAt: now };
          await tx`insert into automigrate_failed (username, domain, doc, failed_at) values (${f.user}, ${f.domain}, ${docOf(f)}::jsonb, ${now})
            on conflict (username) do update set domain = excluded.domain, doc = excluded.doc, failed_at = excluded.failed_at`;
          break;
        }
        default:
          await tx`update automigrate_jobs set state = ${after.state}, priority = ${after.priority}, not_before = ${after.notBefore ?? null}, doc = ${docOf(after)}::jsonb,
            node = null, claim = null, cancel = false, updated_at = now() where username = ${job.user}`;
      }
      // an earlier failure of this user is over: it no longer counts as failed
      if (verdict.to === "done" || verdict.to === "scheduled") await tx`delete from automigrate_failed where username = ${job.user}`;
      await this.notify(tx);
      return { verdict, job: after };
    });
    this.claims.delete(job.user);
    return settled;
  }

  async cancel(sel: CancelSelection): Promise<{ jobs: Job[]; running: Job[]; failed: FailedJob[] }> {
    const picked = await this.sql.begin(async (tx) => {
      await this.lock(tx);
      const { jobs, failed } = await this.readAll(tx);
      const p = selectForCancel(jobs, failed, sel);
      const users = (l: { user: string }[]) => l.map((x) => x.user);
      await tx`delete from automigrate_jobs where username = any(${users(p.jobs)}::text[]) and state <> 'running'`;
      await tx`delete from automigrate_failed where username = any(${users(p.failed)}::text[])`;
      // a running job stops at its next safe point, on whichever node runs it
      await tx`update automigrate_jobs set cancel = true where username = any(${users(p.running)}::text[]) and state = 'running'`;
      await this.notify(tx);
      return p;
    });
    await this.refresh().catch(() => {});
    return picked;
  }

  async retry(user: string | undefined, now: number, policy: PolicyLimits): Promise<number> {
    const n = await this.sql.begin(async (tx) => {
      await this.lock(tx);
      const { jobs, failed } = await this.readAll(tx);
      const touched: Job[] = [];
      for (const f of failed) {
        if (user && f.user !== user) continue;
        const { failedAt: _f, ...job } = f;
        if (!jobs.some((j) => j.user === job.user)) touched.push({ ...job, state: "queued", attempts: 0, notBefore: undefined, reason: "retry", priority: PRIORITY.retry });
        await tx`delete from automigrate_failed where username = ${f.user}`;
      }
      for (const j of jobs) {
        if ((user && j.user !== user) || j.state !== "waiting") continue;
        const v = decide(j, { kind: "retry" }, now, policy);
        if ("patch" in v) touched.push({ ...j, state: v.to, ...v.patch });
      }
      await this.upsert(tx, touched);
      await this.notify(tx);
      return touched.length;
    });
    await this.refresh().catch(() => {});
    return n;
  }

  async setPaused(paused: boolean, domain?: string): Promise<void> {
    await this.sql.begin(async (tx) => {
      await this.lock(tx);
      const [row] = await tx`select paused from automigrate_queue_state where id = 1 for update`;
      const p = { all: false, domains: [] as string[], ...(row?.paused as Paused | undefined) };
      if (domain) p.domains = paused ? [...new Set([...p.domains, domain])] : p.domains.filter((d) => d !== domain);
      else p.all = paused;
      await tx`update automigrate_queue_state set paused = ${p}::jsonb where id = 1`;
      await this.notify(tx);
    });
    await this.refresh().catch(() => {});
  }

  cancelRequested(): readonly string[] {
    return this.cancelAsked;
  }

  /** Once per cluster: the first node whose firing reaches the database in a second of its clock takes it. */
  async firesHere(schedule: string): Promise<boolean> {
    const [row] = await this.sql`insert into automigrate_cron (name, fired_at, by_node) values (${schedule}, floor(extract(epoch from now()))::bigint, ${this.node})
      on conflict (name) do update set fired_at = excluded.fired_at, by_node = excluded.by_node where automigrate_cron.fired_at < excluded.fired_at
      returning by_node`;
    return row !== undefined;
  }

  async resumeInterrupted(): Promise<number> {
    // called with this node's lock held: no other process of this node runs them
    const rows = await this.sql`update automigrate_jobs set state = 'queued', node = null, claim = null, cancel = false, doc = jsonb_set(doc, '{state}', '"queued"'), updated_at = now()
      where state = 'running' and node = ${this.node} returning username`;
    await this.refresh();
    return rows.length;
  }

  private async readAll(tx: Tx): Promise<{ jobs: Job[]; failed: FailedJob[] }> {
    const jobs = (await tx`select doc, node, cancel from automigrate_jobs`).map((r: { doc: unknown; node: unknown }) => jobOf(r.doc, r));
    const failed = (await tx`select doc from automigrate_failed`).map((r: { doc: unknown }) => failedSchema.parse(r.doc) as FailedJob);
    return { jobs, failed };
  }

  /** Pushes the logins kept while the database was away, then reads the queue as the cluster has it. */
  async refresh(): Promise<void> {
    if (this.outbox.jobs().length) {
      const kept = [...this.outbox.jobs()];
      await this.enqueueInDatabase(
        kept.map((j) => ({ user: j.user, domain: j.domain, oldServer: j.oldServer, reason: j.reason, continuous: true })),
        Date.now(),
      );
      for (const j of kept) await this.outbox.drop(j);
    }
    const now = await readDatabaseQueue(this.sql);
    this.cache = now.jobs;
    this.cancelAsked = now.jobs.filter((j) => j.cancel && j.node === this.node).map((j) => j.user);
    this.failedCache = now.failed;
    this.pausedCache = now.paused;
  }

  flush(): Promise<void> {
    return this.outbox.flush();
  }
}

/**
 * A files home's queue into the database (`storage import`): its jobs (a job that was running
 * is queued again: the home's daemon is stopped), its failed jobs and its pause flags. A job
 * already in the database stays unless `replace`. Returns the counts copied.
 */
export async function importQueue(sql: SQL, from: { jobs: Job[]; failed: FailedJob[]; paused: Paused }, replace: boolean): Promise<{ jobs: number; failed: number }> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCKS.classid}::int, ${LOCKS.queue}::int)`;
    const jobs = { jobs: from.jobs.map((j) => docOf(j.state === "running" ? { ...j, state: "queued" } : j)) };
    const failed = { jobs: from.failed.map(docOf) };
    const j = replace
      ? await tx`insert into automigrate_jobs (username, domain, old_server, state, priority, enqueued_at, not_before, doc)
          select x->>'user', x->>'domain', x->>'oldServer', x->>'state', (x->>'priority')::int, (x->>'enqueuedAt')::bigint, (x->>'notBefore')::bigint, x
          from jsonb_array_elements(${jobs}::jsonb -> 'jobs') x
          on conflict (username) do update set state = excluded.state, priority = excluded.priority, enqueued_at = excluded.enqueued_at, not_before = excluded.not_before, doc = excluded.doc, node = null, claim = null, cancel = false
          returning username`
      : await tx`insert into automigrate_jobs (username, domain, old_server, state, priority, enqueued_at, not_before, doc)
          select x->>'user', x->>'domain', x->>'oldServer', x->>'state', (x->>'priority')::int, (x->>'enqueuedAt')::bigint, (x->>'notBefore')::bigint, x
          from jsonb_array_elements(${jobs}::jsonb -> 'jobs') x
          on conflict (username) do nothing returning username`;
    const f = replace
      ? await tx`insert into automigrate_failed (username, domain, doc, failed_at) select x->>'user', x->>'domain', x, (x->>'failedAt')::bigint from jsonb_array_elements(${failed}::jsonb -> 'jobs') x
          on conflict (username) do update set domain = excluded.domain, doc = excluded.doc, failed_at = excluded.failed_at returning username`
      : await tx`insert into automigrate_failed (username, domain, doc, failed_at) select x->>'user', x->>'domain', x, (x->>'failedAt')::bigint from jsonb_array_elements(${failed}::jsonb -> 'jobs') x
          on conflict (username) do nothing returning username`;
    if (from.paused.all || from.paused.domains.length) await tx`update automigrate_queue_state set paused = ${{ all: from.paused.all, domains: from.paused.domains }}::jsonb where id = 1`;
    await tx`select pg_notify(${QUEUE_CHANNEL}, 'import')`;
    return { jobs: j.length, failed: f.length };
  });
}

/** The queue as the database has it, for readers that are not a daemon (status while this node's daemon is stopped). */
export async function readDatabaseQueue(sql: SQL): Promise<{ jobs: Job[]; failed: FailedJob[]; paused: Paused }> {
  const jobs = (await sql`select doc, node, cancel from automigrate_jobs order by priority, enqueued_at`).map((r: { doc: unknown; node: unknown; cancel: unknown }) => jobOf(r.doc, r));
  const failed = (await sql`select doc from automigrate_failed order by failed_at`).map((r: { doc: unknown }) => failedSchema.parse(r.doc) as FailedJob);
  const [q] = await sql`select paused from automigrate_queue_state where id = 1`;
  return { jobs, failed, paused: { all: false, domains: [], ...(q?.paused as Paused | undefined) } };
}

/** Calls `changed` whenever any node changes the queue, and after a reconnect. */
export async function listenQueue(sql: SQL, changed: () => void): Promise<() => Promise<void>> {
  const sub = await sql.listen(QUEUE_CHANNEL, () => changed(), () => changed());
  return () => sub.unlisten();
}
