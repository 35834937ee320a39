// Cluster mode's routing data from this node: the accounts it knows to be on the new server,
// published to the database for Postfix's pgsql: map. A foreground run publishes its user at
// the route switch; the daemon publishes what it learns, in batches, and keeps what could not
// be published yet for the next try (a user once local stays local).
import type { Config } from "../config/schema.ts";
import { usesDatabase } from "../config/store.ts";
import { databaseOf, withDatabase } from "./open.ts";
import { publishLocalAccounts } from "./postgres/local-accounts.ts";

/** The route-switch announcement for a run (MigrateOptions.routeLocal): undefined for the files driver. */
export async function routeLocalFor(home: string, config: Config): Promise<((user: string) => Promise<void>) | undefined> {
  if (!usesDatabase(config)) return undefined;
  await databaseOf(home, config); // opened (and its schema current) before the run relies on it
  return async (user) => {
    await withDatabase(home, config, (db) => publishLocalAccounts(db.sql, [user], db.nodeName));
  };
}

/** Publishes users as local accounts from a long-running process: each once, retried until the database takes it. */
export class LocalRoutePublisher {
  private readonly published = new Set<string>();
  private readonly pending = new Set<string>();
  private flushing?: Promise<number>;

  constructor(private readonly publish: (users: string[]) => Promise<number>) {}

  note(users: Iterable<string>): void {
    for (const u of users) if (!this.published.has(u)) this.pending.add(u);
  }

  get waiting(): number {
    return this.pending.size;
  }

  /** Sends what is pending (one flush at a time); returns how many the database did not know yet. A failure keeps them pending. */
  flush(): Promise<number> {
    if (this.flushing) return this.flushing;
    const batch = [...this.pending];
    if (!batch.length) return Promise.resolve(0);
    this.flushing = this.publish(batch)
      .then((added) => {
        for (const u of batch) {
          this.pending.delete(u);
          this.published.add(u);
        }
        return added;
      })
      .finally(() => (this.flushing = undefined));
    return this.flushing;
  }
}
