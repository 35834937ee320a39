// What the benchmarks share: running a command with its peak RSS, an mbsync channel and an
// automigrate home for the same old and new Dovecot, warming the old server, counting.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Dovecot } from "../tui/servers/dovecot.ts";
import { connectAs } from "./support/mail.ts";

export const ROOT = join(import.meta.dir, "..");
/** What an admin runs: the bundled CLI (npm run bench builds it first). */
export const AUTOMIGRATE = join(ROOT, "bin", "automigrate");
export const MAIL_OWNER = process.getuid?.() === 0 ? { uid: 8, gid: 8 } : undefined;

export interface RunResult {
  seconds: number;
  peakRssMB: number;
  /** CPU time of the process (user and system), from its rusage when it exited. */
  userSeconds: number;
  sysSeconds: number;
  code: number;
  output: string;
}

/**
 * Writes every dirty page to disk (sync(1)) before a timed copy, so that neither tool waits on
 * the writeback of what came before it: the generated mailbox (written without fsync just
 * before the first copy) or the other tool's copy. Both tools get the same quiet disk.
 */
export function settleDisk(): void {
  const r = spawnSync("sync");
  if (r.status !== 0) throw new Error(`sync failed: ${r.stderr}`);
}

/** Runs a command, polling its peak RSS (VmHWM) until it exits; its CPU time from its rusage. */
export async function measure(cmd: string, args: string[], env?: Record<string, string>): Promise<RunResult> {
  const started = performance.now();
  const child = Bun.spawn([cmd, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const outputs = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  let peak = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch {}
  }, 10);
  const code = await child.exited;
  const seconds = (performance.now() - started) / 1000;
  clearInterval(poll);
  const [out, err] = await outputs;
  const usage = child.resourceUsage();
  return {
    seconds,
    peakRssMB: peak,
    userSeconds: usage ? Number(usage.cpuTime.user) / 1e6 : NaN,
    sysSeconds: usage ? Number(usage.cpuTime.system) / 1e6 : NaN,
    code,
    output: out + err,
  };
}

/**
 * A running process's CPU time so far (user + system), from /proc (clock ticks of 1/100 s);
 * with `reaped`, also that of the children it has waited for (a server's finished workers).
 */
export function cpuSeconds(pid: number, opts: { reaped?: boolean } = {}): number {
  // after "pid (comm) " (comm may hold ") "): state is field 3, utime 14, stime 15, cutime 16
  // and cstime 17 (1-based)
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
  const own = Number(fields[11]) + Number(fields[12]);
  return (opts.reaped ? own + Number(fields[13]) + Number(fields[14]) : own) / 100;
}

export function mbsyncConfig(dir: string, old: Dovecot, target: Dovecot, src: string, dst: string): string {
  const rc = join(dir, "mbsyncrc");
  mkdirSync(join(dir, "mbsync-state"), { recursive: true });
  const account = (name: string, s: Dovecot, user: string) =>
    `IMAPAccount ${name}\nHost ${s.host}\nPort ${s.port}\nUser ${user}*${s.master.user}\nPass ${s.master.password}\nSSLType None\nAuthMechs LOGIN\n\nIMAPStore ${name}\nAccount ${name}\n\n`;
  writeFileSync(
    rc,
    account("old", old, src) +
      account("new", target, dst) +
      `Channel mig\nFar :old:\nNear :new:\nPatterns *\nCreate Near\nSync Pull\nExpunge None\nCopyArrivalDate yes\nSyncState ${join(dir, "mbsync-state")}/\n`,
  );
  return rc;
}

export async function warm(server: Dovecot, user: string): Promise<void> {
  // both tools should find Dovecot's indexes built and the files in the page cache
  const c = await connectAs(server, user);
  for (const f of await c.list()) {
    if (f.flags.has("\\Noselect")) continue;
    const box = await c.mailboxOpen(f.path, { readOnly: true });
    if (box.exists) for await (const _ of c.fetch("1:*", { uid: true, size: true, source: true })) {}
  }
  await c.logout();
}

/** `r` when the run exited 0 and `user` on `server` holds all `expected` messages; else an error naming `what`. */
export async function copiedAll<R extends RunResult>(r: R, server: Dovecot, user: string, expected: number, what: string): Promise<R> {
  if (r.code !== 0) throw new Error(`${what} failed: ${r.output}`);
  const n = await countTarget(server, user);
  if (n !== expected) throw new Error(`${what} copied ${n} of ${expected} messages`);
  return r;
}

export async function countTarget(server: Dovecot, user: string): Promise<number> {
  const c = await connectAs(server, user);
  let n = 0;
  for (const f of await c.list()) {
    if (f.flags.has("\\Noselect")) continue;
    const st = await c.status(f.path, { messages: true });
    n += st ? (st.messages ?? 0) : 0;
  }
  await c.logout();
  return n;
}

export function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return (r.stdout || r.stderr).trim().split("\n")[0] ?? "?";
}

/** An automigrate home in `work` migrating example.com from `old` into `target` (master users). */
export function setupHome(work: string, old: Dovecot, target: Dovecot, domainSettings: string[] = []): string {
  const home = join(work, "home");
  mkdirSync(home, { recursive: true });
  writeFileSync(join(work, "old.pw"), old.master.password);
  writeFileSync(join(work, "new.pw"), target.master.password);
  for (const args of [
    ["config", "set", `target.host=${target.host}`, `target.port=${target.port}`, "target.tls=none", "target.auth.mode=master", `target.auth.user=${target.master.user}`, `target.auth.passwordFile=${join(work, "new.pw")}`],
    ["domain", "add", "example.com"],
    ["domain", "set", "example.com", `migration.old.host=${old.host}`, `migration.old.imapPort=${old.port}`, "migration.old.imapTls=none", "migration.old.auth.mode=master", `migration.old.auth.user=${old.master.user}`, `migration.old.auth.passwordFile=${join(work, "old.pw")}`, ...domainSettings],
  ]) {
    const r = spawnSync(AUTOMIGRATE, ["--home", home, ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`automigrate ${args.join(" ")}: ${r.stderr}`);
  }
  return home;
}
