// The shared settings in the cluster's database: one row, its document (the shared half of
// config.json, src/storage/node-keys.ts) and a version. A change is read, applied, validated
// whole by the same schema as config.json and written in one transaction under the row's lock
// (two admins editing at once never lose an update), then announced with NOTIFY so that every
// daemon reloads at once.
import type { SQL } from "bun";
import { hostname } from "node:os";
import type { Config } from "../../config/schema.ts";
import { joinParts, nodePart, sharedPart } from "../node-keys.ts";

export const SETTINGS_CHANNEL = "automigrate_settings";

type Json = Record<string, unknown>;

export interface SettingsRow {
  version: number;
  shared: Json;
}

export class DatabaseSettings {
  constructor(
    private readonly sql: SQL,
    readonly where: string,
    private readonly nodeName: string,
  ) {}

  /** The shared half and its version (0 and {} while nobody has written any). */
  async read(): Promise<SettingsRow> {
    const [row] = await this.sql`select version, doc from automigrate_settings where id = 1`;
    return row ? { version: Number(row.version), shared: row.doc as Json } : { version: 0, shared: {} };
  }

  /** The settings this node runs with: the database's shared half joined with its own half. */
  async load(local: Json, parse: (raw: unknown) => Config): Promise<{ config: Config; version: number }> {
    const row = await this.read();
    return { config: parse(joinParts(local, row.shared)), version: row.version };
  }

  /**
   * Applies `change` to the settings under the row's lock. `check` validates the result whole
   * (it throws, and nothing is written, when the change is refused). Returns the settings, the
   * new version, and this node's half when the change touched it (the caller writes config.json).
   * `force` writes a new version even when nothing changed (an import).
   */
  async update(local: Json, parse: (raw: unknown) => Config, change: (c: Config) => Config | void, check: (c: Config) => Json, opts: { force?: boolean } = {}): Promise<{ config: Config; version: number; node?: Json }> {
    return this.sql.begin(async (tx) => {
      await tx`insert into automigrate_settings (id, version, doc, updated_by) values (1, 0, '{}'::jsonb, ${this.by()}) on conflict (id) do nothing`;
      const [row] = await tx`select version, doc from automigrate_settings where id = 1 for update`;
      const current = parse(joinParts(local, row.doc as Json));
      // taken before the change runs: a change may edit the settings it is given in place
      const sharedBefore = JSON.stringify(sharedPart(current));
      const nodeBefore = JSON.stringify(nodePart(current));
      const next = check(change(current) ?? current);
      const shared = sharedPart(next);
      let version = Number(row.version);
      // compared as parsed settings (schema order): jsonb keeps keys in an order of its own
      if (opts.force || JSON.stringify(shared) !== sharedBefore) {
        version += 1;
        await tx`update automigrate_settings set doc = ${shared}, version = ${version}, updated_at = now(), updated_by = ${this.by()} where id = 1`;
        await tx`select pg_notify(${SETTINGS_CHANNEL}, ${String(version)})`;
      }
      const node = nodePart(next);
      return { config: parse(joinParts(node, shared)), version, node: JSON.stringify(node) === nodeBefore ? undefined : node };
    });
  }

  /** Calls `changed` with the new version whenever any node writes the settings, and after a reconnect (a change may have been missed). */
  async listen(changed: (version: number | undefined) => void): Promise<() => Promise<void>> {
    let first = true;
    const sub = await this.sql.listen(
      SETTINGS_CHANNEL,
      (payload) => changed(Number(payload) || undefined),
      () => {
        if (!first) changed(undefined);
        first = false;
      },
    );
    return () => sub.unlisten();
  }

  private by(): string {
    return `${this.nodeName} (${hostname()}, pid ${process.pid})`;
  }
}
