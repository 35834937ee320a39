// Loading and saving config.json: validated, atomic, 0600, and safe against concurrent
// writers (CLI, TUI and daemon) through an exclusive lock file around read-modify-write.
import { AutomigrateError } from "../errors.ts";
import { homePaths } from "../home.ts";
import { ensureDir, readJsonFile, writeJsonFileAtomic } from "../store/json-file.ts";
import { acquireLock } from "../store/lock-file.ts";
import { CONFIG_VERSION, configSchema, emptyConfig, type Config } from "./schema.ts";
import { formatIssue, reservedKeyPath } from "./dotted.ts";
import { TIMEOUTS } from "../timeouts.ts";

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
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new AutomigrateError(`${file} is invalid:\n${parsed.error.issues.map((i) => "  " + formatIssue(i, "", configSchema)).join("\n")}`, {
      file,
      hint: "fix it with `automigrate config set` / `domain set`, or by hand",
    }, { code: "CORRUPT" });
  }
  return parsed.data;
}

export function loadConfig(home: string): Config {
  const file = homePaths(home).config;
  const raw = readJsonFile(file);
  return raw === null ? emptyConfig() : parseConfig(raw, file);
}

export function saveConfig(home: string, config: Config): void {
  // the last door: nothing written would be refused when read back
  const reserved = reservedKeyPath(config);
  if (reserved) throw new AutomigrateError(`${reserved.join(".")}: "${reserved[reserved.length - 1]}" is not a setting name (reserved); nothing was saved`, { file: homePaths(home).config }, { code: "INPUT", exitCode: 2 });
  const paths = homePaths(home);
  ensureDir(paths.root);
  writeJsonFileAtomic(paths.config, configSchema.parse(config));
}

/** Read-modify-write of config.json under an exclusive lock; no concurrent update is lost. */
export function updateConfig(home: string, change: (config: Config) => Config | void): Config {
  const paths = homePaths(home);
  ensureDir(paths.root);
  const release = acquireLock(`${paths.config}.lock`, { waitMs: TIMEOUTS.lockWaitMs, what: "the settings file" });
  try {
    const current = loadConfig(home);
    const next = change(current) ?? current;
    saveConfig(home, next);
    return next;
  } finally {
    release();
  }
}
