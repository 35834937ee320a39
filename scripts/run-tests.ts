// `npm test` runs this (after ensure-deps and ensure-servers): every test file in its own
// `bun test` process, AUTOMIGRATE_TEST_JOBS (default 2) at a time, the unit tests together in
// one. Each process gets
//   - its own temporary directory (TMPDIR, TMUX_TMPDIR: its servers, homes and tmux server live
//     there) and its own range of ports (AUTOMIGRATE_TEST_PORTS, below the kernel's ephemeral
//     ports: two processes never pick the same free port);
//   - a session of its own and a tag in its environment (AUTOMIGRATE_TEST_TAG);
//   - a deadline (AUTOMIGRATE_TEST_FILE_DEADLINE_SEC, default 1200 s): then it is killed, and fails.
// When it ends, any process it left behind (a server, a daemon, a tmux session) is listed as a
// failure of that file and killed. Each file's output is printed whole when it ends; the run
// ends with bun's own totals lines (" N pass", " N skip", " N fail") that .ci/run reads.
//   bun scripts/run-tests.ts [file or directory ...]   (npm test -- test/routing.test.ts)
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { leftBehind, type ProcessInfo } from "./test-runner/leftovers.ts";

const root = join(import.meta.dir, "..");
const PER_TEST_TIMEOUT_MS = 120_000;
const deadlineMs = Number(process.env.AUTOMIGRATE_TEST_FILE_DEADLINE_SEC ?? 1200) * 1000;
const parallel = Math.max(1, Number(process.env.AUTOMIGRATE_TEST_JOBS ?? 2) || 2);
const durationsFile = join(root, "node_modules", ".cache", "automigrate", "test-durations.json");

interface Job {
  name: string;
  files: string[];
}

interface Result {
  job: Job;
  pass: number;
  fail: number;
  skip: number;
  ms: number;
  problems: string[];
  output: string;
}

function testFiles(paths: string[]): string[] {
  const glob = new Bun.Glob("**/*.test.ts");
  const out: string[] = [];
  for (const p of paths.length ? paths : [join(root, "test")]) {
    const abs = resolve(p);
    if (existsSync(abs) && statSync(abs).isDirectory()) for (const f of glob.scanSync({ cwd: abs, absolute: true })) out.push(f);
    else if (existsSync(abs)) out.push(abs);
    else throw new Error(`no such test file or directory: ${p}`);
  }
  return [...new Set(out)].sort();
}

/** The unit tests (no servers, seconds) in one process; every other file alone. */
function jobsFor(files: string[]): Job[] {
  const unitDir = join(root, "test", "unit") + "/";
  const units = files.filter((f) => f.startsWith(unitDir));
  const jobs: Job[] = units.length ? [{ name: "test/unit", files: units }] : [];
  for (const f of files.filter((x) => !x.startsWith(unitDir))) jobs.push({ name: relative(root, f), files: [f] });
  // longest first (as measured by the last run here): the run ends sooner with two at a time
  let known: Record<string, number> = {};
  try {
    known = JSON.parse(readFileSync(durationsFile, "utf8"));
  } catch {}
  return jobs.sort((a, b) => (known[b.name] ?? 0) - (known[a.name] ?? 0) || a.name.localeCompare(b.name));
}

const count = (out: string, word: string) => {
  const all = [...out.matchAll(new RegExp(`^\\s*(\\d+) ${word}$`, "gm"))];
  return all.length ? Number(all[all.length - 1]![1]) : undefined;
};

const children = new Set<ChildProcess>();
let interrupted = false;

function killGroup(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    process.kill(-pid, signal);
  } catch {}
}

async function settleLeftovers(owner: { sid: number; tag: string; dir: string }): Promise<ProcessInfo[]> {
  // a server told to stop a moment ago may still be on its way out
  const until = Date.now() + 5000;
  let left = leftBehind(owner);
  while (left.length && Date.now() < until) {
    await Bun.sleep(200);
    left = leftBehind(owner);
  }
  for (const p of left) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {}
  }
  return left;
}

async function runJob(job: Job, index: number, slot: number, runDir: string): Promise<Result> {
  const dir = join(runDir, String(index));
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  const tag = `${process.pid}-${index}`;
  const ports = `${20000 + slot * 1000}-${20000 + slot * 1000 + 999}`;
  const started = Date.now();
  const child = spawn(process.execPath, ["test", "--timeout", String(PER_TEST_TIMEOUT_MS), ...job.files], {
    cwd: root,
    env: { ...process.env, TMPDIR: dir, TMUX_TMPDIR: dir, AUTOMIGRATE_TEST_TAG: tag, AUTOMIGRATE_TEST_PORTS: ports },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  children.add(child);
  let output = "";
  child.stdout!.on("data", (d) => (output += d.toString()));
  child.stderr!.on("data", (d) => (output += d.toString()));
  const problems: string[] = [];
  const timer = setTimeout(() => {
    problems.push(`killed after ${Math.round(deadlineMs / 1000)} s (AUTOMIGRATE_TEST_FILE_DEADLINE_SEC)`);
    killGroup(child.pid!);
  }, deadlineMs);
  const code = await new Promise<number | null>((r) => child.once("close", (c) => r(c)));
  clearTimeout(timer);
  children.delete(child);
  const left = await settleLeftovers({ sid: child.pid!, tag, dir });
  if (left.length) problems.push(`left ${left.length} process(es) running (killed now):\n${left.map((p) => `    pid ${p.pid}: ${p.args.slice(0, 200)}`).join("\n")}`);
  const pass = count(output, "pass") ?? 0;
  let fail = count(output, "fail") ?? 0;
  const skip = count(output, "skip") ?? 0;
  if (code !== 0 && fail === 0 && !interrupted) problems.push(`bun test exited ${code} without a failed test (an error outside the tests: see above)`);
  fail += problems.length;
  if (problems.length === 0) rmSync(dir, { recursive: true, force: true });
  else problems.push(`its files are kept in ${dir}`);
  return { job, pass, fail, skip, ms: Date.now() - started, problems, output };
}

function report(r: Result): void {
  const head = `=== ${r.job.name}: ${r.pass} pass, ${r.skip} skip, ${r.fail} fail, ${(r.ms / 1000).toFixed(1)} s`;
  process.stdout.write(`\n${head}\n${r.output.trimEnd()}\n`);
  for (const p of r.problems) process.stdout.write(`(fail) ${r.job.name}: ${p}\n`);
}

async function main(): Promise<number> {
  const jobs = jobsFor(testFiles(process.argv.slice(2)));
  const runDir = mkdtempSync(join(tmpdir(), "amt-"));
  chmodSync(runDir, 0o755);
  const started = Date.now();
  process.stdout.write(`automigrate tests: ${jobs.length} test processes, ${parallel} at a time (AUTOMIGRATE_TEST_JOBS); temporary files in ${runDir}\n`);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      interrupted = true;
      for (const c of children) killGroup(c.pid!);
    });
  }
  const results: Result[] = [];
  const queue = jobs.map((job, index) => ({ job, index }));
  await Promise.all(
    Array.from({ length: Math.min(parallel, queue.length) }, async (_, slot) => {
      for (let next = queue.shift(); next && !interrupted; next = queue.shift()) {
        const r = await runJob(next.job, next.index, slot, runDir);
        results.push(r);
        report(r);
      }
    }),
  );
  // only when empty: a failed file's directory is kept for its logs (rmSync refuses any directory without recursive)
  try {
    rmdirSync(runDir);
  } catch {}
  if (!interrupted && process.argv.length <= 2) {
    mkdirSync(dirname(durationsFile), { recursive: true });
    writeFileSync(durationsFile, JSON.stringify(Object.fromEntries(results.map((r) => [r.job.name, r.ms]))));
  }
  const total = (k: "pass" | "fail" | "skip") => results.reduce((n, r) => n + r[k], 0);
  const failed = results.filter((r) => r.fail > 0);
  const skipped = results.filter((r) => r.skip > 0);
  process.stdout.write(`\n${"=".repeat(78)}\nautomigrate tests: ${results.length} of ${jobs.length} test processes ran in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  for (const r of [...results].sort((a, b) => b.ms - a.ms)) process.stdout.write(`  ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${r.fail ? "FAIL" : "ok  "}  ${r.job.name} (${r.pass} pass${r.skip ? `, ${r.skip} skip` : ""}${r.fail ? `, ${r.fail} fail` : ""})\n`);
  if (skipped.length) process.stdout.write(`skipped on purpose (AUTOMIGRATE_TEST_SKIP=${process.env.AUTOMIGRATE_TEST_SKIP ?? ""}): ${skipped.map((r) => r.job.name).join(", ")}\n`);
  if (failed.length) process.stdout.write(`failed: ${failed.map((r) => r.job.name).join(", ")}\n`);
  if (interrupted) process.stdout.write("interrupted: not every test ran\n");
  process.stdout.write(`\n ${total("pass")} pass\n ${total("skip")} skip\n ${total("fail")} fail\nRan ${total("pass") + total("fail") + total("skip")} tests across ${results.length} processes. [${((Date.now() - started) / 1000).toFixed(2)}s]\n`);
  return failed.length || interrupted || results.length < jobs.length ? 1 : 0;
}

process.exit(await main());
