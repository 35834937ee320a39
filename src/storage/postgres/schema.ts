// The cluster database's schema: versioned migrations, applied by whichever node starts first
// under a transaction-scoped advisory lock (several nodes starting at once queue on the lock;
// the second finds the schema current and changes nothing). A database newer than this
// automigrate is refused: an old node must not write a shape it does not know.
import type { SQL } from "bun";
import { AutomigrateError } from "../../errors.ts";

/** Advisory lock keys of automigrate (classid 0x616d = "am"; objid per purpose). */
export const LOCKS = { classid: 0x616d, schema: 1, seats: 3, queue: 4 } as const;

/** Each entry upgrades the schema by one version; never edit one that has shipped, add the next. */
export const MIGRATIONS: readonly { version: number; what: string; sql: string }[] = [
  {
    version: 1,
    what: "shared settings and the node registry",
    sql: `
      create table automigrate_settings (
        id smallint primary key check (id = 1),
        version bigint not null,
        doc jsonb not null,
        updated_at timestamptz not null default now(),
        updated_by text not null
      );
      create table automigrate_nodes (
        name text primary key,
        host text not null,
        pid integer not null,
        started_at timestamptz not null default now(),
        heartbeat_at timestamptz not null default now()
      );
    `,
  },
  {
    version: 2,
    what: "routing: the accounts on the new server, and the answer Postfix's pgsql: map asks for",
    sql: `
      create table automigrate_local_accounts (
        username text primary key,
        since timestamptz not null default now(),
        by_node text not null
      );
      -- What the daemon's socketmap answers (src/routing/transport-map.ts routeAddress), in SQL so
      -- that an MX with no daemon routes alike: the local transport for an account on the new
      -- server, smtp:[old]:port for the others of a migrating domain, nothing (NULL) for other
      -- domains or keys; the extension (recipientDelimiter) stripped. A local account while
      -- routing.localTransport is unset raises an error: Postfix defers the mail (socketmap: TEMP).
      create function automigrate_route(address text) returns text
      language plpgsql stable security definer set search_path from current as $fn$
      declare
        k text := lower(btrim(address));
        at integer;
        localpart text;
        domain text;
        cfg jsonb;
        d jsonb;
        delimiters text;
        i integer;
        smtp text;
      begin
        at := length(k) - strpos(reverse(k), '@') + 1;
        if strpos(k, '@') = 0 or at <= 1 or at = length(k) then return null; end if;
        localpart := substr(k, 1, at - 1);
        domain := substr(k, at + 1);
        select doc into cfg from automigrate_settings where id = 1;
        d := cfg -> 'domains' -> domain;
        if d is null then return null; end if;
        delimiters := coalesce(cfg -> 'routing' ->> 'recipientDelimiter', '+');
        if delimiters <> '' then
          for i in 2 .. length(localpart) loop
            if strpos(delimiters, substr(localpart, i, 1)) > 0 then
              localpart := substr(localpart, 1, i - 1);
              exit;
            end if;
          end loop;
        end if;
        if exists (select 1 from automigrate_local_accounts where username = localpart || '@' || domain) then
          if cfg -> 'routing' ->> 'localTransport' is null then
            raise exception 'automigrate: % exists on the new server but routing.localTransport is not set', localpart || '@' || domain;
          end if;
          return cfg -> 'routing' ->> 'localTransport';
        end if;
        if not coalesce((d -> 'migration' ->> 'enabled')::boolean, false) then return null; end if;
        smtp := coalesce(d -> 'migration' -> 'old' ->> 'smtpHost', d -> 'migration' -> 'old' ->> 'host');
        if smtp is null then return null; end if;
        return 'smtp:[' || btrim(smtp, '[]') || ']:' || coalesce(d -> 'migration' -> 'old' ->> 'smtpPort', '25');
      end
      $fn$;
      -- Postfix's role is given EXECUTE (README "Several nodes"); nobody else by default
      revoke execute on function automigrate_route(text) from public;
    `,
  },
  {
    version: 3,
    what: "account state (the document of state/accounts/<user>.json) and the runs under way",
    sql: `
      create table automigrate_accounts (
        username text primary key,
        doc jsonb not null,
        version bigint not null default 0,
        updated_at timestamptz not null default now()
      );
      create table automigrate_runs (
        username text primary key,
        node text not null,
        host text not null,
        pid integer not null,
        started_at timestamptz not null default now()
      );
    `,
  },
  {
    version: 4,
    what: "the seat ledger: the accounts that hold a premium seat",
    sql: `
      create table automigrate_seats (
        username text primary key,
        taken_at timestamptz not null default now()
      );
    `,
  },
  {
    version: 5,
    what: "the vault: captured passwords sealed with the nodes' shared key file, and a record that tells a node whether its key is that one",
    sql: `
      create table automigrate_vault (
        username text primary key,
        record jsonb not null,
        updated_at timestamptz not null default now()
      );
      create table automigrate_vault_key (
        id smallint primary key check (id = 1),
        record jsonb not null
      );
    `,
  },
  {
    version: 6,
    what: "the queue across the nodes: jobs (the running ones with their node and claim), failed jobs, the pause flags, the cron schedules' last firing",
    sql: `
      -- whether a session advisory lock on this bigint key is held now (by any session)
      create function automigrate_lock_held(key bigint) returns boolean
      language sql stable as $fn$
        select exists (select 1 from pg_locks l where l.locktype = 'advisory' and l.granted and l.objsubid = 1
          and ((l.classid::bigint << 32) | l.objid::bigint) = key)
      $fn$;
      -- a node is alive while its daemon holds the node's lock (src/storage/postgres/node-slot.ts)
      create function automigrate_node_alive(node text) returns boolean
      language sql stable as $fn$ select automigrate_lock_held(hashtextextended('automigrate node ' || node, 0)) $fn$;
      create table automigrate_jobs (
        username text primary key,
        domain text not null,
        old_server text not null,
        state text not null,
        priority integer not null,
        enqueued_at bigint not null,
        not_before bigint,
        doc jsonb not null,
        node text,
        claim bigint,
        cancel boolean not null default false,
        updated_at timestamptz not null default now()
      );
      create index automigrate_jobs_due on automigrate_jobs (priority, enqueued_at) where state <> 'running';
      create index automigrate_jobs_running on automigrate_jobs (old_server) where state = 'running';
      create sequence automigrate_claims;
      create table automigrate_failed (
        username text primary key,
        domain text not null,
        doc jsonb not null,
        failed_at bigint not null
      );
      create table automigrate_queue_state (
        id smallint primary key check (id = 1),
        paused jsonb not null
      );
      insert into automigrate_queue_state (id, paused) values (1, '{"all": false, "domains": []}'::jsonb);
      create table automigrate_cron (
        name text primary key,
        fired_at bigint not null,
        by_node text not null
      );
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The schema's version as the database has it (0: none yet). */
export async function schemaVersion(sql: SQL): Promise<number> {
  const [exists] = await sql`select to_regclass('automigrate_schema') is not null as present`;
  if (!exists?.present) return 0;
  const [row] = await sql`select version from automigrate_schema where id = 1`;
  return Number(row?.version ?? 0);
}

/** Brings the schema to SCHEMA_VERSION; returns the versions applied (none when it was current). */
export async function upgradeSchema(sql: SQL, where: string): Promise<number[]> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCKS.classid}::int, ${LOCKS.schema}::int)`;
    await tx`create table if not exists automigrate_schema (id smallint primary key check (id = 1), version integer not null)`;
    const [row] = await tx`select version from automigrate_schema where id = 1`;
    const from = Number(row?.version ?? 0);
    if (from > SCHEMA_VERSION) {
      throw new AutomigrateError(`the database ${where} has automigrate schema version ${from}; this automigrate knows up to ${SCHEMA_VERSION}`, { server: where, hint: "upgrade automigrate on this node to the version the other nodes run" }, { code: "CONFIG" });
    }
    const applied: number[] = [];
    for (const m of MIGRATIONS.filter((x) => x.version > from)) {
      await tx.unsafe(m.sql);
      applied.push(m.version);
    }
    if (applied.length) await tx`insert into automigrate_schema (id, version) values (1, ${SCHEMA_VERSION}) on conflict (id) do update set version = excluded.version`;
    return applied;
  });
}
