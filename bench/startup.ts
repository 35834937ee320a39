// Start-up per command and the first-login helper's cost per call: wall time (median of 15
// runs) and peak RSS of each process, measured on this machine in this run. Appends its
// section to BENCHMARKS.md. Run: npm run bench (last) or bun bench/startup.ts.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSection } from "./benchmarks-file.ts";

const ROOT = join(import.meta.dir, "..");
const CLI = join(ROOT, "bin", "automigrate");
const BUN = join(ROOT, "node_modules", ".bin", "bun");
const HELPER = join(ROOT, "bin", "automigrate-checkpassword");
const RUNS = 15;

interface Figure {
  what: string;
  ms: number;
  rssMB: number;
}

/** Runs `argv` once, with `fd3` (if given) readable on its fd 3 from the start, as Dovecot does; `ms`: the process alone. */
function run(argv: string[], opts: { fd3?: string; env?: Record<string, string> }, stderr: "pipe" | "ignore") {
  let fd: number | undefined;
  if (opts.fd3 !== undefined) {
    const f = join(tmpdir(), `automigrate-bench-fd3-${process.pid}`);
    writeFileSync(f, opts.fd3);
    fd = openSync(f, "r");
  }
  try {
    const t = performance.now();
    const r = Bun.spawnSync(argv, { stdio: ["ignore", "ignore", stderr, ...(fd !== undefined ? [fd] : [])] as never, env: { ...process.env, ...opts.env } });
    return { r, ms: performance.now() - t };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function measure(what: string, argv: string[], opts: { fd3?: string; env?: Record<string, string> } = {}): Figure {
  const times: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const { r, ms } = run(argv, opts, "pipe");
    if (opts.fd3 === undefined && r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}: ${r.stderr}`);
    if (i === 0) continue; // warm-up: page cache
    times.push(ms);
  }
  // peak RSS from GNU time (wait4's ru_maxrss of that process tree), in a run of its own
  const out = join(tmpdir(), `automigrate-bench-rss-${process.pid}`);
  run(["/usr/bin/time", "-f", "%M", "-o", out, ...argv], opts, "ignore");
  const rssMB = Number(readFileSync(out, "utf8").trim().split("\n").pop()) / 1024;
  times.sort((a, b) => a - b);
  return { what, ms: times[Math.floor(times.length / 2)]!, rssMB };
}

const home = mkdtempSync(join(tmpdir(), "automigrate-bench-startup-"));
const socket = join(home, "auth.socket");
const figures: Figure[] = [];
let daemon: ReturnType<typeof Bun.spawn> | undefined;
try {
  Bun.spawnSync([CLI, "--home", home, "config", "set", `firstLogin.socket=${socket}`]);
  figures.push(measure("`sh -c true` (a process, for scale)", ["sh", "-c", "true"]));
  figures.push(measure("`bun -e 0` (Bun alone)", [BUN, "-e", "0"]));
  figures.push(measure("`automigrate --help` (launcher + bundle)", [CLI, "--help"]));
  figures.push(measure("`bun dist/cli.js --help` (the bundle alone)", [BUN, join(ROOT, "dist", "cli.js"), "--help"]));
  figures.push(measure("`automigrate domain list`", [CLI, "--home", home, "domain", "list"]));
  figures.push(measure("`automigrate status` (no daemon)", [CLI, "--home", home, "status"]));
  daemon = Bun.spawn([CLI, "--home", home, "daemon"], { stdout: "ignore", stderr: "ignore" });
  for (let i = 0; i < 200 && !Bun.spawnSync(["test", "-S", socket]).success; i++) await Bun.sleep(50);
  // a login the daemon refuses at once (domain not configured): the helper's and the socket's
  // own cost, without any old server
  const input = "someone@unconfigured.example\0pw\0";
  figures.push(measure("checkpassword helper, one call (`perl bin/automigrate-checkpassword`)", ["perl", HELPER, "--socket", socket, "/bin/true"], { fd3: input }));
  figures.push(measure("`automigrate checkpassword` (launcher + helper)", [CLI, "checkpassword", "--socket", socket, "/bin/true"], { fd3: input }));
} finally {
  daemon?.kill("SIGTERM");
  await daemon?.exited;
  rmSync(home, { recursive: true, force: true });
}

const section = [
  "## Start-up and first logins",
  "",
  `Median wall time of ${RUNS} runs (after one warm-up), and the peak RSS of one more run under GNU time, each process measured alone (\`bun bench/startup.ts\`, ${new Date().toISOString().slice(0, 10)}).`,
  "",
  "| command | wall time | peak RSS |",
  "|---|---:|---:|",
  ...figures.map((f) => `| ${f.what} | ${f.ms.toFixed(1)} ms | ${f.rssMB.toFixed(1)} MB |`),
  "",
  "Where a no-op `migrate` spends its time beyond Bun's own start (a CPU profile with `bun --cpu-prof`, 600-message mailbox, 2026-11-29): evaluating the bundle's modules (zod's schemas about 10 ms, commander about 5 ms, node:crypto about 4 ms, imapflow about 9 ms once its MIME decoders load lazily — they cost 25 ms before), then connecting and logging in to both servers, one LIST-STATUS and reading the account state; the in-process part is the report's `durationMs` (about 35 ms). The launcher `bin/automigrate` adds a few ms in a checkout (its check that the bundle is not older than the sources); the Debian package's launcher skips that check.",
  "",
  "The checkpassword helper is a Perl thin client (Debian's perl-base): Dovecot's auth service starts one per first login, under its default 256 MB `vsz_limit`, where Bun aborts at start (measured: `ulimit -v 262144; bun -e 0` → abort; it starts from 384 MB). The helper's time includes the daemon's answer over the socket. A first login that the old server must check adds that server's LOGIN round trip (the daemon allows it 10 s).",
  "",
].join("\n");
writeSection("## Start-up and first logins", section);
console.error(section);
