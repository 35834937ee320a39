// Prometheus metrics from the running daemon (the built entry), scraped over HTTP and over
// a Unix socket during a real migration between two Dovecots: each counter moves by exactly
// what happened (messages, bytes, a skip by code, a run, login events, a sweep).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, runCliOk, startHarness, type Harness } from "./support/harness.ts";
import { makeMessage, seed } from "./support/mail.ts";
import { accountState, startDaemon, userLogin, waitFor, type DaemonProc } from "./support/daemon.ts";
import { freePort } from "./support/dovecot.ts";

setDefaultTimeout(60_000);

const U = "maria@example.com";
let h: Harness;
let d: DaemonProc;
let url: string;

/** One scrape as sample name{labels} → value. */
async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(url);
  expect(res.headers.get("content-type")).toContain("text/plain");
  const out = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

const delta = (a: Map<string, number>, b: Map<string, number>, k: string) => (b.get(k) ?? 0) - (a.get(k) ?? 0);

beforeAll(async () => {
  h = await startHarness({ users: [U, "other@example.com"] });
  const big = `From: a@example.org\r\nSubject: too large\r\n\r\n${"x".repeat(1024 * 1024 + 100).replace(/(.{76})/g, "$1\r\n")}\r\n`;
  await seed(h.old, U, [{ path: "Work" }], [
    ...Array.from({ length: 5 }, (_, i) => ({ folder: i % 2 ? "INBOX" : "Work", raw: makeMessage(i, { subject: `m${i}` }) })),
    { folder: "INBOX", raw: big },
  ]);
  const port = await freePort();
  url = `http://127.0.0.1:${port}/metrics`;
  const jsonl = join(h.home, "logins.jsonl");
  writeFileSync(jsonl, "");
  await runCliOk(h.home, ["config", "set", `metrics.listen=127.0.0.1:${port}`, `logins.0.path=${h.target.logPath}`, "logins.0.format=dovecot"]);
  await runCliOk(h.home, ["domain", "set", "example.com", "migration.maxMessageBytes=1048576"]);
  await runCliOk(h.home, ["domain", "enable", "example.com"]);
  d = await startDaemon(h.home);
  // the endpoint is up once the daemon has applied its settings
  await waitFor(async () => fetch(url).then((r) => r.ok, () => false), 10_000, `metrics at ${url}\n${d.output()}`);
}, 60_000);

afterAll(async () => {
  if (d?.proc.exitCode === null) await d.stop();
  await h?.stop();
});

describe("metrics", () => {
  test("a login's migration moves each counter by exactly what happened; labels name domains and servers, never a user", async () => {
    const before = await scrape();
    expect(before.get('automigrate_jobs{state="running"}')).toBe(0);
    await userLogin(h.target, U);
    await waitFor(async () => (await accountState(h.home, U))?.lastRun !== undefined, 30_000, "the run");
    await waitFor(async () => (await d.status()).jobs.every((j: any) => j.user !== U || j.state !== "running"), 10_000, "the job no longer running");
    const after = await scrape();
    const run = (await accountState(h.home, U)).lastRun;
    expect(run.status).toBe("partial"); // the large message is skipped
    const old = `${h.old.host}:${h.old.port}`;
    const where = `{domain="example.com",old_server="${old}"}`;
    expect(delta(before, after, `automigrate_messages_copied_total${where}`)).toBe(5);
    expect(delta(before, after, `automigrate_bytes_copied_total${where}`)).toBe(run.bytes);
    expect(delta(before, after, 'automigrate_messages_skipped_total{domain="example.com",code="TOO_LARGE"}')).toBe(1);
    expect(delta(before, after, 'automigrate_runs_total{domain="example.com",status="partial"}')).toBe(1);
    expect(delta(before, after, 'automigrate_run_duration_seconds_count{domain="example.com"}')).toBe(1);
    const log = `log="${h.target.logPath}"`;
    expect(delta(before, after, `automigrate_login_events_total{${log},result="queued"}`)).toBe(1);
    expect(after.get(`automigrate_log_lag_bytes{${log}}`)).toBeGreaterThanOrEqual(0);
    expect(after.get('automigrate_accounts{domain="example.com",outcome="partial"}')).toBe(1);
    expect(after.get('automigrate_jobs{state="running"}')).toBe(0);
    // the daemon's own logins to the new server are read and ignored, not queued
    expect(delta(before, after, `automigrate_login_events_total{${log},result="ignored"}`)).toBeGreaterThan(0);
    // a verify made by the CLI reaches the daemon's metrics
    expect(after.get('automigrate_accounts_verified{domain="example.com",result="exact"}')).toBeUndefined();
    await runCli(h.home, ["verify", U]);
    const verified = await scrape();
    expect(verified.get('automigrate_accounts_verified{domain="example.com",result="exact"}')).toBe(1);
    const text = await (await fetch(url)).text();
    expect(text).not.toContain(U);
    expect(text).not.toContain("maria");
  });

  test("a sweep sets its time; the endpoint moves to a Unix socket on reload; an unknown path is 404", async () => {
    const t0 = Date.now() / 1000;
    await d.post("/sweep");
    const s = await scrape();
    expect(s.get("automigrate_last_sweep_timestamp_seconds")).toBeGreaterThanOrEqual(Math.floor(t0));
    expect((await fetch(url.replace("/metrics", "/other"))).status).toBe(404);
    const sock = join(h.home, "metrics.sock");
    await runCliOk(h.home, ["config", "set", `metrics.listen=${sock}`]);
    let text = "";
    await waitFor(async () => {
      try {
        text = await (await fetch("http://localhost/metrics", { unix: sock } as RequestInit)).text();
        return text.includes("automigrate_jobs");
      } catch {
        return false;
      }
    }, 15_000, "metrics on the socket");
    expect(text).toContain('automigrate_messages_copied_total{domain="example.com"');
    await expect(fetch(url)).rejects.toThrow();
  });
});
