// The daemon's /metrics with 100,000 known accounts (state files) in 100 domains and 1,000
// queued jobs: the time of a scrape as Prometheus makes it (HTTP, after the first one, which
// reads every account's state once), and the size of the answer. Writes "## Metrics scrape".
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configSchema, domainSchema } from "../src/config/schema.ts";
import { accountFileName } from "../src/store/account-state.ts";
import { writeSection } from "./benchmarks-file.ts";
import { CLI } from "./support/harness.ts";
import { pausedQueue } from "./support/queue.ts";
import { freePort } from "../tui/servers/dovecot.ts";

const ACCOUNTS = 100_000;
const DOMAINS = 100;
const JOBS = 1_000;
const SCRAPES = 30;

const home = mkdtempSync(join(tmpdir(), "automigrate-bench-metrics-"));
let daemon: ReturnType<typeof spawn> | undefined;
try {
  const domain = (i: number) => `d${String(i).padStart(3, "0")}.example`;
  const port = await freePort();
  const config = configSchema.parse({ metrics: { listen: `127.0.0.1:${port}` } });
  for (let i = 0; i < DOMAINS; i++) config.domains[domain(i)] = domainSchema.parse({ migration: { enabled: true, old: { host: "127.0.0.1", imapPort: 1, imapTls: "none", auth: { mode: "master", user: "admin", passwordFile: "/dev/null" } } } });
  writeFileSync(join(home, "config.json"), JSON.stringify(config, null, 2), { mode: 0o600 });
  const user = (i: number) => `user${String(i).padStart(6, "0")}@${domain(i % DOMAINS)}`;
  const accounts = join(home, "state", "accounts");
  mkdirSync(accounts, { recursive: true });
  const statuses = ["done", "partial", "failed"] as const;
  for (let i = 0; i < ACCOUNTS; i++) {
    const lastRun = i % 10 === 9 ? undefined : { status: statuses[i % 3], finishedAt: "2026-12-01T00:00:00Z", messages: 100, bytes: 1_000_000 };
    writeFileSync(join(accounts, accountFileName(user(i))), JSON.stringify({ version: 1, user: user(i), folders: {}, runs: lastRun ? 1 : 0, ...(lastRun ? { lastRun } : {}) }));
  }
  pausedQueue(home, Array.from({ length: JOBS }, (_, i) => user(i)));
  daemon = spawn(CLI, ["--home", home, "daemon"], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}/metrics`;
  let first = 0;
  for (let i = 0; i < 600; i++) {
    const t = performance.now();
    try {
      const r = await fetch(url);
      if (r.ok && (await r.text()).includes("automigrate_accounts{")) {
        first = performance.now() - t;
        break;
      }
    } catch {}
    await Bun.sleep(100);
  }
  const times: number[] = [];
  let bytes = 0;
  let accountsSeen = 0;
  for (let i = 0; i < SCRAPES; i++) {
    const t = performance.now();
    const text = await (await fetch(url)).text();
    times.push(performance.now() - t);
    bytes = text.length;
    accountsSeen = text.split("\n").filter((l) => l.startsWith("automigrate_accounts{")).reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
    await Bun.sleep(50);
  }
  times.sort((a, b) => a - b);
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  if (accountsSeen !== ACCOUNTS) throw new Error(`the scrape counted ${accountsSeen} accounts, not ${ACCOUNTS}`);
  const section = `## Metrics scrape

${new Date().toISOString().slice(0, 10)}, \`bun bench/metrics.ts\`: a daemon with ${ACCOUNTS.toLocaleString("en")} known accounts (state files) in ${DOMAINS} domains and ${JOBS.toLocaleString("en")} queued jobs (paused), scraped over HTTP on 127.0.0.1 ${SCRAPES} times, 50 ms apart (the accounts counted in the answer: ${accountsSeen.toLocaleString("en")}).

| scrape | time |
|---|---:|
| first (the daemon reads every account's state once) | ${ms(first)} |
| median | ${ms(p(0.5))} |
| p95 | ${ms(p(0.95))} |
| slowest | ${ms(times[times.length - 1]!)} |

Answer: ${(bytes / 1024).toFixed(1)} KB (labels are domains, old servers, states and codes; the number of users does not change its size). Target: < 50 ms.
`;
  writeSection("## Metrics scrape", section);
  console.log(section);
} finally {
  daemon?.kill("SIGTERM");
  await Bun.sleep(500);
  rmSync(home, { recursive: true, force: true });
}
