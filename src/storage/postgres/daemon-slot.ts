// A daemon's place on the cluster's database: a row in the node registry (name, host, pid,
// heartbeat) and, until the queue and the account state live in the database too, the
// database's single daemon slot: a session advisory lock held on a connection of its own.
// PostgreSQL lets the lock go the moment that connection ends (kill -9, a lost network), so a
// dead daemon never blocks the next. A second daemon on the same database is refused, naming
// the one that holds it: two daemons each with its own queue and state files would migrate
// one user twice.
import type { ReservedSQL, SQL } from "bun";
import { hostname } from "node:os";
import { AutomigrateError } from "../../errors.ts";
import { LOCKS } from "./schema.ts";

export interface NodeRow {
  name: string;
  host: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
}

/** Every node the database knows, newest heartbeat first. */
export async function listNodes(sql: SQL): Promise<NodeRow[]> {
  const rows = await sql`select name, host, pid, started_at, heartbeat_at from automigrate_nodes order by heartbeat_at desc`;
  return rows.map((r: Record<string, unknown>) => ({ name: String(r.name), host: String(r.host), pid: Number(r.pid), startedAt: new Date(r.started_at as string).toISOString(), heartbeatAt: new Date(r.heartbeat_at as string).toISOString() }));
}

export class DaemonSlot {
  private constructor(
    private readonly conn: ReservedSQL,
    readonly nodeName: string,
  ) {}

  /** Takes the slot and registers this node, or refuses with the holder named (NODE_CONFLICT). */
  static async take(sql: SQL, where: string, nodeName: string): Promise<DaemonSlot> {
    const conn = await sql.reserve();
    try {
      const [r] = await conn`select pg_try_advisory_lock(${LOCKS.classid}::int, ${LOCKS.daemonSlot}::int) as got`;
      if (!r?.got) {
        const holder = (await listNodes(sql))[0];
        const who = holder ? `node ${holder.name} on ${holder.host}, pid ${holder.pid}, last heartbeat ${holder.heartbeatAt}` : "a daemon that has not registered yet";
        throw new AutomigrateError(`another automigrate daemon runs on the database ${where} (${who})`, {
          server: where,
          hint: "one daemon per database for now: the shared settings are in the database, but the queue and the account state of a daemon are still in its home; stop the other daemon, or give this node a database of its own",
        }, { code: "NODE_CONFLICT" });
      }
      await conn`insert into automigrate_nodes (name, host, pid, started_at, heartbeat_at) values (${nodeName}, ${hostname()}, ${process.pid}, now(), now())
        on conflict (name) do update set host = excluded.host, pid = excluded.pid, started_at = now(), heartbeat_at = now()`;
      return new DaemonSlot(conn, nodeName);
    } catch (e) {
      conn.release();
      throw e;
    }
  }

  /** Notes that this node is alive; a failure means the slot's connection is gone (the caller takes it again). */
  async heartbeat(): Promise<void> {
    await this.conn`update automigrate_nodes set heartbeat_at = now(), host = ${hostname()}, pid = ${process.pid} where name = ${this.nodeName}`;
  }

  /** Leaves the registry and lets the slot go. */
  async release(): Promise<void> {
    try {
      await this.conn`delete from automigrate_nodes where name = ${this.nodeName} and pid = ${process.pid}`;
      await this.conn`select pg_advisory_unlock(${LOCKS.classid}::int, ${LOCKS.daemonSlot}::int)`;
    } finally {
      this.conn.release();
    }
  }
}
