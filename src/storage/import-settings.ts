// `storage import`: a single-host home's settings copied into the cluster's database. The
// shared half of that home's config.json goes to the database in one transaction (refused
// over settings already there unless replacing is asked for); when the home is this node's
// own, its config.json keeps this node's keys only, and the whole file as it was is kept
// beside it (config.json.before-import).
import { copyFileSync, existsSync } from "node:fs";
import { resolve } from "node:path";
import { AutomigrateError } from "../errors.ts";
import { homePaths } from "../home.ts";
import { chosenSharedKeys, loadLocalConfig, parseConfig, usesDatabase } from "../config/store.ts";
import { configSchema, type Config } from "../config/schema.ts";
import { readJsonFile, writeJsonFileAtomic } from "../store/json-file.ts";
import { joinParts, nodePart, sharedPart } from "./node-keys.ts";
import { databaseOf, type Database } from "./open.ts";
import { acquireLock } from "../store/lock-file.ts";
import { knownAccountUsers, readAccountState, type AccountState } from "../store/account-state.ts";
import { onNewServer } from "../routing/local-accounts.ts";
import { canonicalUser } from "../address.ts";
import { readLedger } from "../accounts/license.ts";
import { Vault } from "../accounts/vault.ts";
import { vaultOf } from "./vault.ts";
import { publishLocalAccounts } from "./postgres/local-accounts.ts";
import { TIMEOUTS } from "../timeouts.ts";
import { databaseError } from "./postgres/connect.ts";
import { importQueue } from "./postgres/queue.ts";
import { readPaused, readQueue } from "../store/queue-store.ts";

export interface ImportResult {
  database: string;
  from: string;
  domains: number;
  classes: number;
  version: number;
  replaced: boolean;
  /** Where this home's config.json was kept before it was cut to this node's keys (importing one's own home). */
  keptAs?: string;
  /** Account state documents copied. */
  accounts: number;
  /** Of those, the accounts on the new server newly in the routing table. */
  localAccounts: number;
  /** Premium seats copied from the home's ledger. */
  seats: number;
  /** Captured and imported passwords copied from the home's vault (sealed again with this node's key). */
  passwords: number;
  /** Queued jobs and failed jobs copied. */
  jobs: number;
  failedJobs: number;
  /** What stays in the home's files (not in the database yet). */
  notImported: string[];
}

export async function importSettings(home: string, from: string, opts: { replace?: boolean } = {}): Promise<ImportResult> {
  const local = loadLocalConfig(home);
  if (!usesDatabase(local)) {
    throw new AutomigrateError(`this home (${home}) does not use a database: storage.driver is files`, { hint: "automigrate config set storage.driver=postgres storage.url=postgres://user@host/db storage.passwordFile=/etc/automigrate/db.pw, then storage import" }, { code: "CONFIG", exitCode: 2 });
  }
  const source = resolve(from);
  const file = homePaths(source).config;
  const raw = readJsonFile(file);
  if (raw === null) throw new AutomigrateError(`${file} does not exist: nothing to import`, { file, hint: "--from names a home directory (the one holding config.json)" }, { code: "NOT_FOUND", exitCode: 2 });
  // the source through the whole schema: an invalid home is refused before anything is written
  const imported = parseConfig(raw, file);
  if (!chosenSharedKeys(imported).length) throw new AutomigrateError(`${file} holds no shared settings of its own (only this node's keys and defaults): nothing to import`, { file }, { code: "INPUT", exitCode: 2 });
  const db = await databaseOf(home, local);
  const release = acquireLock(`${homePaths(home).config}.lock`, { waitMs: TIMEOUTS.lockWaitMs, what: "the settings file" });
  try {
    return await copyIn(home, db, raw as Record<string, unknown>, imported, source, file, opts);
  } finally {
    release();
  }
}

async function copyIn(home: string, db: Database, raw: Record<string, unknown>, imported: Config, source: string, file: string, opts: { replace?: boolean }): Promise<ImportResult> {
  const ownHome = source === resolve(home);
  let replaced = false;
  let version: number;
  let accounts = 0;
  let local = 0;
  let seats = 0;
  let passwords = 0;
  let queue = { jobs: 0, failed: 0 };
  try {
    const before = await db.settings.read();
    const [held] = await db.sql`select count(*)::int as n from automigrate_accounts`;
    if ((before.version > 0 || held.n > 0) && !opts.replace) {
      const domains = Object.keys((before.shared.domains as Record<string, unknown> | undefined) ?? {}).length;
      throw new AutomigrateError(`the database ${db.where} already holds settings (version ${before.version}, ${domains} domain${domains === 1 ? "" : "s"}) and ${held.n} account state${held.n === 1 ? "" : "s"}; nothing was imported`, { server: db.where, hint: "add --replace to overwrite them with this home's" }, { code: "INPUT", exitCode: 2 });
    }
    replaced = before.version > 0 || held.n > 0;
    const nodeHalf = nodePart(ownHome ? raw : (readJsonFile(homePaths(home).config) as Record<string, unknown>));
    const result = await db.settings.update(
      nodeHalf,
      (joined) => parseConfig(joined, `the settings in ${db.where}`),
      () => parseConfig(joinParts(nodeHalf, sharedPart(imported as unknown as Record<string, unknown>)), file),
      (c: Config) => configSchema.parse(c) as unknown as Record<string, unknown>,
      { force: true },
    );
    version = result.version;
    ({ accounts, local } = await copyAccountStates(db, source, Boolean(opts.replace)));
    seats = await copySeats(db, source);
    passwords = await copyVault(home, source);
    queue = await importQueue(db.sql, { ...readQueue(source), paused: readPaused(source) }, Boolean(opts.replace));
  } catch (e) {
    throw databaseError(e, db.where);
  }
  let keptAs: string | undefined;
  if (ownHome) {
    keptAs = existsSync(`${file}.before-import`) ? `${file}.before-import.${new Date().toISOString().replace(/[:.]/g, "-")}` : `${file}.before-import`;
    copyFileSync(file, keptAs);
    writeJsonFileAtomic(file, nodePart(raw));
  }
  return {
    database: db.where,
    from: source,
    domains: Object.keys(imported.domains).length,
    classes: Object.values(imported.domains).reduce((n, d) => n + Object.keys(d.classes).length, 0),
    version,
    accounts,
    localAccounts: local,
    seats,
    passwords,
    jobs: queue.jobs,
    failedJobs: queue.failed,
    replaced,
    keptAs,
    notImported: ["the login logs' positions (each node reads its own logs from where its own files say)"],
  };
}

/** The home's premium seats into the database's ledger (a seat already there stays). */
async function copySeats(db: Database, source: string): Promise<number> {
  const premium = readLedger(source).premium.map(canonicalUser);
  if (!premium.length) return 0;
  const rows = await db.sql`insert into automigrate_seats (username) select unnest(${premium}::text[]) on conflict (username) do nothing returning username`;
  return rows.length;
}

/**
 * The home's vault into the database's: each record opened with the source home's key and
 * sealed again with this node's (the cluster's); a record its own key cannot open is refused.
 */
async function copyVault(home: string, source: string): Promise<number> {
  const from = new Vault(source);
  const into = vaultOf(home);
  let n = 0;
  for (const user of from.users()) {
    const secret = from.get(user);
    if (secret === undefined) continue;
    await into.put(user, secret);
    n++;
  }
  return n;
}

/** Rows per statement when copying account states. */
const SLICE = 500;

/**
 * Every account state document of a files home into the database (each through the schema;
 * one that does not parse is refused by name before anything of the accounts is written), and
 * the accounts that are on the new server into the routing table.
 */
async function copyAccountStates(db: Database, source: string, replace: boolean): Promise<{ accounts: number; local: number }> {
  const states: AccountState[] = [];
  for (const user of knownAccountUsers(source)) {
    const s = readAccountState(source, user);
    if (!s) throw new AutomigrateError(`the state of ${user} in ${source} cannot be read as one: nothing of the accounts was imported`, { user, file: source, hint: "fix or remove that file of state/accounts, then import again with --replace" }, { code: "CORRUPT", exitCode: 2 });
    states.push(s);
  }
  for (let i = 0; i < states.length; i += SLICE) {
    const slice = states.slice(i, i + SLICE);
    const users = slice.map((s) => canonicalUser(s.user));
    const docs = slice.map((s) => JSON.stringify(s));
    if (replace) {
      await db.sql`insert into automigrate_accounts (username, doc) select u, d::jsonb from unnest(${users}::text[], ${docs}::text[]) as t(u, d)
        on conflict (username) do update set doc = excluded.doc, version = automigrate_accounts.version + 1, updated_at = now()`;
    } else {
      await db.sql`insert into automigrate_accounts (username, doc) select u, d::jsonb from unnest(${users}::text[], ${docs}::text[]) as t(u, d)`;
    }
  }
  const local = await publishLocalAccounts(db.sql, states.filter(onNewServer).map((s) => s.user), db.nodeName);
  return { accounts: states.length, local };
}
