// One database pool per home for the life of the process (the CLI exits, the daemon and the
// console close it), with the schema brought up to date once when it is first opened.
import { hostname } from "node:os";
import type { SQL } from "bun";
import type { Config } from "../config/schema.ts";
import { databaseError, openDatabase } from "./postgres/connect.ts";
import { upgradeSchema } from "./postgres/schema.ts";
import { DatabaseSettings } from "./postgres/settings.ts";

export interface Database {
  sql: SQL;
  /** The database as shown to admins (no password). */
  where: string;
  nodeName: string;
  settings: DatabaseSettings;
}

const open = new Map<string, Promise<Database>>();

/**
 * Connections per pool. Bun's client opens a pool's connections at its first query, and each
 * costs the database server a backend (about 20-30 ms of its CPU to start): a command opens
 * few; the daemon, whose running migrations each hold one for their run lock, sets more.
 */
let poolSize = 3;

/** The pool size of the databases this process opens from now on (the daemon: workers plus its own). */
export function setDatabasePoolSize(n: number): void {
  poolSize = n;
}

/** This node's name in the cluster: node.name, else the host name (cut to a node name's shape). */
export function nodeNameOf(config: Pick<Config, "node">): string {
  return config.node.name ?? (hostname().replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63) || "node");
}

/** The database of a home whose config.json says storage.driver postgres; opened and upgraded once per process. */
export function databaseOf(home: string, local: Pick<Config, "storage" | "node">): Promise<Database> {
  const key = `${home}\0${local.storage.url}\0${local.storage.passwordFile ?? ""}`;
  let db = open.get(key);
  if (!db) {
    db = (async () => {
      const nodeName = nodeNameOf(local);
      const { sql, where } = openDatabase(local.storage, nodeName, { max: poolSize });
      try {
        await upgradeSchema(sql, where);
      } catch (e) {
        await sql.close().catch(() => {});
        throw databaseError(e, where);
      }
      return { sql, where, nodeName, settings: new DatabaseSettings(sql, where, nodeName) };
    })();
    open.set(key, db);
    db.catch(() => open.delete(key));
  }
  return db;
}

/** Runs `work` on the home's database; a failure of the database is named as its own (databaseError), anything else passes through. */
export async function withDatabase<T>(home: string, local: Pick<Config, "storage" | "node">, work: (db: Database) => Promise<T>): Promise<T> {
  const db = await databaseOf(home, local);
  try {
    return await work(db);
  } catch (e) {
    throw databaseError(e, db.where);
  }
}

/** Closes every pool this process opened. */
export async function closeDatabases(): Promise<void> {
  const all = [...open.values()];
  open.clear();
  await Promise.all(all.map((p) => p.then((d) => d.sql.close()).catch(() => {})));
}
