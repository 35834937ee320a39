// A daemon's place on the cluster's database: a row in the node registry (name, host, pid,
// heartbeat) and the node's lock, a session advisory lock keyed by the node's name and held on
// a connection of its own. The lock is what "alive" means: the queue gives a running job back
// when its node's lock is free (automigrate_node_alive, src/storage/postgres/queue.ts).
// PostgreSQL lets the lock go the moment that connection ends (kill -9); for a host that
// vanishes, the connection's TCP keepalives end it within NODE_LOSS_SECONDS. A second live
// daemon with the same node.name is refused, naming the one that holds it.
import type { ReservedSQL, SQL } from "bun";
import { hostname } from "node:os";
import { AutomigrateError } from "../../errors.ts";

export interface NodeRow {
  name: string;
  host: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
}

/** TCP keepalive of the node's connection: idle, interval, count (the server's side; a vanished host is dropped after about idle + interval × count seconds). */
const KEEPALIVE = { idle: 15, interval: 5, count: 4 } as const;
/** How long after a node's host vanishes its running jobs are given to other nodes, at most (the README's bound). */
export const NODE_LOSS_SECONDS = KEEPALIVE.idle + KEEPALIVE.interval * KEEPALIVE.count;

/** Every node the database knows, newest heartbeat first, with whether its daemon holds its lock now. */
export async function listNodes(sql: SQL): Promise<(NodeRow & { alive: boolean })[]> {
  const rows = await sql`select name, host, pid, started_at, heartbeat_at, automigrate_node_alive(name) as alive from automigrate_nodes order by heartbeat_at desc`;
  return rows.map((r: Record<string, unknown>) => ({ name: String(r.name), host: String(r.host), pid: Number(r.pid), startedAt: new Date(r.started_at as string).toISOString(), heartbeatAt: new Date(r.heartbeat_at as string).toISOString(), alive: r.alive === true }));
}

export class NodeSlot {
  private constructor(
    private readonly conn: ReservedSQL,
    readonly nodeName: string,
  ) {}

  /** Takes this node's lock and registers it, or refuses with the live holder of the same name named (NODE_CONFLICT). */
  static async take(sql: SQL, where: string, nodeName: string): Promise<NodeSlot> {
    const conn = await sql.reserve();
    try {
      await conn.unsafe(`set tcp_keepalives_idle = ${KEEPALIVE.idle}; set tcp_keepalives_interval = ${KEEPALIVE.interval}; set tcp_keepalives_count = ${KEEPALIVE.count}`);
      const [r] = await conn`select pg_try_advisory_lock(hashtextextended(${`automigrate node ${nodeName}`}, 0)) as got`;
      if (!r?.got) {
        const holder = (await listNodes(sql)).find((n) => n.name === nodeName);
        const who = holder ? `on ${holder.host}, pid ${holder.pid}, last heartbeat ${holder.heartbeatAt}` : "a daemon that has not registered yet";
        throw new AutomigrateError(`a daemon named ${nodeName} already runs on the database ${where} (${who})`, {
          server: where,
          hint: "give each node its own name (automigrate config set node.name=<name>), or stop the other daemon",
        }, { code: "NODE_CONFLICT" });
      }
      await conn`insert into automigrate_nodes (name, host, pid, started_at, heartbeat_at) values (${nodeName}, ${hostname()}, ${process.pid}, now(), now())
        on conflict (name) do update set host = excluded.host, pid = excluded.pid, started_at = now(), heartbeat_at = now()`;
      return new NodeSlot(conn, nodeName);
    } catch (e) {
      conn.release();
      throw e;
    }
  }

  /** Notes that this node is alive; a failure means the lock's connection is gone (the caller takes it again). */
  async heartbeat(): Promise<void> {
    await this.conn`update automigrate_nodes set heartbeat_at = now(), host = ${hostname()}, pid = ${process.pid} where name = ${this.nodeName}`;
  }

  /** Leaves the registry and lets the lock go. */
  async release(): Promise<void> {
    try {
      await this.conn`delete from automigrate_nodes where name = ${this.nodeName} and pid = ${process.pid}`;
      await this.conn`select pg_advisory_unlock(hashtextextended(${`automigrate node ${this.nodeName}`}, 0))`;
    } finally {
      this.conn.release();
    }
  }
}
