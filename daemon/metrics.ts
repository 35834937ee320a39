// The daemon's Prometheus metrics (prom-client), served at /metrics on metrics.listen
// (host:port or a Unix socket). Labels are bounded: domain, old server, state, outcome,
// code, result; never a user. What the daemon does is counted where it happens (a finished
// run, a login, a sweep); what it holds (the queue, the accounts, the sockets' counts) is
// read when Prometheus scrapes.
import { chmodSync, rmSync } from "node:fs";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ErrorCode } from "../src/errors.ts";

/** What the daemon holds, read at each scrape. */
export interface MetricsSource {
  jobs(): { state: string; domain: string; oldServer: string }[];
  /** Known accounts and their latest run status (undefined: never run). */
  accounts(): ReadonlyMap<string, string | undefined>;
  /** Accounts with a `verify` result: exact, or differences. */
  verified(): ReadonlyMap<string, "exact" | "differences">;
  routingLookups(): number;
  firstLogins(): { accepted: number; refused: number; temporary: number } | undefined;
  tokenRequests(): ReadonlyMap<string, number>;
  /** Each login log and its unread bytes. */
  logLag(): { log: string; bytes: number }[];
}

/**
 * Users counted by domain and by a label of each (an outcome, a verify result). 100,000
 * accounts in a few milliseconds: the known users are canonical addresses already.
 */
function countByDomain<V>(users: ReadonlyMap<string, V>, label: (v: V) => string): Map<string, Map<string, number>> {
  const counts = new Map<string, Map<string, number>>();
  for (const [user, v] of users) {
    const domain = user.slice(user.lastIndexOf("@") + 1);
    let byLabel = counts.get(domain);
    if (!byLabel) counts.set(domain, (byLabel = new Map()));
    const l = label(v);
    byLabel.set(l, (byLabel.get(l) ?? 0) + 1);
  }
  return counts;
}

export interface FinishedRun {
  domain: string;
  oldServer: string;
  status: string;
  messages: number;
  bytes: number;
  skipped: { code?: ErrorCode }[];
  durationMs: number;
}

/** A counter that mirrors a count kept elsewhere (it only ever grows): what it gained since the last scrape. */
function mirror(counter: Counter<string>, labels: Record<string, string>, now: number, seen: Map<string, number>): void {
  const key = JSON.stringify(labels);
  const before = seen.get(key) ?? 0;
  if (now > before) counter.inc(labels, now - before);
  seen.set(key, Math.max(now, before));
}

export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly copiedMessages: Counter<"domain" | "old_server">;
  private readonly copiedBytes: Counter<"domain" | "old_server">;
  private readonly skipped: Counter<"domain" | "code">;
  private readonly runs: Counter<"domain" | "status">;
  private readonly duration: Histogram<"domain">;
  private readonly loginEvents: Counter<"log" | "result">;
  private readonly lastSweep: Gauge;

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    this.copiedMessages = new Counter({ name: "automigrate_messages_copied_total", help: "Messages copied to the new server", labelNames: ["domain", "old_server"], registers });
    this.copiedBytes = new Counter({ name: "automigrate_bytes_copied_total", help: "Bytes copied to the new server", labelNames: ["domain", "old_server"], registers });
    this.skipped = new Counter({ name: "automigrate_messages_skipped_total", help: "Messages skipped (not copied), by why", labelNames: ["domain", "code"], registers });
    this.runs = new Counter({ name: "automigrate_runs_total", help: "Migration runs finished, by status", labelNames: ["domain", "status"], registers });
    this.duration = new Histogram({ name: "automigrate_run_duration_seconds", help: "Duration of migration runs", labelNames: ["domain"], buckets: [1, 5, 15, 60, 300, 900, 3600, 14400], registers });
    this.loginEvents = new Counter({ name: "automigrate_login_events_total", help: "Login events read from each log, by what was done (queued, merged, ignored)", labelNames: ["log", "result"], registers });
    new Gauge({
      name: "automigrate_log_lag_bytes",
      help: "Bytes written to a login log and not read yet",
      labelNames: ["log"],
      registers,
      collect() {
        this.reset();
        for (const l of source.logLag()) this.set({ log: l.log }, l.bytes);
      },
    });
    this.lastSweep = new Gauge({ name: "automigrate_last_sweep_timestamp_seconds", help: "When the last sweep queued the known accounts (Unix time)", registers });

    new Gauge({
      name: "automigrate_jobs",
      help: "Jobs in the queue, by state",
      labelNames: ["state"],
      registers,
      collect() {
        this.reset();
        for (const state of ["queued", "running", "waiting", "scheduled"]) this.set({ state }, 0);
        for (const j of source.jobs()) this.inc({ state: j.state });
      },
    });
    new Gauge({
      name: "automigrate_sessions_active",
      help: "Users being migrated now, by old server (each holds connections to it and to the new server)",
      labelNames: ["old_server"],
      registers,
      collect() {
        this.reset();
        for (const j of source.jobs()) if (j.state === "running") this.inc({ old_server: j.oldServer });
      },
    });
    new Gauge({
      name: "automigrate_accounts",
      help: "Known accounts by domain and outcome of their latest run (not_started, done, partial, failed)",
      labelNames: ["domain", "outcome"],
      registers,
      collect() {
        this.reset();
        for (const [domain, byOutcome] of countByDomain(source.accounts(), (status) => status ?? "not_started")) for (const [outcome, n] of byOutcome) this.set({ domain, outcome }, n);
      },
    });
    new Gauge({
      name: "automigrate_accounts_verified",
      help: "Accounts whose last `automigrate verify` found old and new the same (exact) or not (differences), by domain",
      labelNames: ["domain", "result"],
      registers,
      collect() {
        this.reset();
        for (const [domain, byResult] of countByDomain(source.verified(), (result) => result)) for (const [result, n] of byResult) this.set({ domain, result }, n);
      },
    });
    const seen = new Map<string, number>();
    new Counter({
      name: "automigrate_routing_lookups_total",
      help: "Postfix socketmap lookups answered",
      registers,
      collect() {
        mirror(this as Counter<string>, {}, source.routingLookups(), seen);
      },
    });
    new Counter({
      name: "automigrate_first_login_decisions_total",
      help: "First-login checks, by result (accepted, refused, temporary)",
      labelNames: ["result"],
      registers,
      collect() {
        const f = source.firstLogins();
        if (!f) return;
        for (const result of ["accepted", "refused", "temporary"] as const) mirror(this as Counter<string>, { result }, f[result], seen);
      },
    });
    new Counter({
      name: "automigrate_token_requests_total",
      help: "OAuth2 token requests to identity providers, by result (ok or the error's code)",
      labelNames: ["result"],
      registers,
      collect() {
        for (const [result, n] of source.tokenRequests()) mirror(this as Counter<string>, { result }, n, seen);
      },
    });
  }

  runFinished(r: FinishedRun): void {
    const where = { domain: r.domain, old_server: r.oldServer };
    this.copiedMessages.inc(where, r.messages);
    this.copiedBytes.inc(where, r.bytes);
    for (const s of r.skipped) this.skipped.inc({ domain: r.domain, code: s.code ?? "UNKNOWN" });
    this.runs.inc({ domain: r.domain, status: r.status });
    this.duration.observe({ domain: r.domain }, r.durationMs / 1000);
  }

  loginEvent(log: string, result: "queued" | "merged" | "ignored"): void {
    this.loginEvents.inc({ log, result });
  }

  swept(at: number): void {
    this.lastSweep.set(at / 1000);
  }
}

/** Serves /metrics on `listen` (host:port, or a Unix socket path); stop() closes it (and removes the socket). */
export function serveMetrics(metrics: DaemonMetrics, listen: string): { stop(): void; url: string } {
  const fetch = async (req: Request) => {
    if (new URL(req.url).pathname !== "/metrics") return new Response("automigrate: metrics are at /metrics\n", { status: 404 });
    return new Response(await metrics.registry.metrics(), { headers: { "content-type": metrics.registry.contentType } });
  };
  if (listen.startsWith("/")) {
    rmSync(listen, { force: true });
    const server = Bun.serve({ unix: listen, fetch });
    chmodSync(listen, 0o660);
    return { url: `unix:${listen}`, stop: () => void server.stop(true) };
  }
  const at = listen.lastIndexOf(":");
  const server = Bun.serve({ hostname: listen.slice(0, at).replace(/^\[|\]$/g, ""), port: Number(listen.slice(at + 1)), fetch });
  return { url: `http://${listen}/metrics`, stop: () => void server.stop(true) };
}
