// Opening the cluster's database: storage.url (never with a password) and the password read
// from storage.passwordFile, which must be a regular file of mode 0600 or 0400 (the daemon's).
// The password is handed to the client only: never in argv, the environment, a log or an error.
import { SQL } from "bun";
import { readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { AutomigrateError, errorText } from "../../errors.ts";
import { describeDatabase, postgresUrlIssue } from "../postgres-url.ts";

export interface StorageSettings {
  driver: "files" | "postgres";
  url?: string;
  passwordFile?: string;
}

/** The database password from its file, or the reason it cannot be used. */
export function readPasswordFile(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new AutomigrateError(`storage.passwordFile ${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? errorText(e)}`, { file: path, hint: "create it with the database password on its first line, mode 0600, owned by the user automigrate runs as" }, { code: "CONFIG", exitCode: 2 });
  }
  if (!st.isFile()) throw new AutomigrateError(`storage.passwordFile ${path} is not a regular file`, { file: path, hint: "point storage.passwordFile at a file holding the password" }, { code: "CONFIG", exitCode: 2 });
  if ((st.mode & 0o077) !== 0) {
    throw new AutomigrateError(`storage.passwordFile ${path} has mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}: others could read the database password`, { file: path, hint: `chmod 600 ${path}` }, { code: "CONFIG", exitCode: 2 });
  }
  const first = readFileSync(path, "utf8").split(/\r?\n/, 1)[0] ?? "";
  if (!first) throw new AutomigrateError(`storage.passwordFile ${path} is empty`, { file: path, hint: "put the database password on its first line" }, { code: "CONFIG", exitCode: 2 });
  return first;
}

/** A pool on the database that storage.* names; nothing is sent until the first query. */
export function openDatabase(storage: StorageSettings, nodeName: string, opts: { max?: number } = {}): { sql: SQL; where: string } {
  if (storage.driver !== "postgres" || !storage.url) throw new AutomigrateError("storage.driver is not postgres", { hint: "automigrate config set storage.driver=postgres storage.url=postgres://user@host/db" }, { code: "CONFIG", exitCode: 2 });
  const problem = postgresUrlIssue(storage.url);
  if (problem) throw new AutomigrateError(`storage.url ${problem}`, {}, { code: "CONFIG", exitCode: 2 });
  const password = storage.passwordFile ? readPasswordFile(storage.passwordFile) : "";
  const where = describeDatabase(storage.url);
  const sql = new SQL({
    url: storage.url,
    password,
    max: opts.max ?? 3,
    idleTimeout: 30,
    connectionTimeout: 10,
    connection: { application_name: `automigrate ${nodeName}@${hostname()}`.slice(0, 63) },
  });
  return { sql, where };
}

/** A database failure as an admin's error: where, what, and what to do; never the password. Other errors pass through as they are. */
export function databaseError(e: unknown, where: string): unknown {
  // ours keep their code; anything that is not the database's (a schema refusal, a bug) is not called one
  if (e instanceof AutomigrateError || !(e instanceof SQL.SQLError)) return e;
  const err = e as { code?: string; errno?: string; message?: string };
  const text = errorText(e);
  if (/password authentication failed|SASL|authentication/i.test(text) || err.errno === "28P01" || err.errno === "28000") {
    return new AutomigrateError(`the database ${where} refused the login: ${text}`, { server: where, hint: "check storage.url's user and the password in storage.passwordFile, and pg_hba.conf on the database server" }, { code: "LOGIN_REFUSED" });
  }
  if (err.errno === "3D000") return new AutomigrateError(`the database ${where} does not exist: ${text}`, { server: where, hint: "create it (createdb -O <user> <name>) or fix storage.url" }, { code: "CONFIG", exitCode: 2 });
  return new AutomigrateError(`the database ${where} cannot be reached: ${text}`, { server: where, hint: "is PostgreSQL running and storage.url right? `automigrate storage check` tells" }, { code: "STORAGE", transient: true, cause: e });
}
