// Account state in the cluster's database (storage.driver postgres): one row per user holding
// the same document as the files driver's state/accounts/<user>.json, validated by the same
// schema. A writer applies its change and writes the row only if nobody wrote it since it read
// it (a version column); otherwise it reads the row again and applies the change to that, so
// no writer overwrites another's change. The run lock is a session advisory lock on a
// connection of its own: exclusive across every node, and let go by PostgreSQL the moment
// the process holding it dies (kill -9), so the next run on any node resumes the state.
import type { ReservedSQL, SQL } from "bun";
import { hostname } from "node:os";
import { canonicalUser } from "../../address.ts";
import { AutomigrateError } from "../../errors.ts";
import { accountStateSchema, type AccountState, type FolderState } from "../../store/account-state.ts";
import type { AccountDocument, AccountStates } from "../account-states.ts";
import { databaseError } from "./connect.ts";

export interface AccountDatabase {
  sql: SQL;
  where: string;
  nodeName: string;
}

/** Tries before a writer gives up on a row that keeps changing under it. */
const WRITE_TRIES = 20;

function parseDoc(raw: unknown, user: string, where: string): AccountState {
  const r = accountStateSchema.safeParse(raw);
  if (!r.success) {
    throw new AutomigrateError(`the state of ${user} in ${where} is invalid: ${r.error.issues[0]?.path.join(".")}: ${r.error.issues[0]?.message}`, { user, server: where, hint: "fix or delete that row of automigrate_accounts" }, { code: "CORRUPT" });
  }
  return r.data;
}

class DatabaseAccountDocument implements AccountDocument {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: AccountDatabase,
    private current: AccountState,
    private version: number,
  ) {}

  get data(): AccountState {
    return this.current;
  }

  folder(old: string): FolderState | undefined {
    return this.current.folders[old];
  }

  update(change: (s: AccountState) => void): Promise<void> {
    const run = this.chain.then(async () => {
      const user = this.current.user;
      for (let attempt = 1; ; attempt++) {
        change(this.current);
        let rows;
        try {
          rows = await this.db.sql`update automigrate_accounts set doc = ${this.current}, version = version + 1, updated_at = now() where username = ${user} and version = ${this.version} returning version`;
        } catch (e) {
          throw databaseError(e, this.db.where);
        }
        if (rows.length) {
          this.version = Number(rows[0].version);
          return;
        }
        // another writer was first: its change stays, this one is applied to what it wrote
        if (attempt >= WRITE_TRIES) throw new AutomigrateError(`the state of ${user} keeps changing under this writer (${WRITE_TRIES} tries)`, { user, server: this.db.where }, { code: "LOCKED", transient: true });
        await this.reload();
      }
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

  close(): void {}

  private async reload(): Promise<void> {
    const [row] = await this.db.sql`select doc, version from automigrate_accounts where username = ${this.current.user}`;
    if (!row) throw new AutomigrateError(`the state of ${this.current.user} was deleted from ${this.db.where} while in use`, { user: this.current.user, server: this.db.where }, { code: "CORRUPT" });
    this.current = parseDoc(row.doc, this.current.user, this.db.where);
    this.version = Number(row.version);
  }
}

export interface RunRow {
  user: string;
  node: string;
  host: string;
  pid: number;
  startedAt: string;
}

/**
 * The migrations running now across the cluster: the runs whose lock is held (a run killed
 * with kill -9 leaves its row, but PostgreSQL let its lock go with its connection).
 */
export async function runningNow(sql: SQL): Promise<RunRow[]> {
  const rows = await sql`select r.username, r.node, r.host, r.pid, r.started_at from automigrate_runs r
    where exists (select 1 from pg_locks l where l.locktype = 'advisory' and l.granted and l.objsubid = 1
      and ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended('automigrate run ' || r.username, 0))
    order by r.started_at`;
  return rows.map((r: Record<string, unknown>) => ({ user: String(r.username), node: String(r.node), host: String(r.host), pid: Number(r.pid), startedAt: new Date(r.started_at as string).toISOString() }));
}

export class DatabaseAccountStates implements AccountStates {
  constructor(private readonly database: () => Promise<AccountDatabase>) {}

  private async db<T>(work: (db: AccountDatabase) => Promise<T>): Promise<T> {
    const db = await this.database();
    try {
      return await work(db);
    } catch (e) {
      throw databaseError(e, db.where);
    }
  }

  open(user: string): Promise<AccountDocument> {
    const u = canonicalUser(user);
    return this.db(async (db) => {
      await db.sql`insert into automigrate_accounts (username, doc, version) values (${u}, ${accountStateSchema.parse({ user: u })}, 0) on conflict (username) do nothing`;
      const [row] = await db.sql`select doc, version from automigrate_accounts where username = ${u}`;
      return new DatabaseAccountDocument(db, parseDoc(row.doc, u, db.where), Number(row.version));
    });
  }

  read(user: string): Promise<AccountState | null> {
    const u = canonicalUser(user);
    return this.db(async (db) => {
      const [row] = await db.sql`select doc from automigrate_accounts where username = ${u}`;
      const r = row ? accountStateSchema.safeParse(row.doc) : undefined;
      return r?.success ? r.data : null;
    });
  }

  users(): Promise<string[]> {
    return this.db(async (db) => (await db.sql`select username from automigrate_accounts order by username`).map((r: { username: string }) => r.username));
  }

  async forEach(visit: (user: string, state: AccountState | null) => Promise<void> | void): Promise<void> {
    let after = "";
    for (;;) {
      const rows = await this.db(async (db) => db.sql`select username, doc from automigrate_accounts where username > ${after} order by username limit 1000`);
      if (!rows.length) return;
      for (const row of rows as { username: string; doc: unknown }[]) {
        const r = accountStateSchema.safeParse(row.doc);
        await visit(row.username, r.success ? r.data : null);
      }
      after = (rows[rows.length - 1] as { username: string }).username;
    }
  }

  lockRun(user: string): Promise<() => Promise<void>> {
    const u = canonicalUser(user);
    return this.db(async (db) => {
      const conn: ReservedSQL = await db.sql.reserve();
      try {
        const [r] = await conn`select pg_try_advisory_lock(hashtextextended(${`automigrate run ${u}`}, 0)) as got`;
        if (!r?.got) {
          const [holder] = await conn`select node, host, pid, started_at from automigrate_runs where username = ${u}`;
          const who = holder ? ` on node ${holder.node} (${holder.host}, pid ${holder.pid}) since ${new Date(holder.started_at).toISOString()}` : "";
          throw new AutomigrateError(`a migration of ${u} is already running${who}`, { user: u, hint: "`automigrate status` shows its progress; it resumes on any node if that one dies" }, { code: "LOCKED" });
        }
        await conn`insert into automigrate_runs (username, node, host, pid, started_at) values (${u}, ${db.nodeName}, ${hostname()}, ${process.pid}, now())
          on conflict (username) do update set node = excluded.node, host = excluded.host, pid = excluded.pid, started_at = now()`;
      } catch (e) {
        conn.release();
        throw e;
      }
      return async () => {
        try {
          await conn`delete from automigrate_runs where username = ${u} and pid = ${process.pid} and host = ${hostname()}`;
          await conn`select pg_advisory_unlock(hashtextextended(${`automigrate run ${u}`}, 0))`;
        } catch {
          // the connection is gone: PostgreSQL let the lock go with it
        } finally {
          conn.release();
        }
      };
    });
  }
}
