// Loading and saving config.json: validated, atomic, 0600, and safe against concurrent
// writers (CLI, TUI and daemon) through an exclusive lock file around read-modify-write;
// in cluster mode (storage.driver postgres) the shared settings come from the database.
import { AutomigrateError } from "../errors.ts";
import { homePaths } from "../home.ts";
import { ensureDir, readJsonFile, writeJsonFileAtomic } from "../store/json-file.ts";
import { acquireLock } from "../store/lock-file.ts";
import { CONFIG_VERSION, configSchema, emptyConfig, type Config } from "./schema.ts";
import { formatIssue, reservedKeyPath } from "./dotted.ts";
import { TIMEOUTS } from "../timeouts.ts";
import { dirname } from "node:path";
import { nodePart, sharedPart } from "../storage/node-keys.ts";
import { databaseOf } from "../storage/open.ts";
import { databaseError } from "../storage/postgres/connect.ts";

export function parseConfig(raw: unknown, file: string): Config {
  if (raw && typeof raw === "object" && "version" in raw && typeof raw.version === "number" && raw.version > CONFIG_VERSION) {
    throw new AutomigrateError(`${file} has schema version ${raw.version}; this automigrate knows up to ${CONFIG_VERSION}`, {
      file,
      hint: "upgrade automigrate",
    }, { code: "CONFIG" });
  }
  // a hand-edited file: zod would drop a "__proto__" key silently; it is refused, by its path
  const reserved = reservedKeyPath(raw);
  if (reserved) {
    throw new AutomigrateError(`${file} is invalid:\n  ${reserved.join(".")}: "${reserved[reserved.length - 1]}" is not a setting name (it is reserved: it would reach the prototype of every object)`, {
      file,
      hint: "remove that key from the file",
    }, { code: "CORRUPT" });
  }
  // without zod's compiled fast path: the config is parsed once or twice per process, and
  // compiling its many object schemas cost more (about 13 ms of every command's start) than
  // it saves; documents parsed in bulk (account states, jobs) keep it
  const parsed = configSchema.safeParse(raw, { jitless: true });
  if (!parsed.success) {
    throw new AutomigrateError(`${file} is invalid:\n${parsed.error.issues.map((i) => "  " + formatIssue(i, "", configSchema)).join("\n")}`, {
      file,
      hint: "fix it with `automigrate config set` / `domain set`, or by hand",
    }, { code: "CORRUPT" });
  }
  return parsed.data;
}

/** config.json as it is on disk (null when there is none), and its path. */
function readLocal(home: string): { raw: unknown; file: string } {
  const file = homePaths(home).config;
  return { raw: readJsonFile(file), file };
}

/**
 * This host's config.json through the schema, without the database: the files driver's
 * settings, and in cluster mode this node's own half (storage.*, node.name, logins, sockets).
 */
export function loadLocalConfig(home: string): Config {
  const { raw, file } = readLocal(home);
  return raw === null ? emptyConfig() : parseConfig(raw, file);
}

/** True when this home's settings live in a database (storage.driver postgres). */
export function usesDatabase(config: Pick<Config, "storage">): boolean {
  return config.storage.driver === "postgres";
}

/**
 * The shared settings (top-level names) that a config.json sets to something else than their
 * defaults: in cluster mode they live in the database, and a value left in the file would
 * silently lose to the database's. Defaults (what a files-mode write always spells out) are
 * nobody's choice and lose nothing.
 */
export function chosenSharedKeys(config: Config): string[] {
  const defaults = sharedPart(emptyConfig() as unknown as Record<string, unknown>);
  const mine = sharedPart(config as unknown as Record<string, unknown>);
  return Object.keys(mine).filter((k) => JSON.stringify(mine[k]) !== JSON.stringify(defaults[k]));
}

function refuseSharedKeys(local: Config, file: string, where: string): void {
  const left = chosenSharedKeys(local);
  if (!left.length) return;
  throw new AutomigrateError(
    `${file} sets storage.driver postgres but still holds shared settings (${left.join(", ")}); in cluster mode they live in the database ${where}`,
    { file, hint: `run \`automigrate storage import --from ${dirname(file)}\` once: it copies them into the database and leaves config.json with this node's keys only` },
    { code: "CONFIG", exitCode: 2 },
  );
}

/** The settings: config.json, or in cluster mode the database's shared half joined with this node's config.json. */
export async function loadConfig(home: string): Promise<Config> {
  return (await loadConfigVersion(home)).config;
}

/** loadConfig, and the database's settings version (0 for the files driver). */
export async function loadConfigVersion(home: string): Promise<{ config: Config; version: number }> {
  const local = loadLocalConfig(home);
  if (!usesDatabase(local)) return { config: local, version: 0 };
  const { raw, file } = readLocal(home);
  const db = await databaseOf(home, local);
  refuseSharedKeys(local, file, db.where);
  try {
    return await db.settings.load((raw ?? {}) as Record<string, unknown>, (joined) => parseConfig(joined, `the settings in ${db.where} with ${file}`));
  } catch (e) {
    throw databaseError(e, db.where);
  }
}

/** The last door: a settings document that would be refused when read back is never written. */
function checkedForSave(config: Config, where: string): Config {
  const reserved = reservedKeyPath(config);
  if (reserved) throw new AutomigrateError(`${reserved.join(".")}: "${reserved[reserved.length - 1]}" is not a setting name (reserved); nothing was saved`, { file: where }, { code: "INPUT", exitCode: 2 });
  return configSchema.parse(config, { jitless: true });
}

function saveConfigFile(home: string, config: Config): void {
  const paths = homePaths(home);
  ensureDir(paths.root);
  writeJsonFileAtomic(paths.config, checkedForSave(config, paths.config));
}

/**
 * Read-modify-write of the settings; no concurrent update is lost: config.json under an
 * exclusive lock, or in cluster mode the database's row under its lock (and this node's
 * config.json when the change touched a per-node key). A change that throws writes nothing.
 */
export async function updateConfig(home: string, change: (config: Config) => Config | void): Promise<Config> {
  const paths = homePaths(home);
  ensureDir(paths.root);
  const release = acquireLock(`${paths.config}.lock`, { waitMs: TIMEOUTS.lockWaitMs, what: "the settings file" });
  try {
    const local = loadLocalConfig(home);
    if (!usesDatabase(local)) {
      const next = change(local) ?? local;
      // a home that switches to a database with nothing of its own to share keeps this node's keys only
      if (usesDatabase(next) && !chosenSharedKeys(next).length) writeJsonFileAtomic(paths.config, nodePart(checkedForSave(next, paths.config) as unknown as Record<string, unknown>));
      else saveConfigFile(home, next);
      return next;
    }
    const { raw, file } = readLocal(home);
    const db = await databaseOf(home, local);
    refuseSharedKeys(local, file, db.where);
    let result;
    try {
      result = await db.settings.update(
        (raw ?? {}) as Record<string, unknown>,
        (joined) => parseConfig(joined, `the settings in ${db.where} with ${file}`),
        change,
        (c) => checkedForSave(c, db.where) as unknown as Record<string, unknown>,
      );
    } catch (e) {
      throw databaseError(e, db.where);
    }
    if (result.node) writeJsonFileAtomic(paths.config, result.node);
    return result.config;
  } finally {
    release();
  }
}
