// The console with 1,000 domains and 10,000 queued accounts, in a real terminal (tmux 80x24)
// against a real daemon (paused, so the queue stays full): the first frame, keys answered
// (End/Home on both lists, Tab to the queue), and the CPU of the 1 s refresh, for the console
// and for the daemon answering it. Writes BENCHMARKS.md's "Console" section.
// Run: bun bench/console.ts (part of npm run bench).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { homePaths } from "../src/home.ts";
import { configSchema, domainSchema } from "../src/config/schema.ts";
import { pausedQueue } from "./support/queue.ts";
import { writeSection } from "./benchmarks-file.ts";
import { AUTOMIGRATE, cpuSeconds } from "./tools.ts";

const DOMAINS = 1_000;
const ACCOUNTS = 10_000;
const name = `amb${process.pid}`;
const tmux = (...args: string[]) => spawnSync("tmux", args, { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-t", name).stdout;

/** Milliseconds until the screen matches, polling every 2 ms. */
async function until(re: RegExp, timeoutMs = 30_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (re.test(screen())) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${re}\n${screen()}`);
    await Bun.sleep(2);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const home = mkdtempSync(join(tmpdir(), "automigrate-bench-console-"));
let daemon: ReturnType<typeof spawn> | undefined;
try {
  // 1,000 domains with an old server each, 10 accounts each queued in a paused daemon
  const domain = (i: number) => `d${String(i).padStart(4, "0")}.example`;
  const config = configSchema.parse({});
  for (let i = 0; i < DOMAINS; i++) {
    config.domains[domain(i)] = domainSchema.parse({ migration: { enabled: true, old: { host: "127.0.0.1", imapPort: 1, imapTls: "none", auth: { mode: "master", user: "admin", passwordFile: "/dev/null" } } } });
  }
  writeFileSync(join(home, "config.json"), JSON.stringify(config, null, 2), { mode: 0o600 });
  pausedQueue(home, Array.from({ length: ACCOUNTS }, (_, i) => `user${String(i).padStart(5, "0")}.with-a-longer-name@${domain(i % DOMAINS)}`));
  daemon = spawn(AUTOMIGRATE, ["--home", home, "daemon"], { stdio: "ignore" });
  for (let i = 0; ; i++) {
    try {
      const r = await fetch("http://automigrate/status", { unix: homePaths(home).controlSocket } as RequestInit);
      if (((await r.json()) as { jobs: unknown[] }).jobs.length === ACCOUNTS) break;
    } catch {}
    if (i > 300) throw new Error("the daemon did not start");
    await Bun.sleep(100);
  }

  // first frame: from starting the command to the Domains list drawn
  const t0 = performance.now();
  tmux("new-session", "-d", "-s", name, "-x", "80", "-y", "24", `NCURSES_NO_UTF8_ACS=1 LANG=C.UTF-8 '${AUTOMIGRATE.replaceAll("'", "'\\''")}' --home ${home} tui; sleep 60`);
  await until(/automigrate — Domains — row 1\/1000/);
  const firstFrame = performance.now() - t0;
  const consolePid = Number(spawnSync("pgrep", ["-f", "-n", `dist/cli.js --home ${home} tui`], { encoding: "utf8" }).stdout.trim());

  const keyTimes = async (keys: [string, RegExp][], rounds: number) => {
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const [key, re] of keys) {
        const t = performance.now();
        tmux("send-keys", "-t", name, key);
        await until(re);
        times.push(performance.now() - t);
      }
    }
    return times;
  };
  const domainKeys = await keyTimes([["G", /row 1000\/1000/], ["g", /row 1\/1000 /]], 5);
  const tab0 = performance.now();
  tmux("send-keys", "-t", name, "Tab");
  await until(/Queue — row 1\/10000/);
  const queueFirst = performance.now() - tab0;
  const queueKeys = await keyTimes([["G", /row 10000\/10000/], ["g", /row 1\/10000 /]], 5);

  // the refresh's CPU over 10 s with the queue shown (the console asks the daemon every second)
  const [c0, d0] = [cpuSeconds(consolePid), cpuSeconds(daemon.pid!)];
  await Bun.sleep(10_000);
  const consoleCpu = (cpuSeconds(consolePid) - c0) / 10;
  const daemonCpu = (cpuSeconds(daemon.pid!) - d0) / 10;

  const f = (ms: number) => `${ms.toFixed(0)} ms`;
  const section = [
    "## Console",
    "",
    `\`bun bench/console.ts\`: the console (the built entry) in tmux at 80×24 with ${DOMAINS.toLocaleString("en-US")} domains and ${ACCOUNTS.toLocaleString("en-US")} queued accounts in a running, paused daemon. Times from sending the key to the screen showing its result (tmux capture polled every 2 ms, which the figures include); CPU as user+system time over 10 s with the queue on screen.`,
    "",
    "| what | measured | target |",
    "|---|---:|---:|",
    `| first frame (start to the Domains list) | ${f(firstFrame)} | < 200 ms |`,
    `| key on the Domains list (End/Home, median of 10) | ${f(median(domainKeys))} (max ${f(Math.max(...domainKeys))}) | < 50 ms |`,
    `| Tab to the queue (first load of 10,000 rows from the daemon) | ${f(queueFirst)} | |`,
    `| key on the queue (End/Home, median of 10) | ${f(median(queueKeys))} (max ${f(Math.max(...queueKeys))}) | < 50 ms |`,
    `| console CPU while the queue refreshes every second | ${(consoleCpu * 100).toFixed(1)}% of a core | < 10% |`,
    `| daemon CPU answering those refreshes | ${(daemonCpu * 100).toFixed(1)}% of a core | |`,
    "",
    "The first frame includes Bun's start-up and loading the bundle (see \"Start-up and first logins\").",
    "",
  ].join("\n");
  writeSection("## Console", section);
  console.error(section);
} finally {
  tmux("kill-session", "-t", name);
  daemon?.kill("SIGTERM");
  await Bun.sleep(500);
  rmSync(home, { recursive: true, force: true });
}
