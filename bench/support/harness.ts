// Two real Dovecots (old and new) and an automigrate home wired to them, plus a runner for
// the real CLI in a child process: shared by the tests (test/support/harness.ts) and the
// benchmarks.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDovecot, type Dovecot, type DovecotOptions } from "../../tui/servers/dovecot.ts";

export const ROOT = join(import.meta.dir, "..", "..");
export const BUN = process.execPath;
/** What users run (README): the launcher of the built bundle, rebuilt first if stale. */
export const CLI = join(ROOT, "bin", "automigrate");

/** A word quoted for sh (a checkout may live on a path with spaces). */
export const shq = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

export interface Harness {
  old: Dovecot;
  target: Dovecot;
  home: string;
  stop(): Promise<void>;
}

export interface CliResult {
  code: number;
  /** "SIGKILL" when the process was killed by a signal. */
  signal: string | null;
  stdout: string;
  stderr: string;
}

export function spawnCli(home: string, args: string[], env: Record<string, string> = {}) {
  return Bun.spawn([CLI, "--home", home, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
}

export async function runCli(home: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const proc = spawnCli(home, args, env);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, signal: proc.signalCode === null || proc.signalCode === undefined ? null : String(proc.signalCode), stdout, stderr };
}

export async function runCliOk(home: string, args: string[]): Promise<string> {
  const r = await runCli(home, args);
  if (r.code !== 0) throw new Error(`automigrate ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export async function startHarness(opts: { old?: DovecotOptions; target?: DovecotOptions; domain?: string; users?: string[]; domainSettings?: string[] } = {}): Promise<Harness> {
  const users = (opts.users ?? ["alice@example.com"]).map((user) => ({ user, password: "user-pw" }));
  const [old, target] = await Promise.all([
    startDovecot({ label: "old", users, ...opts.old }),
    startDovecot({ label: "new", users, ...opts.target }),
  ]);
  const home = mkdtempSync(join(tmpdir(), "automigrate-home-"));
  const oldPw = join(home, "old-master.pw");
  const newPw = join(home, "new-master.pw");
  writeFileSync(oldPw, old.master.password + "\n", { mode: 0o600 });
  writeFileSync(newPw, target.master.password + "\n", { mode: 0o600 });
  const domain = opts.domain ?? "example.com";
  await runCliOk(home, ["config", "set", `target.host=${target.host}`, `target.port=${target.port}`, "target.tls=none", "target.auth.mode=master", `target.auth.user=${target.master.user}`, `target.auth.passwordFile=${newPw}`]);
  await runCliOk(home, ["domain", "add", domain]);
  await runCliOk(home, [
    "domain",
    "set",
    domain,
    `migration.old.host=${old.host}`,
    `migration.old.imapPort=${old.port}`,
    "migration.old.imapTls=none",
    "migration.old.auth.mode=master",
    `migration.old.auth.user=${old.master.user}`,
    `migration.old.auth.passwordFile=${oldPw}`,
    "migration.old.auth.method=separator",
    ...(opts.domainSettings ?? []),
  ]);
  return {
    old,
    target,
    home,
    stop: async () => {
      await Promise.all([old.stop(), target.stop()]);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export async function migrateJson(home: string, user: string, env: Record<string, string> = {}): Promise<{ code: number; report: any; stderr: string }> {
  const r = await runCli(home, ["migrate", user, "--json"], env);
  let report: any;
  try {
    report = r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  } catch {
    throw new Error(`migrate --json printed non-JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

