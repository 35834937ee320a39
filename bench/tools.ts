// What the benchmarks share: running a command with its peak RSS, an mbsync channel and an
// automigrate home for the same old and new Dovecot, warming the old server, counting.
import { execFileSync, spawnSync } from "node:child_process";
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

/** How long ext4 without a journal keeps a freed inode from reuse (fs/ext4/ialloc.c, RECENTCY_MIN: 60 s), with a margin. */
export const FREED_INODE_WINDOW_MS = 65_000;

/**
 * Settles the mail stores' disk before a timed copy: sync(1), and where the filesystem keeps
 * freed inodes from reuse (keepsFreedInodes), a wait of FREED_INODE_WINDOW_MS (then sync
 * again), so that the copy does not pay for the files deleted before it (the previous
 * scenario's cleanup, the other tool's copy and its index rewrites). What a tool frees during
 * its own copy still counts against it.
 */
export async function settleStores(stores: StoreFilesystem): Promise<void> {
  settleDisk();
  if (!keepsFreedInodes(stores)) return;
  await Bun.sleep(FREED_INODE_WINDOW_MS);
  settleDisk();
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
 * A running process's CPU time so far (user and system), from /proc (clock ticks of 1/100 s);
 * with `reaped`, also that of the children it has waited for (a server's finished workers).
 */
export function cpuTimes(pid: number, opts: { reaped?: boolean } = {}): { user: number; sys: number } {
  // after "pid (comm) " (comm may hold ") "): state is field 3, utime 14, stime 15, cutime 16
  // and cstime 17 (1-based)
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ").map(Number);
  const user = fields[11]! + (opts.reaped ? fields[13]! : 0);
  const sys = fields[12]! + (opts.reaped ? fields[14]! : 0);
  return { user: user / 100, sys: sys / 100 };
}

/** A running process's CPU seconds so far (user + system); see cpuTimes. */
export function cpuSeconds(pid: number, opts: { reaped?: boolean } = {}): number {
  const t = cpuTimes(pid, opts);
  return t.user + t.sys;
}

/** CPU so far of a Dovecot's master and the children it reaped (its imap and auth processes). */
export function serverCpu(d: Dovecot): { user: number; sys: number } {
  return cpuTimes(Number(execFileSync("pgrep", ["-f", "-o", `dovecot -F -c ${d.dir}`], { encoding: "utf8" }).trim()), { reaped: true });
}

/** `run`'s result with the CPU `server` spent meanwhile: its imap processes, reaped once the client logged out. */
export async function withServerCpu<T extends object>(server: Dovecot, run: () => Promise<T>): Promise<T & { server: { user: number; sys: number } }> {
  const before = serverCpu(server);
  const r = await run();
  await Bun.sleep(500); // the client's imap processes end and are reaped
  const after = serverCpu(server);
  return { ...r, server: { user: after.user - before.user, sys: after.sys - before.sys } };
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
    if (!box.exists) continue;
    for await (const _ of c.fetch("1:*", { uid: true, source: true })) {}
    // on its own, so that Dovecot keeps the sizes in its cache (fetched beside the bodies, they
    // are not kept: the first tool to ask would pay for reading every message again)
    for await (const _ of c.fetch("1:*", { uid: true, size: true })) {}
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

/**
 * The filesystem `dir` is on, as the benchmarks' tables name it: its type, and for ext4 whether
 * it has a journal. Without one, ext4 will not reuse an inode freed in the last 60 s (360 s
 * while its inode-table block is unwritten) and scans past each such inode for every file it
 * creates (fs/ext4/ialloc.c, recently_deleted()): a mail server saving thousands of messages
 * right after thousands of files were deleted spends seconds of system CPU on that scan alone.
 */
export interface StoreFilesystem {
  type: string;
  /** For ext4: whether it has a journal (undefined when /sys does not say). */
  journal?: boolean;
  text: string;
}

export function storeFilesystem(dir: string): StoreFilesystem {
  const r = spawnSync("findmnt", ["-n", "-o", "SOURCE,FSTYPE", "-T", dir], { encoding: "utf8" });
  const [source = "", type = "unknown"] = (r.stdout ?? "").trim().split(/\s+/);
  if (type !== "ext4") return { type, text: type };
  const task = join("/sys/fs/ext4", source.replace(/^\/dev\//, ""), "journal_task");
  let journal: boolean | undefined;
  try {
    journal = readFileSync(task, "utf8").trim() !== "<none>";
  } catch {
    journal = undefined;
  }
  return { type, journal, text: journal === undefined ? "ext4" : journal ? "ext4 with a journal" : "ext4 without a journal" };
}

/** Whether creating files there scans past the inodes freed in the last minutes: ext4 without a journal (see storeFilesystem). */
export function keepsFreedInodes(fs: StoreFilesystem): boolean {
  return fs.type === "ext4" && fs.journal === false;
}
