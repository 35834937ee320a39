// `storage check`: is the database reachable, its schema current, and what it holds.
import { hostname } from "node:os";
import { loadLocalConfig, usesDatabase } from "../config/store.ts";
import { errorCode, errorText } from "../errors.ts";
import { homePaths } from "../home.ts";
import { databaseOf, withDatabase } from "./open.ts";
import { listNodes, type NodeRow } from "./postgres/node-slot.ts";
import { runningNow, type RunRow } from "./postgres/account-states.ts";
import { vaultKeyState } from "./vault.ts";
import type { Config } from "../config/schema.ts";
import { SCHEMA_VERSION, schemaVersion } from "./postgres/schema.ts";

export interface StorageCheck {
  driver: "files" | "postgres";
  ok: boolean;
  /** The settings' home: config.json's path, or the database (no password). */
  where: string;
  node?: string;
  schema?: { version: number; current: number };
  settings?: { version: number; domains: number; updatedAt?: string; updatedBy?: string };
  nodes?: (NodeRow & { alive: boolean })[];
  /** Whether this node's vault key opens the cluster's vault (unset: nothing sealed yet). */
  vaultKey?: "right" | "wrong" | "unset";
  error?: { code: string; message: string };
  /** What is still in this home's files in cluster mode. */
  inFiles?: string[];
}

/** The cluster as the database sees it: its nodes and the migrations running now, on which node. */
export interface ClusterView {
  database: string;
  node: string;
  nodes: (NodeRow & { alive: boolean })[];
  running: RunRow[];
}

export async function clusterView(home: string, local: Pick<Config, "storage" | "node">): Promise<ClusterView> {
  return withDatabase(home, local, async (db) => {
    return { database: db.where, node: db.nodeName, nodes: await listNodes(db.sql), running: await runningNow(db.sql) };
  });
}

/** The cluster view as lines for `status`. */
export function clusterLines(c: ClusterView): string[] {
  return [
    `cluster: database ${c.database}, this node ${c.node}`,
    ...(c.nodes.length ? c.nodes.map((n) => `  node ${n.name}: ${n.host} pid ${n.pid}, ${n.alive ? "alive" : "gone"} (last ${n.heartbeatAt})`) : ["  no daemon registered"]),
    ...c.running.map((r) => `  running ${r.user} on node ${r.node} (${r.host}, pid ${r.pid}) since ${r.startedAt}`),
  ];
}

export async function checkStorage(home: string): Promise<StorageCheck> {
  const local = loadLocalConfig(home);
  if (!usesDatabase(local)) return { driver: "files", ok: true, where: homePaths(home).config };
  const where = local.storage.url ?? "";
  try {
    const db = await databaseOf(home, local); // connects and brings the schema up to date
    const [row] = await db.sql`select version, doc, updated_at, updated_by from automigrate_settings where id = 1`;
    const vaultKey = await vaultKeyState(home, db);
    return {
      driver: "postgres",
      // usable: reachable, the schema current (databaseOf upgraded it), and this node's key the cluster's
      ok: vaultKey !== "wrong",
      where: db.where,
      node: db.nodeName,
      schema: { version: await schemaVersion(db.sql), current: SCHEMA_VERSION },
      settings: row
        ? { version: Number(row.version), domains: Object.keys((row.doc as { domains?: object }).domains ?? {}).length, updatedAt: new Date(row.updated_at).toISOString(), updatedBy: String(row.updated_by) }
        : { version: 0, domains: 0 },
      nodes: await listNodes(db.sql),
      vaultKey,
      inFiles: ["this node's login-log positions"],
    };
  } catch (e) {
    return { driver: "postgres", ok: false, where, node: local.node.name ?? hostname(), error: { code: errorCode(e), message: errorText(e) } };
  }
}
