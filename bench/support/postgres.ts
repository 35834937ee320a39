// A throwaway PostgreSQL (Debian's postgresql) for the tests: initdb as an unprivileged user
// in a temporary directory, the server on a free port of 127.0.0.1 and a socket of its own,
// in a process group of its own (stopped with the test's servers even when the test fails),
// removed when stopped. Cluster mode's storage in the tests and in bench/cluster.ts.
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../tui/servers/dovecot.ts";
import { spawnServer, stopSpawned } from "../../tui/servers/processes.ts";

/** Polls `check` until it holds; throws naming `what` after timeoutMs. */
async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(100);
  }
}

export interface Postgres {
  host: string;
  port: number;
  /** The superuser's name (the unprivileged user that owns the cluster). */
  user: string;
  /** postgres://user@127.0.0.1:port/postgres (trust on 127.0.0.1: a test cluster only). */
  url: string;
  /** Its temporary directory (data and socket), removed by stop(). */
  dir: string;
  /** The postmaster's pid (its backends are its children). */
  pid: number;
  /** Runs SQL with psql (in database `db`, default postgres); its output (tuples only, unaligned). */
  sql(query: string, db?: string): string;
  /**
   * A login role with a password, owning a database of the same name, that must give that
   * password over TCP (scram-sha-256, as a production server asks) while the superuser keeps trust.
   */
  addRole(name: string, password: string): void;
  /** Stops the server, keeping its data (a database that went away). */
  down(): Promise<void>;
  /** Starts it again on the same port and data after down(). */
  up(): Promise<void>;
  stop(): Promise<void>;
}

/** The newest installed server's bin directory, or the fix. */
export function postgresBin(): string {
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions.length) throw new Error("the PostgreSQL tests need Debian's postgresql: as root, apt-get install -y postgresql (npm test's scripts/ensure-servers.sh does it)");
  return join(base, versions[0]!, "bin");
}

export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), "automigrate-pg-"));
  const data = join(dir, "data");
  // PostgreSQL refuses to run as root: as root, the cluster belongs to nobody
  const root = process.getuid?.() === 0;
  const user = root ? "nobody" : (spawnSync("id", ["-un"], { encoding: "utf8" }).stdout.trim() || "postgres");
  if (root) chownSync(dir, Number(spawnSync("id", ["-u", "nobody"], { encoding: "utf8" }).stdout.trim()), Number(spawnSync("id", ["-g", "nobody"], { encoding: "utf8" }).stdout.trim()));
  const as = (argv: string[]) => (root ? ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", ...argv] : argv);
  const initdb = as([join(bin, "initdb"), "-D", data, "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const init = spawnSync(initdb[0]!, initdb.slice(1), { encoding: "utf8" });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const argv = as([join(bin, "postgres"), "-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]);
  let stderr = "";
  const psql = (query: string, db = "postgres") => spawnSync("psql", ["-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", db, "-tA", "-v", "ON_ERROR_STOP=1", "-c", query], { encoding: "utf8" });
  const launch = async () => {
    const p = spawnServer(`postgres ${data}`, argv[0]!, argv.slice(1));
    p.stderr?.on("data", (d) => (stderr += d.toString()));
    await waitFor(() => {
      if (p.exitCode !== null) throw new Error(`postgres exited ${p.exitCode}: ${stderr}`);
      return psql("select 1").status === 0;
    }, 30_000, `postgres on port ${port}\n${stderr}`);
    return p;
  };
  let proc = await launch();
  return {
    host: "127.0.0.1",
    port,
    user,
    dir,
    url: `postgres://${user}@127.0.0.1:${port}/postgres`,
    sql: (query, db) => {
      const r = psql(query, db);
      if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
      return r.stdout.trim();
    },
    addRole: (name, password) => {
      const run = (q: string) => {
        const r = psql(q);
        if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
      };
      run(`create role "${name}" login password '${password.replaceAll("'", "''")}'`);
      run(`create database "${name}" owner "${name}"`);
      const hba = join(data, "pg_hba.conf");
      writeFileSync(hba, `host all ${name} 127.0.0.1/32 scram-sha-256\n` + readFileSync(hba, "utf8"));
      run("select pg_reload_conf()");
    },
    get pid() {
      return proc.pid!;
    },
    down: async () => {
      await stopSpawned(proc);
    },
    up: async () => {
      proc = await launch();
    },
    stop: async () => {
      await stopSpawned(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
