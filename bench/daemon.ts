// Daemon figures: login-line-to-job-start latency, and a sweep over 10,000 known accounts
// (per-account and per-job documents: no update rewrites the others). Appends a section to
// BENCHMARKS.md. Run: npm run bench (after the migration benchmark) or bun bench/daemon.ts.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { homePaths } from "../src/home.ts";
import { writeSection } from "./benchmarks-file.ts";
import { startHarness } from "./support/harness.ts";
import { cpuSeconds } from "./tools.ts";
import { makeMessage, seed } from "./support/mail.ts";
import { onLogLines } from "./support/log-lines.ts";

const ROOT = join(import.meta.dir, "..");
const AUTOMIGRATE = join(ROOT, "bin", "automigrate");
const USERS = 200;
/** Logins per second: a busy morning for a mid-size organisation. */
const RATE = 10;
const KNOWN = 10_000;
const LOOKUPS = 20_000;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

async function control(home: string, path: string, body?: unknown): Promise<any> {
  const r = await fetch(`http://automigrate${path}`, { method: body ? "POST" : "GET", body: body ? JSON.stringify(body) : undefined, unix: homePaths(home).controlSocket } as RequestInit);
  return r.json();
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(20);
  }
}

const users = Array.from({ length: USERS }, (_, i) => `lat${i}@example.com`);
const h = await startHarness({ users: [...users, "template@example.com"] });
try {
  await seed(h.old, "template@example.com", [], [0, 1, 2].map((i) => ({ folder: "INBOX", raw: makeMessage(i) })));
  for (const u of users) spawnSync("cp", ["-a", h.old.maildir("template@example.com"), h.old.maildir(u)]);
  const log = join(h.home, "logins.jsonl");
  writeFileSync(log, "");
  const cli = (args: string[]) => spawnSync(AUTOMIGRATE, ["--home", h.home, ...args], { encoding: "utf8" });
  const routingSocket = join(h.home, "routing.sock");
  cli(["config", "set", `logins.0.path=${log}`, "logins.0.format=jsonl", "workers.total=8", "workers.perOldServer=8", `routing.socket=${routingSocket}`, "routing.localTransport=lmtp:unix:private/dovecot-lmtp"]);
  cli(["domain", "set", "example.com", "migration.old.smtpHost=127.0.0.1"]);
  cli(["domain", "enable", "example.com"]);

  // 10,000 known accounts, as the daemon keeps them: one small document each
  const accounts = join(h.home, "state", "accounts");
  mkdirSync(accounts, { recursive: true });
  for (let i = 0; i < KNOWN; i++) {
    const user = `known${i}@example.com`;
    writeFileSync(join(accounts, `${user}.json`), JSON.stringify({ version: 1, user, folders: { INBOX: { target: "INBOX", uidValidity: 1, lastUid: 10, reconcile: false, skipped: [], messages: 10, bytes: 1000 } }, runs: 1, lastRun: { status: "done", finishedAt: new Date().toISOString(), messages: 10, bytes: 1000 } }));
  }

  const daemon = spawn(AUTOMIGRATE, ["--home", h.home, "daemon"], { stdio: ["ignore", "pipe", "inherit"] });
  const started = new Map<string, number>();
  const queuedAt = new Map<string, number>();
  onLogLines(daemon.stdout, (e) => {
    if (e.msg === "migration started" && !started.has(e.user)) started.set(e.user, Date.parse(e.time));
    if (e.msg === "login queued" && !queuedAt.has(e.user)) queuedAt.set(e.user, Date.parse(e.time));
  });
  await waitFor(async () => {
    try {
      await control(h.home, "/status");
      return true;
    } catch {
      return false;
    }
  }, 15_000);

  const cpuBefore = cpuSeconds(daemon.pid!);
  // one login per user, RATE a second: the time from the line's write to the job's start
  const written = new Map<string, number>();
  for (const u of users) {
    written.set(u, Date.now());
    appendFileSync(log, JSON.stringify({ time: new Date().toISOString(), user: u, service: "imap" }) + "\n");
    await Bun.sleep(1000 / RATE);
  }
  await waitFor(async () => started.size === USERS, 60_000);
  // the daemon's own CPU for the whole burst: from before the first login to the last job's end
  await waitFor(async () => {
    const c = (await control(h.home, "/status")).counts;
    return c.queued === 0 && c.running === 0;
  }, 120_000);
  const burstCpu = cpuSeconds(daemon.pid!) - cpuBefore;
  const lat = users.map((u) => started.get(u)! - written.get(u)!);
  const detect = users.map((u) => queuedAt.get(u)! - written.get(u)!);

  // mail routing: Postfix's own client (postmap, one connection) asks the daemon's socketmap
  // for LOOKUPS addresses, half of them accounts on the new server and half users not yet
  // there (each of those reads its state file); the same addresses against the exported
  // file (texthash:, read into memory by Postfix) are the reference
  const pf = join(h.home, "postfix");
  mkdirSync(pf);
  writeFileSync(join(pf, "main.cf"), "");
  const keys = Array.from({ length: LOOKUPS }, (_, i) => (i % 2 ? `known${i % KNOWN}@example.com` : `absent${i}@example.com`)).join("\n") + "\n";
  const postmap = (table: string, expected: number) => {
    const t = performance.now();
    const r = spawnSync("postmap", ["-c", pf, "-q", "-", table], { input: keys, encoding: "utf8", maxBuffer: 64 << 20 });
    const ms = performance.now() - t;
    const answered = r.stdout.split("\n").filter(Boolean).length;
    if (answered !== expected) throw new Error(`postmap ${table}: ${answered} answers, expected ${expected}: ${r.stderr}`);
    return ms;
  };
  const socketMs = postmap(`socketmap:unix:${routingSocket}:transport`, LOOKUPS);
  const exportFile = join(h.home, "transport");
  const te = performance.now();
  cli(["routing", "export", "--output", exportFile]);
  const exportMs = performance.now() - te;
  const exportLines = readFileSync(exportFile, "utf8").split("\n").filter((l) => l && !l.startsWith("#")).length;
  // postmap -q looks up exact keys: the absent users are not found there (Postfix's transport
  // lookup would fall back to the domain's line)
  const fileMs = postmap(`texthash:${exportFile}`, LOOKUPS / 2);

  // a sweep over the 10,000 known accounts, paused so that it only queues
  await control(h.home, "/pause", {});
  const t0 = performance.now();
  const queued = (await control(h.home, "/sweep", {})).queued;
  const sweepMs = performance.now() - t0;
  const queueDir = join(h.home, "state", "queue");
  const files = readdirSync(queueDir);
  const sizes = files.map((f) => statSync(join(queueDir, f)).size);
  // one job's state change rewrites one file: resume for a moment and watch which files change
  const before = new Map(files.map((f) => [f, statSync(join(queueDir, f)).mtimeMs]));
  const runningAtStop = (await control(h.home, "/status")).counts.running;
  daemon.kill("SIGTERM");
  await new Promise((r) => daemon.once("exit", r));
  const changedOnStop = files.filter((f) => {
    try {
      return statSync(join(queueDir, f)).mtimeMs !== before.get(f);
    } catch {
      return true;
    }
  }).length;

  const section = [
    "## Daemon",
    "",
    `Measured with \`bun bench/daemon.ts\` (run by \`npm run bench\`), same machine and run date. ${USERS} users each log in once, ${RATE} logins a second, to a JSON-lines log the daemon tails; 8 workers; each job is a real migration (3 messages) from the old to the new Dovecot. Times are from the line's write to the daemon's log entry (ms resolution).`,
    "",
    "| figure | value | target |",
    "|---|---:|---|",
    `| login line written → login queued, p50 / p99 | ${pct(detect, 50)} ms / ${pct(detect, 99)} ms | |`,
    `| login line written → job started, p50 | ${pct(lat, 50)} ms | |`,
    `| login line written → job started, p99 | ${pct(lat, 99)} ms | < 1 s |`,
    `| login line written → job started, max | ${Math.max(...lat)} ms | |`,
    `| the daemon's CPU (user + sys) for the ${USERS} jobs, ${USERS * 3} messages: per 1,000 messages | ${burstCpu.toFixed(2)} s: ${((burstCpu / (USERS * 3)) * 1000).toFixed(2)} CPU-s | |`,
    `| sweep over ${KNOWN.toLocaleString("en")} known accounts: queued | ${queued.toLocaleString("en")} jobs in ${(sweepMs / 1000).toFixed(1)} s | |`,
    `| queue documents after the sweep | ${files.length.toLocaleString("en")} files, ${Math.min(...sizes)}–${Math.max(...sizes)} bytes each | one per job |`,
    `| queue files rewritten when the daemon stops with ${files.length.toLocaleString("en")} jobs queued, ${runningAtStop} of them running | ${changedOnStop} | only the running jobs' |`,
    `| mail routing: ${LOOKUPS.toLocaleString("en")} lookups by \`postmap -q -\` against the daemon's socketmap (half local accounts, half users not yet migrated) | ${(socketMs / 1000).toFixed(2)} s = ${Math.round(LOOKUPS / (socketMs / 1000)).toLocaleString("en")} lookups/s | |`,
    `| the same lookups against the exported file (\`texthash:\`, loaded into Postfix's memory), same run | ${(fileMs / 1000).toFixed(2)} s; socketmap / file = ${(socketMs / fileMs).toFixed(2)} | |`,
    `| \`routing export\` over ${KNOWN.toLocaleString("en")} known accounts | ${exportLines.toLocaleString("en")} lines in ${(exportMs / 1000).toFixed(2)} s (incl. process start) | |`,
    "",
    "Account state is one document per account (`state/accounts/<user>.json`) and the queue one per job (`state/queue/<user>.json`): a change to one account or job writes one small file, fsynced and renamed into place.",
    "",
  ].join("\n");
  writeSection("## Daemon", section);
  console.error(section);
} finally {
  await h.stop();
}
