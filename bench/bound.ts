// What bounds the copy of the first benchmark mailbox (bench/scenarios.ts): automigrate and
// mbsync, alternately, into a new Dovecot with its default fsyncs and into one with
// mail_fsync = never, three rounds, with the whole machine's CPU (/proc/stat) over each run.
// If a tool's time falls when the new server stops syncing its saves, that tool was waiting
// on the new server's disk. The new server's own CPU (its reaped imap processes) over each run
// and a probe of the filesystem's file creation show what the new server spends its time on.
// Writes the "What bounds the copy" section of BENCHMARKS.md.
// Run: bun bench/bound.ts (part of npm run bench).
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDovecot, type Dovecot } from "../tui/servers/dovecot.ts";
import { writeSection } from "./benchmarks-file.ts";
import { generateMaildir } from "./mailgen.ts";
import { SCENARIOS } from "./scenarios.ts";
import { AUTOMIGRATE, copiedAll, MAIL_OWNER, keepsFreedInodes, mbsyncConfig, measure, settleDisk, setupHome, storeFilesystem, warm, withServerCpu, type RunResult } from "./tools.ts";

const HEADING = "## What bounds the copy";
const ROUNDS = 3;
const sc = SCENARIOS[0]!;
const src = "src0@example.com";
const mbUser = "mbsync@example.com";
const users = [src, mbUser].map((user) => ({ user, password: "pw" }));

/** The machine's CPU time so far, in seconds: busy (user, nice, system, irq), idle and iowait. */
function machineCpu(): { busy: number; idle: number; iowait: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq] = f as [number, number, number, number, number, number, number];
  return { busy: (user + nice + system + irq + softirq) / 100, idle: idle / 100, iowait: iowait / 100 };
}

/** A run, the machine's CPU over it, and the new server's (its imap processes). */
type Measured = RunResult & { machineBusy: number; machineIowait: number; server: { user: number; sys: number } };

function measured(cmd: string, args: string[], target: Dovecot): Promise<Measured> {
  return withServerCpu(target, async () => {
    settleDisk();
    const before = machineCpu();
    const r = await measure(cmd, args);
    const after = machineCpu();
    return { ...r, machineBusy: after.busy - before.busy, machineIowait: after.iowait - before.iowait };
  });
}

/** Milliseconds to create `n` empty files in a new directory `dir` (as a server saving n messages does). */
function createFiles(dir: string, n: number): number {
  mkdirSync(dir);
  const t = performance.now();
  for (let i = 0; i < n; i++) closeSync(openSync(join(dir, `f${i}`), "wx"));
  return performance.now() - t;
}

/**
 * The filesystem's file creation, fresh and right after as many files were deleted (what a
 * benchmark round does to the new server: the last round's copies removed, the next saved).
 */
function creationProbe(dir: string, n: number): { fresh: number; afterDelete: number } {
  const fresh = createFiles(join(dir, "a"), n);
  rmSync(join(dir, "a"), { recursive: true });
  const afterDelete = createFiles(join(dir, "b"), n);
  rmSync(join(dir, "b"), { recursive: true });
  return { fresh, afterDelete };
}

const [old, synced, unsynced] = await Promise.all([
  startDovecot({ label: "bound-old", users }),
  startDovecot({ label: "bound-new", users }),
  startDovecot({ label: "bound-nofsync", users, mailFsync: "never" }),
]);
const work = mkdtempSync(join(tmpdir(), "automigrate-bound-"));
try {
  const gen = generateMaildir(old.maildir(src), sc.spec, MAIL_OWNER);
  await warm(old, src);
  const setups = [synced, unsynced].map((target, i) => {
    const dir = join(work, `t${i}`);
    mkdirSync(dir, { recursive: true });
    return { target, label: i === 0 ? "default (optimized)" : "never", home: setupHome(dir, old, target), rc: mbsyncConfig(dir, old, target, src, mbUser), dir };
  });
  const stores = storeFilesystem(work);
  const probe = creationProbe(work, gen.messages);
  console.error(`[bound] mail stores on ${stores.text}; ${gen.messages} file creations: ${probe.fresh.toFixed(0)} ms, right after deleting as many: ${probe.afterDelete.toFixed(0)} ms`);
  const rows: { round: number; label: string; am: Measured; mb: Measured }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const s of setups) {
      // fresh: the accounts' mail on the new server and both tools' state gone
      for (const u of [src, mbUser]) rmSync(s.target.maildir(u), { recursive: true, force: true });
      rmSync(join(s.home, "state"), { recursive: true, force: true });
      rmSync(join(s.dir, "mbsync-state"), { recursive: true, force: true });
      mkdirSync(join(s.dir, "mbsync-state"));
      const am = await copiedAll(await measured(AUTOMIGRATE, ["--home", s.home, "migrate", src, "--json"], s.target), s.target, src, gen.messages, "automigrate migrate");
      const mb = await copiedAll(await measured("mbsync", ["-q", "-c", s.rc, "-a"], s.target), s.target, mbUser, gen.messages, "mbsync");
      rows.push({ round, label: s.label, am, mb });
      console.error(`[bound] round ${round}, mail_fsync ${s.label}: automigrate ${am.seconds.toFixed(2)} s, mbsync ${mb.seconds.toFixed(2)} s`);
    }
  }
  const f = (n: number, d = 2) => n.toFixed(d);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const of = (label: string) => rows.filter((r) => r.label === label);
  const lines = [
    HEADING,
    "",
    `\`bun bench/bound.ts\` (part of \`npm run bench\`), ${new Date().toISOString().slice(0, 10)}, this machine (see the top): ${sc.name} — ${gen.messages} messages, ${f(gen.bytes / 1e6, 0)} MB — copied by each tool from the same old Dovecot into two new ones that differ only in \`mail_fsync\`: Dovecot's default (a saved message is on disk before its APPEND is answered) and \`never\` (for this measurement only). Rounds alternate the tools and the targets; each round first removes the last round's copies. "Machine busy" is the whole machine's user + system CPU over the tool's run (both Dovecots included; 2 cores give 2 CPU-s per second); "iowait" is the idle time spent waiting for the disk; "new server CPU" is the new Dovecot's own (its imap processes), user / system.`,
    "",
    `The mail stores are on ${stores.text}. Creating ${gen.messages.toLocaleString("en-US")} empty files there took ${f(probe.fresh, 0)} ms, and ${f(probe.afterDelete, 0)} ms right after deleting as many.${keepsFreedInodes(stores) ? " Without a journal, ext4 does not reuse an inode freed in the last 60 s (360 s while its inode-table block is unwritten) and scans past every such inode for each file it creates (Linux fs/ext4/ialloc.c, recently_deleted()), so a server saving thousands of messages soon after thousands of files were deleted spends its system CPU on that scan: the new server's system CPU below, not the tools' own." : ""}`,
    "",
    "| round | new server's mail_fsync | automigrate | automigrate CPU | new server CPU (automigrate's run) | machine busy / iowait (automigrate's run) | mbsync | new server CPU (mbsync's run) | machine busy / iowait (mbsync's run) | ratio |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${r.round} | ${r.label} | ${f(r.am.seconds)} s | ${f(r.am.userSeconds + r.am.sysSeconds)} s | ${f(r.am.server.user)} / ${f(r.am.server.sys)} s | ${f(r.am.machineBusy, 1)} / ${f(r.am.machineIowait, 1)} s | ${f(r.mb.seconds)} s | ${f(r.mb.server.user)} / ${f(r.mb.server.sys)} s | ${f(r.mb.machineBusy, 1)} / ${f(r.mb.machineIowait, 1)} s | ${f(r.mb.seconds / r.am.seconds)}× |`),
    "",
    ...["default (optimized)", "never"].map((l) => `- mail_fsync ${l}: median automigrate ${f(median(of(l).map((r) => r.am.seconds)))} s, mbsync ${f(median(of(l).map((r) => r.mb.seconds)))} s, ratio ${f(median(of(l).map((r) => r.mb.seconds / r.am.seconds)))}×.`),
  ];
  writeSection(HEADING, lines.join("\n"));
  console.error(lines.slice(4).join("\n"));
} finally {
  await Promise.all([old.stop(), synced.stop(), unsynced.stop()]);
  rmSync(work, { recursive: true, force: true });
}
