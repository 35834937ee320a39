// `automigrate daemon`: login events → queue → workers, in one long-lived process.
//   - tails the configured logs (LogTail) and turns logins into jobs (src/queue decideLogin);
//   - runs jobs with migrateUser() in-process within the total and per-old-server limits;
//   - retries transient failures with backoff; failed jobs stay visible until retried;
//   - node-cron schedules (retry failed, sweep), hot-reloads config.json (watch + SIGHUP);
//   - SIGTERM: stop taking jobs, stop running ones at a safe point, persist, exit 0.
import { statSync } from "node:fs";
import { watch, type FSWatcher } from "chokidar";
import { schedule as cronSchedule, type ScheduledTask } from "node-cron";
import { vaultOf, type VaultStore } from "../src/storage/vault.ts";
import { firstLoginSchema, usesUserPasswords, type Config } from "../src/config/schema.ts";
import { loadConfig, loadLocalConfig, usesDatabase } from "../src/config/store.ts";
import { closeDatabases, databaseOf, setDatabasePoolSize } from "../src/storage/open.ts";
import { NodeSlot } from "../src/storage/postgres/node-slot.ts";
import { DatabaseJobQueue, listenQueue } from "../src/storage/postgres/queue.ts";
import { FilesJobQueue } from "../src/store/files-job-queue.ts";
import type { EnqueueRequest, JobQueue } from "../src/queue/queue-port.ts";
import { otherHostsIn } from "../src/storage/shared-home.ts";
import { LocalRoutePublisher, routeLocalFor } from "../src/storage/local-routes.ts";
import { mirrorLocalAccounts, publishLocalAccounts } from "../src/storage/postgres/local-accounts.ts";
import { AutomigrateError, classify, errorCode, errorText } from "../src/errors.ts";
import { homePaths } from "../src/home.ts";
import { oldServerKey, resolveSides } from "../src/mailstore/endpoints.ts";
import { imapOpener } from "../src/mailstore/imap/opener.ts";
import { isMasterLogin, parserFor, type LoginEvent } from "../src/events/login-event.ts";
import { canonicalUser, splitUser } from "../src/address.ts";
import { migrateUser, type MigrationEvent } from "../src/migrate/migrate-user.ts";
import { domainProgress, withRates, type CancelSelection, type EnqueueResult, type Job, type JobReason } from "../src/queue/policy.ts";
import { CATCH_UP_PRIORITY, type JobEvent } from "../src/queue/job-policy.ts";
import { catchUpOf } from "../src/queue/catch-up.ts";
import { passwordStillNeeded } from "../src/accounts/retention.ts";
import { decideLogin, insideQuietHours, needsLastStatus } from "../src/queue/login-decision.ts";
import { accountStatesOf, type AccountStates } from "../src/storage/account-states.ts";
import type { AccountState } from "../src/store/account-state.ts";
import { LocalAccounts } from "../src/routing/local-accounts.ts";
import { LogTail } from "./log-tail.ts";
import { claimLog, type LogClaim } from "./log-claim.ts";
import { RoutingSocket } from "./routing-socket.ts";
import { DaemonMetrics, serveMetrics } from "./metrics.ts";
import { DaemonAlerts } from "./alerts.ts";
import { tokenRequestOutcomes } from "../src/oauth/broker.ts";
import { AuthSocket, guardLimits } from "./auth-socket.ts";
import { SocketSlot } from "./socket-slot.ts";
import { FirstLoginGuard } from "../src/accounts/first-login-guard.ts";
import type { Logger } from "./logger.ts";
import { QueueStore } from "../src/store/queue-store.ts";
import type { DaemonStatus } from "../src/status/status-view.ts";
import { TIMEOUTS } from "../src/timeouts.ts";
import { RepeatLimiter } from "../src/repeat-limiter.ts";

export interface Progress {
  folder?: string;
  messagesDone: number;
  messagesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  startedAt: number;
  /** Until when its reads wait for the old server's bandwidth cap (migration.old.maxBytesPerSec). */
  bandwidthUntil?: number;
}

export interface Ignored {
  at: string;
  user: string;
  reason: string;
}

const IGNORED_KEPT = 200;

export class Daemon {
  config!: Config;
  /** This home's queue files: the log positions (and in files mode the queue). */
  store!: QueueStore;
  /** The queue: this home's files, or the cluster's database. */
  queue!: JobQueue;
  readonly startedAt = Date.now();
  readonly progress = new Map<string, Progress>();
  readonly ignored: Ignored[] = [];
  /** Users seen logging in to the new server (its log): their accounts exist there. */
  private readonly loggedInHere = new Set<string>();
  /** The daemon's recent log lines per user, for the console's account screen. */
  private readonly userLines = new Map<string, string[]>();
  /** Recently finished runs, newest last, for the console's queue screen: this pass's messages and the account's total so far. */
  readonly recent: { user: string; domain: string; state: string; finishedAt: string; messages: number; totalMessages?: number; lastError?: string }[] = [];
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  /** Each known account's latest run status, read once from the states, then kept up to date by the runs. */
  private readonly latestStatus = new Map<string, string | undefined>();
  /** Where the accounts' states are (this home's files, or the cluster's database). */
  private readonly states: AccountStates;
  /** The last verify result of the accounts that have one (kept with latestStatus). */
  private readonly verifiedResults = new Map<string, "exact" | "differences">();
  /** When accounts became done (their run ended done, the one before had not): the per-domain rate. */
  private completions: { user: string; at: number }[] = [];
  /** Running jobs an admin cancelled: dropped when they reach their safe point. */
  private readonly cancelling = new Set<string>();
  private tails = new Map<string, LogTail>();
  /** This host's claim on each tailed log (one daemon per log), and logs refused for it. */
  private readonly claims = new Map<string, LogClaim>();
  private readonly refusedLogs = new Map<string, string>();
  private crons: ScheduledTask[] = [];
  private readonly routing = new SocketSlot<RoutingSocket>();
  private readonly auth = new SocketSlot<AuthSocket>();
  /** Prometheus metrics (served while metrics.listen is set). */
  readonly metrics = new DaemonMetrics({
    jobs: () => [...(this.queue?.jobs() ?? [])],
    accounts: () => (this.queue ? this.accountStatuses() : new Map()),
    verified: () => this.verifiedResults,
    routingLookups: () => this.routing.current?.lookups ?? 0,
    firstLogins: () => this.auth.current?.stats,
    tokenRequests: () => tokenRequestOutcomes(),
    logLag: () => [...this.tails].map(([log, tail]) => ({ log, bytes: tail.lagBytes() })),
  });
  private metricsServer?: { listen: string; stop(): void };
  /** Alerts: conditions over runs, failures, logs and the queue, handed to alerts.command. */
  alerts?: DaemonAlerts;
  /** Rate limits of first-login checks: kept across reloads and socket moves. */
  private readonly guard = new FirstLoginGuard(guardLimits(firstLoginSchema.parse({})));
  /** Accounts on the new server, for mail routing: a user with a job logged in there. */
  readonly localAccounts: LocalAccounts;
  private readonly vault: VaultStore;
  private configWatcher?: FSWatcher;
  /** Cluster mode: the database, this node's lock on it, the subscriptions to settings, queue and routes. */
  private cluster?: { where: string; slot: NodeSlot; unlisten: () => Promise<void>; routes?: LocalRoutePublisher; routeLocal?: (user: string) => Promise<void> };
  /** Running jobs whose end could not be written (the database away): settled again each tick. */
  private readonly unsettled = new Map<string, { job: Job; event: JobEvent }>();
  private scheduling = false;
  private scheduleAgain = false;
  private refreshTimer?: ReturnType<typeof setTimeout>;
  private routesTimer?: ReturnType<typeof setInterval>;
  /** Cluster mode: the accounts the database knows to be on the new server, kept current (routing answers from it). */
  private readonly clusterLocal = new Set<string>();
  private heartbeat?: ReturnType<typeof setInterval>;
  /** Called when the daemon cannot go on (another daemon took its database slot); main stops the process. */
  onFatal?: (e: unknown) => void;
  private ticker?: ReturnType<typeof setInterval>;
  private stopping = false;
  private readonly repeats = new RepeatLimiter();
  /** Started: its settings, queue and (cluster mode) database are there; the control socket answers only then. */
  ready = false;
  /** Login events seen (for the latency benchmark and status). */
  eventsSeen = 0;

  constructor(
    readonly home: string,
    readonly log: Logger,
  ) {
    this.vault = vaultOf(home);
    this.states = accountStatesOf(home);
    this.localAccounts = new LocalAccounts(
      home,
      () => this.config,
      // the cluster's accounts on the new server (cluster mode: the database's routing table)
      (u) => this.loggedInHere.has(u) || this.clusterLocal.has(u),
    );
  }

  /** Logs an event about one user, and keeps its last lines for the console. */
  private logUser(level: "info" | "warn" | "error", user: string, fields: Record<string, unknown> & { msg: string }): void {
    this.log[level]({ ...fields, user });
    const extra = Object.entries(fields)
      .filter(([k, v]) => k !== "msg" && v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v.split("\n")[0] : JSON.stringify(v)}`)
      .join(" ");
    const lines = this.userLines.get(user) ?? [];
    lines.push(`${new Date().toISOString()} ${level} ${fields.msg}${extra ? ` ${extra}` : ""}`);
    if (lines.length > 20) lines.shift();
    this.userLines.set(user, lines);
  }

  /**
   * Runs work nobody awaits (a timer, a watcher, a cron job) with its failure logged: a
   * rejected promise must never end the process and every other migration with it.
   */
  background(what: string, work: () => Promise<unknown>): void {
    work().catch((e) => {
      // the same failure every tick (the cluster's database down) is one line a minute, with its count
      const d = this.repeats.occur(`${what}\0${errorCode(e)}\0${errorText(e)}`, Date.now());
      if (d.log) this.log.error({ msg: `${what} failed`, error: errorText(e), code: errorCode(e), stack: e instanceof Error ? e.stack : undefined, ...(d.suppressed ? { repeatedSinceLast: d.suppressed } : {}) });
    });
  }

  linesOf(user: string): string[] {
    return this.userLines.get(user) ?? [];
  }

  async start(): Promise<void> {
    // a running migration holds a connection for its run lock: room for workers.total of them
    // and the daemon's own queries (3 nodes of 24 stay under PostgreSQL's max_connections 100)
    setDatabasePoolSize(24);
    // taken before the read, as in reloadNow
    this.configStamp = configStamp(this.home);
    this.config = await loadConfig(this.home);
    this.store = await QueueStore.open(this.home);
    if (usesDatabase(this.config)) await this.joinDatabase();
    else this.queue = new FilesJobQueue(this.store);
    const others = otherHostsIn(this.home);
    if (others.length) {
      this.log.warn({ msg: "this home is used from other hosts too (their control sockets or locks are in it): several nodes share a migration through PostgreSQL (storage.driver=postgres, README \"Several nodes\"), not through a shared home; the host-aware locks only keep it safe", hosts: others, home: this.home });
    }
    this.alerts = new DaemonAlerts(this.config, this.log);
    // jobs that were running when the last process died resume from their saved state
    await this.queue.resumeInterrupted();
    await this.applyConfig();
    await this.readAccounts();
    this.configWatcher = watch(homePaths(this.home).config, { ignoreInitial: true, persistent: false, awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 } });
    this.configWatcher.on("all", () => this.background("reloading config.json", () => this.reload("config.json changed")));
    this.ticker = setInterval(() => {
      this.settleAgain();
      this.schedule();
      this.alertTick();
    }, 1000);
    this.ready = true;
    this.log.info({ msg: "daemon started", home: this.home, pid: process.pid, logs: [...this.tails.keys()], queued: this.queue.jobs().length });
    this.schedule();
  }

  /**
   * Cluster mode (storage.driver postgres): takes the database's daemon slot, refused when
   * another daemon holds it, and reloads whenever any node changes the shared settings.
   */
  private async joinDatabase(): Promise<void> {
    const db = await databaseOf(this.home, this.config);
    const slot = await NodeSlot.take(db.sql, db.where, db.nodeName);
    this.queue = new DatabaseJobQueue(db.sql, db.nodeName, new FilesJobQueue(this.store));
    const unlistenSettings = await db.settings.listen((version) => this.background("reloading the shared settings", () => this.reload(version ? `settings changed in the database (version ${version})` : "the database connection came back")));
    const unlistenQueue = await listenQueue(db.sql, () => this.queueChanged());
    const publisher = new LocalRoutePublisher((users) => publishLocalAccounts(db.sql, users, db.nodeName));
    const unmirror = await mirrorLocalAccounts(db.sql, this.clusterLocal);
    this.cluster = {
      where: db.where,
      slot,
      unlisten: async () => {
        await unlistenSettings();
        await unlistenQueue();
        await unmirror();
      },
    };
    this.cluster.routes = publisher;
    this.cluster.routeLocal = await routeLocalFor(this.home, this.config);
    // the accounts this home knows on the new server, once; then each as the daemon learns of it
    publisher.note(this.localAccounts.all());
    this.heartbeat = setInterval(() => this.background("cluster heartbeat", () => this.beat()), TIMEOUTS.nodeHeartbeatMs);
    this.routesTimer = setInterval(() => this.background("publishing local accounts", () => this.publishRoutes()), TIMEOUTS.routePublishMs);
    await this.publishRoutes().catch((e) => this.log.warn({ msg: "local accounts not published yet (retried)", error: errorText(e) }));
    this.log.info({ msg: "cluster mode: settings and queue in the database", database: db.where, node: db.nodeName });
  }

  /**
   * Another node (or this one) changed the queue: read it again (at most once a second) and
   * look for work. A running job of this daemon that an admin cancelled elsewhere stops.
   */
  private queueChanged(): void {
    if (this.refreshTimer || this.stopping) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.background("reading the cluster's queue", async () => {
        await this.queue.refresh();
        for (const user of this.queue.cancelRequested()) {
          const r = this.running.get(user);
          if (r && !this.cancelling.has(user)) {
            this.cancelling.add(user);
            r.abort.abort();
          }
        }
        this.schedule();
      });
    }, 200);
  }

  /** Sends the local accounts learnt since the last time to the database (Postfix's pgsql: map reads them). */
  private async publishRoutes(): Promise<void> {
    const routes = this.cluster?.routes;
    if (!routes) return;
    routes.note(this.localAccounts.provisionedList());
    const waiting = routes.waiting;
    const added = await routes.flush();
    if (waiting) this.log.info({ msg: "local accounts published for mail routing", accounts: waiting, new: added });
  }

  /** Cluster mode: a user this daemon now knows to be on the new server is published at the next round. */
  private noteLocal(user: string): void {
    if (this.cluster?.routes && this.localAccounts.has(user)) this.cluster.routes.note([user]);
  }

  /** Notes this node alive; when the slot's connection was lost, takes the slot again (or stops, if another daemon took it meanwhile). */
  private async beat(): Promise<void> {
    const c = this.cluster;
    if (!c || this.stopping) return;
    try {
      await c.slot.heartbeat();
      return;
    } catch (e) {
      this.log.warn({ msg: "cluster heartbeat failed: taking this node's lock again", database: c.where, error: errorText(e) });
    }
    await c.slot.release().catch(() => {});
    const db = await databaseOf(this.home, this.config);
    try {
      c.slot = await NodeSlot.take(db.sql, db.where, db.nodeName);
      this.log.info({ msg: "cluster: this node's lock taken again", database: c.where });
    } catch (e) {
      if (errorCode(e) !== "NODE_CONFLICT") throw e;
      this.log.fatal({ msg: "another daemon with this node's name took its lock while the connection was lost: stopping", error: errorText(e), code: "NODE_CONFLICT" });
      this.onFatal?.(e);
    }
  }

  /** Re-reads config.json; an invalid file is reported and the running settings kept. Reloads run one at a time. */
  reload(why: string): Promise<void> {
    const run = this.reloading.then(() => this.reloadNow(why));
    // the next reload runs whatever the end of this one
    this.reloading = run.catch(() => {});
    return run;
  }

  /** The last reload asked for; never rejects. */
  private reloading: Promise<void> = Promise.resolve();

  private async reloadNow(why: string): Promise<void> {
    if (this.stopping) return;
    // taken before the read: a write after it leaves the settings stale, and the next check reloads
    this.configStamp = configStamp(this.home);
    try {
      this.config = await loadConfig(this.home);
    } catch (e) {
      this.log.error({ msg: "settings not reloaded: keeping the previous ones", why, error: errorText(e) });
      return;
    }
    await this.applyConfig();
    this.log.info({ msg: "settings reloaded", why });
    this.schedule();
  }

  /** config.json as it was when the running settings were read (not consulted in a cluster: those come from the database). */
  private configStamp: string | undefined;

  /**
   * Reloads config.json first when it changed since it was read and the watcher has not said
   * so yet (it waits for the file to settle): a setting changed just before a job is queued
   * by hand applies to that job, and to what its end decides (the catch-up pass, wiping the
   * captured password).
   */
  private async settingsUpToDate(): Promise<void> {
    // a reload under way (the watcher's) finishes first: its stamp is taken before its read
    await this.reloading;
    if (this.cluster || this.configStamp === undefined) return;
    if (configStamp(this.home) === this.configStamp) return;
    await this.reload("config.json changed (read again before a job)").catch((e) => {
      this.log.error({ msg: "settings not applied before a job: the job runs with the previous ones", error: errorText(e) });
    });
  }

  /** The time-based alerts: each login log's last line, whether the queue shrinks. */
  private alertTick(): void {
    if (!this.alerts || this.stopping) return;
    const p = this.queue.paused();
    const due = this.queue.jobs().filter((j) => j.state !== "scheduled" && !p.domains.includes(j.domain));
    this.alerts.raise(this.alerts.rules.tick({ now: Date.now(), logs: [...this.tails].map(([path, t]) => ({ path, lastLineAt: t.lastLineAt })), queue: { length: due.length, paused: p.all } }));
  }

  private async applyConfig(): Promise<void> {
    this.alerts?.setConfig(this.config);
    const wanted = new Map(this.config.logins.map((l) => [l.path, l]));
    for (const [path, tail] of this.tails) {
      if (!wanted.has(path)) {
        await tail.stop();
        this.tails.delete(path);
        await this.claims.get(path)?.release();
        this.claims.delete(path);
      }
    }
    for (const path of this.refusedLogs.keys()) if (!wanted.has(path)) this.refusedLogs.delete(path);
    for (const [path, source] of wanted) {
      if (this.tails.has(path)) continue;
      try {
        this.claims.set(path, await claimLog(path, this.home));
        this.refusedLogs.delete(path);
      } catch (e) {
        this.refusedLogs.set(path, errorText(e));
        this.log.error({ msg: "login log not tailed", path, error: errorText(e) });
        continue;
      }
      const tail = new LogTail(path, parserFor(source), {
        load: () => this.store.logs[path],
        save: async (pos) => {
          this.store.logs[path] = pos;
          await this.store.saveMeta();
        },
        onEvents: (events) => this.onLogins(events, path),
        warn: (msg, extra) => this.log.warn({ msg, ...extra }),
      });
      this.tails.set(path, tail);
      await tail.start();
    }
    await this.applyRouting();
    await this.applyFirstLogin();
    this.applyMetrics();
    for (const c of this.crons) await c.destroy();
    this.crons = [];
    const s = this.config.schedules;
    // in cluster mode a schedule fires on every node and runs on the first to reach the database
    const once = (name: string, work: () => Promise<unknown>) => async () => {
      if (await this.queue.firesHere(name, Date.now())) await work();
    };
    if (s.retryFailed) this.crons.push(cronSchedule(s.retryFailed, () => this.background("retrying failed jobs", once("retryFailed", () => this.retryFailed())), { name: "retryFailed", noOverlap: true }));
    if (s.sweep) this.crons.push(cronSchedule(s.sweep, () => this.background("the sweep", once("sweep", () => this.sweep())), { name: "sweep", noOverlap: true }));
  }

  /** Starts, moves or stops the metrics endpoint as metrics.listen says. */
  private applyMetrics(): void {
    const listen = this.config.metrics.listen;
    if (this.metricsServer?.listen === listen) return;
    this.metricsServer?.stop();
    this.metricsServer = undefined;
    if (!listen) return;
    try {
      const server = serveMetrics(this.metrics, listen);
      this.metricsServer = { listen, stop: server.stop };
      this.log.info({ msg: "metrics: serving Prometheus metrics", url: server.url });
    } catch (e) {
      this.log.error({ msg: "metrics not served", listen, error: errorText(e), fix: "check metrics.listen (a free host:port, or a socket path in a directory the daemon may write)" });
    }
  }

  /** Starts, moves or stops the Postfix socketmap server as routing.socket says. */
  private async applyRouting(): Promise<void> {
    const r = this.config.routing;
    await this.routing.apply(
      r.socket ? JSON.stringify([r.socket, r.socketMode, r.socketGroup]) : undefined,
      async () => {
        const sock = await RoutingSocket.listen(r.socket!, r, () => this.config, this.localAccounts, this.log);
        this.log.info({ msg: "routing: answering Postfix socketmap lookups", socket: r.socket, table: `socketmap:unix:${r.socket}:transport`, localTransport: r.localTransport ?? "(not set: lookups for local accounts are deferred)" });
        return sock;
      },
      (e) => this.log.error({ msg: "routing socket not started", socket: r.socket, error: errorText(e), fix: "check routing.socket (its directory must exist) and routing.socketGroup" }),
    );
  }

  /** Starts, moves or stops the first-login socket as firstLogin.socket says. */
  private async applyFirstLogin(): Promise<void> {
    const f = this.config.firstLogin;
    this.guard.setLimits(guardLimits(f));
    await this.auth.apply(
      f.socket ? JSON.stringify([f.socket, f.socketMode, f.socketGroup]) : undefined,
      async () => {
        // each first login reads config.json afresh: a setting changed a moment ago (a port,
        // a CA file) applies to the very next login, not only after the reload; a file that
        // does not parse leaves the running settings in force
        const fresh = () => {
          if (this.cluster) return this.config; // reloaded on every change through NOTIFY
          try {
            return loadLocalConfig(this.home);
          } catch {
            return this.config;
          }
        };
        const sock = await AuthSocket.listen(this.home, fresh, this.guard, this.log);
        this.log.info({ msg: "first logins: answering Dovecot's checkpassword helper and Lua passdb", socket: f.socket, mode: f.socketMode, group: f.socketGroup ?? "(the daemon's)" });
        return sock;
      },
      (e) => this.log.error({ msg: "first-login socket not started: first logins get a temporary failure", socket: f.socket, error: errorText(e), fix: "check firstLogin.socket (its directory must exist and be the daemon's to write) and firstLogin.socketGroup" }),
    );
  }

  /** Known accounts and their latest run status (read once at start, then kept as runs end). */
  private accountStatuses(): Map<string, string | undefined> {
    for (const j of this.queue.jobs()) if (!this.latestStatus.has(j.user)) this.latestStatus.set(j.user, undefined);
    return this.latestStatus;
  }

  /**
   * At start, one pass over the account states: each account's latest run status and verify
   * result, and a catch-up pass for each that has one still to come and no job.
   */
  private async readAccounts(): Promise<void> {
    const queued = new Set(this.queue.jobs().map((j) => j.user));
    await this.states.forEach(async (user, st) => {
      this.noteState(user, st);
      if (queued.has(user)) return;
      try {
        await this.scheduleCatchUp(user, st);
      } catch (e) {
        this.log.warn({ msg: "catch-up pass not scheduled", user, error: errorText(e) });
      }
    });
  }

  /** Messages migrated into the account so far, over all its passes (its state's folder counts). */
  private async mailboxTotal(user: string): Promise<number | undefined> {
    const folders = (await this.states.read(user).catch(() => null))?.folders;
    return folders ? Object.values(folders).reduce((n, f) => n + f.messages, 0) : undefined;
  }

  /** An account's latest run status and verify result, as its state document says now. */
  private async noteAccount(user: string): Promise<void> {
    this.noteState(user, await this.states.read(user));
  }

  private noteState(user: string, st: AccountState | null): void {
    this.latestStatus.set(user, st?.lastRun?.status);
    if (st?.verified) this.verifiedResults.set(user, st.verified.exact ? "exact" : "differences");
    else this.verifiedResults.delete(user);
  }

  /** A run or a verify made elsewhere (the CLI) changed the account's state: read it again. */
  async accountChanged(user: string): Promise<void> {
    this.noteLocal(user);
    await this.noteAccount(user);
  }

  /**
   * The account's last run status; unknown (undefined) when its state cannot be read now (the
   * cluster's database down): a login is then queued rather than lost, and a run of an account
   * that was done already copies nothing.
   */
  private async lastStatusOf(user: string): Promise<string | undefined> {
    try {
      return (await this.states.read(user))?.lastRun?.status;
    } catch (e) {
      this.log.warn({ msg: "account state not readable now: the login is queued as if its last run were unknown", user, error: errorText(e), code: errorCode(e) });
      return undefined;
    }
  }

  async onLogins(events: LoginEvent[], log = "(unknown)"): Promise<void> {
    const now = Date.now();
    // running here or, in cluster mode, on another node
    const runningAnywhere = new Set(this.queue.jobs().filter((j) => j.state === "running").map((j) => j.user));
    const requests: { req: EnqueueRequest; service: string }[] = [];
    for (const e of events) {
      this.eventsSeen++;
      // a Login line of the new server: the account exists there (mail may be routed to it)
      if (!isMasterLogin(e)) {
        this.loggedInHere.add(e.user);
        this.noteLocal(e.user);
      }
      const running = this.running.has(e.user) || runningAnywhere.has(e.user);
      const last = needsLastStatus(e, this.config, running) ? await this.lastStatusOf(e.user) : undefined;
      const d = decideLogin(e, this.config, () => last, running);
      if (!d.enqueue) {
        this.metrics.loginEvent(log, "ignored");
        this.ignored.push({ at: new Date().toISOString(), user: e.user, reason: d.reason });
        if (this.ignored.length > IGNORED_KEPT) this.ignored.shift();
        this.log.debug({ msg: "login ignored", user: e.user, reason: d.reason });
        continue;
      }
      // Without auth_user in the log our own sessions look like the user's: a login while
      // the user's job runs is then merged without another pass.
      const continuous = d.continuous && !(running && e.authUser === undefined);
      requests.push({ req: { user: e.user, domain: d.domain, oldServer: d.oldServer, reason: "login", continuous }, service: e.service });
    }
    if (!requests.length) return;
    const results = await this.queue.enqueue(
      requests.map((r) => r.req),
      now,
    );
    requests.forEach(({ req, service }, i) => {
      const r = results[i]!;
      this.metrics.loginEvent(log, r === "queued" ? "queued" : "merged");
      this.logUser("info", req.user, { msg: r === "queued" ? "login queued" : "login merged", service, result: r });
    });
    this.schedule();
  }

  /** Queues a user by hand (control socket): allowed for any configured domain. */
  async request(user: string, reason: JobReason): Promise<EnqueueResult> {
    const u = canonicalUser(user);
    const { domain } = splitUser(u);
    const d = this.config.domains[domain];
    if (!d) throw new AutomigrateError(`domain ${domain} is not configured`, { user: u, hint: `automigrate domain add ${domain}` }, { exitCode: 2, code: "NOT_FOUND" });
    const o = d.migration.old;
    const [r] = await this.queue.enqueue([{ user: u, domain, oldServer: oldServerKey(o), reason, continuous: true }], Date.now());
    this.schedule();
    return r!;
  }

  /** Moves a failed job (or all) back into the queue, and ends any backoff wait. */
  async retry(user?: string): Promise<number> {
    const n = await this.queue.retry(user, Date.now(), this.policyLimits());
    this.schedule();
    return n;
  }

  /**
   * Takes jobs out of the queue: queued and waiting ones at once, failed ones from the failed
   * list, running ones at their next safe point (what they committed stays; a later login or
   * "migrate now" continues from there). Returns the users of each kind.
   */
  async cancel(sel: CancelSelection): Promise<{ cancelled: string[]; stopping: string[]; failedRemoved: string[] }> {
    const picked = await this.queue.cancel(sel);
    for (const j of picked.running) {
      // one this daemon runs stops now; another node's stops when that node reads the queue
      if (!this.running.has(j.user)) continue;
      this.cancelling.add(j.user);
      this.running.get(j.user)?.abort.abort();
    }
    const result = { cancelled: picked.jobs.map((j) => j.user), stopping: picked.running.map((j) => j.user), failedRemoved: picked.failed.map((f) => f.user) };
    this.log.info({ msg: "cancel", selection: sel, ...result });
    return result;
  }

  async retryFailed(): Promise<void> {
    const n = await this.retry();
    this.log.info({ msg: "scheduled retry of failed jobs", jobs: n });
  }

  /** An incremental pass over every known account of a migrating domain. Returns how many were queued. */
  async sweep(now = false): Promise<number> {
    if (!now && !insideQuietHours(this.config.schedules.quietHours, new Date())) {
      this.log.info({ msg: "sweep skipped: outside quiet hours", quietHours: this.config.schedules.quietHours });
      return 0;
    }
    const requests: EnqueueRequest[] = [];
    for (const user of await this.states.users()) {
      const d = decideLogin({ user, service: "sweep" }, this.config, () => undefined, false);
      if (d.enqueue) requests.push({ user, domain: d.domain, oldServer: d.oldServer, reason: "sweep", continuous: false });
    }
    await this.queue.enqueue(requests, Date.now());
    this.metrics.swept(Date.now());
    this.log.info({ msg: "sweep queued", accounts: requests.length });
    this.schedule();
    return requests.length;
  }

  async setPaused(paused: boolean, domain?: string): Promise<void> {
    await this.queue.setPaused(paused, domain);
    this.log.info({ msg: paused ? "paused" : "resumed", domain: domain ?? "all" });
    this.schedule();
  }

  /** Starts as many jobs as the limits allow (one pass at a time; a call during a pass asks for another). */
  schedule(): void {
    if (this.stopping || !this.queue) return;
    if (this.scheduling) {
      this.scheduleAgain = true;
      return;
    }
    this.scheduling = true;
    this.background("starting jobs", async () => {
      try {
        do {
          this.scheduleAgain = false;
          await this.startJobs();
        } while (this.scheduleAgain && !this.stopping);
      } finally {
        this.scheduling = false;
      }
    });
  }

  private async startJobs(): Promise<void> {
    const limits = { total: this.config.workers.total, perOldServer: this.config.workers.perOldServer };
    while (!this.stopping) {
      const job = await this.queue.claim(limits, Date.now(), this.policyLimits(), [...this.running.keys()]);
      if (!job) return;
      const abort = new AbortController();
      const done = this.runJob(job, abort.signal)
        .catch((e) => this.jobBroke(job, e))
        .finally(() => {
          this.running.delete(job.user);
          this.schedule();
        });
      this.running.set(job.user, { abort, done });
    }
  }

  private onProgress(user: string, e: MigrationEvent): void {
    const p = this.progress.get(user);
    if (!p) return;
    if (e.type === "folder") {
      p.folder = e.folder;
      p.messagesTotal += e.messages;
      p.bytesTotal += e.bytes;
    } else if (e.type === "bandwidth") {
      if (e.waitMs > 0) p.bandwidthUntil = Date.now() + e.waitMs;
    } else if (e.type === "copied") {
      p.folder = e.folder;
      p.messagesDone += e.messages;
      p.bytesDone += e.bytes;
    }
  }

  /**
   * A job whose own bookkeeping failed (its queue file could not be written, a bug): it is
   * logged with the reason, kept in memory as waiting so a later tick retries it, and the
   * daemon goes on with the others.
   */
  private jobBroke(job: Job, e: unknown): void {
    const c = classify(e, { user: job.user });
    this.logUser("error", job.user, { msg: "migration job broke", error: errorText(c), code: c.code, stack: c.code === "BUG" && e instanceof Error ? e.stack : undefined });
    const event: JobEvent = { kind: "broke", error: { code: c.code, reason: errorText(c) } };
    this.queue.settle(job, event, Date.now(), this.policyLimits()).catch(() => this.unsettled.set(job.user, { job, event }));
  }

  /** Running jobs whose end could not be written: written now, if the store answers. */
  private settleAgain(): void {
    for (const [user, { job, event }] of this.unsettled) {
      this.unsettled.delete(user);
      this.queue.settle(job, event, Date.now(), this.policyLimits()).catch(() => this.unsettled.set(user, { job, event }));
    }
  }

  private policyLimits() {
    return { maxAttempts: this.config.workers.maxAttempts, baseMs: this.config.workers.retryBaseSec * 1000, maxMs: this.config.workers.retryMaxSec * 1000 };
  }

  /** The user's next catch-up pass due, from the account's state (none: undefined). */
  private async nextCatchUpOf(user: string, state?: AccountState | null): Promise<number | undefined> {
    const d = this.config.domains[splitUser(user).domain];
    if (!d?.migration.enabled) return undefined;
    return catchUpOf(state === undefined ? await this.states.read(user) : state, d.migration.catchUp);
  }

  /**
   * Schedules the user's next catch-up pass (after a run this daemon did not make: the CLI,
   * a daemon restart). A job already in the queue keeps its place: its end schedules the next.
   * Returns when it is due, or null when none is left.
   */
  async scheduleCatchUp(user: string, state?: AccountState | null): Promise<string | null> {
    const at = await this.nextCatchUpOf(user, state);
    if (at === undefined) return null;
    const d = this.config.domains[splitUser(user).domain]!;
    const { job: existing, added } = await this.queue.addIfAbsent({ user, domain: splitUser(user).domain, oldServer: oldServerKey(d.migration.old), reason: "catch-up", priority: CATCH_UP_PRIORITY, state: "scheduled", attempts: 0, enqueuedAt: Date.now(), notBefore: at });
    if (!added) return existing.state === "scheduled" && existing.notBefore !== undefined ? new Date(existing.notBefore).toISOString() : new Date(at).toISOString();
    this.logUser("info", user, { msg: "catch-up pass scheduled", at: new Date(at).toISOString() });
    return new Date(at).toISOString();
  }

  private async runJob(job: Job, signal: AbortSignal): Promise<void> {
    await this.settingsUpToDate();
    await this.queue.started(job);
    this.progress.set(job.user, { messagesDone: 0, messagesTotal: 0, bytesDone: 0, bytesTotal: 0, startedAt: Date.now() });
    this.logUser("info", job.user, { msg: "migration started", reason: job.reason, attempt: job.attempts + 1 });
    let event: Extract<JobEvent, { kind: "finished" }>;
    const before = await this.lastStatusOf(job.user);
    const startedAt = Date.now();
    try {
      const r = await migrateUser({ home: this.home, config: this.config, user: job.user, opener: imapOpener(resolveSides(this.config, job.user, await this.vault.sourceFor(job.user))), signal, onProgress: (e) => this.onProgress(job.user, e), routeLocal: this.cluster?.routeLocal });
      this.metrics.runFinished({ domain: job.domain, oldServer: job.oldServer, status: r.status, messages: r.messages, bytes: r.bytes, skipped: r.skipped, durationMs: r.durationMs });
      const codes = [...r.errors.map((e) => e.code), ...r.skipped.map((k) => k.code)].filter((c): c is NonNullable<typeof c> => c !== undefined);
      this.alerts?.raise(this.alerts.rules.runEnded({ user: job.user, domain: job.domain, oldServer: job.oldServer, status: r.status, codes }, Date.now()));
      const first = r.errors[0];
      const error = first ? { code: first.code ?? "SERVER", reason: first.message } : undefined;
      // a budget used up (its errors say when it refills): the job waits until the last of them
      const budget = r.errors.filter((e) => e.resumeAt);
      const resumeAt = budget.length ? Math.max(...budget.map((e) => Date.parse(e.resumeAt!))) : undefined;
      event = { kind: "finished", status: r.status, transient: r.errors.some((e) => e.transient), error: budget[0] ? { code: budget[0].code ?? "BUDGET", reason: budget[0].message } : error, resumeAt };
      this.recent.push({ user: job.user, domain: job.domain, state: r.status, finishedAt: new Date().toISOString(), messages: r.messages, totalMessages: await this.mailboxTotal(job.user), lastError: error?.reason });
      this.latestStatus.set(job.user, r.status);
      this.noteLocal(job.user);
      if (r.status === "done" && before !== "done") {
        this.completions.push({ user: job.user, at: Date.now() });
        // an hour's worth is all the rate needs
        const hourAgo = Date.now() - 3_600_000;
        if (this.completions[0]!.at < hourAgo) this.completions = this.completions.filter((c) => c.at >= hourAgo);
      }
      if (this.recent.length > IGNORED_KEPT) this.recent.shift();
      this.logUser("info", job.user, { msg: "migration finished", status: r.status, messages: r.messages, bytes: r.bytes, skipped: r.skipped.length, durationMs: r.durationMs, reason: job.reason, error: error?.reason, code: error?.code });
    } catch (e) {
      const c = classify(e, { user: job.user });
      event = { kind: "finished", status: "failed", transient: c.transient, error: { code: c.code, reason: errorText(c) } };
      // a run that could not even start is a failed run too (the metrics count it)
      this.metrics.runFinished({ domain: job.domain, oldServer: job.oldServer, status: "failed", messages: 0, bytes: 0, skipped: [], durationMs: Date.now() - startedAt });
      this.alerts?.raise(this.alerts.rules.runEnded({ user: job.user, domain: job.domain, oldServer: job.oldServer, status: "failed", codes: [c.code] }, Date.now()));
      this.logUser("warn", job.user, { msg: "migration could not run", error: errorText(c), code: c.code });
    } finally {
      this.progress.delete(job.user);
    }
    if (signal.aborted && this.cancelling.delete(job.user)) {
      await this.queue.settle(job, { kind: "cancelled" }, Date.now(), this.policyLimits());
      this.logUser("info", job.user, { msg: "migration cancelled", status: event.status });
      return;
    }
    if (signal.aborted) {
      // shutdown: resumes on the next start, not counted as an attempt
      await this.queue.settle(job, { kind: "stopped" }, Date.now(), this.policyLimits());
      return;
    }
    await this.settingsUpToDate();
    // the state unreadable just now (the cluster's database): no catch-up pass is planned from it; a later login or sweep brings what arrives
    const nextCatchUp = event.status === "failed" ? undefined : await this.nextCatchUpOf(job.user).catch((e) => {
      this.log.warn({ msg: "catch-up pass not planned: the account state is not readable now", user: job.user, error: errorText(e) });
      return undefined;
    });
    const settled = await this.queue.settle(job, { ...event, catchUpAt: nextCatchUp }, Date.now(), this.policyLimits());
    if (!settled) {
      this.logUser("warn", job.user, { msg: "the job was given to another node while this one ran it (this node's database connection was lost): its end is not recorded here", status: event.status, code: "NODE_CONFLICT" });
      return;
    }
    const { verdict: v, job: after } = settled;
    if (v.to === "done" || v.to === "scheduled") {
      const d = this.config.domains[job.domain];
      if (!passwordStillNeeded(d, { lastStatus: event.status, nextCatchUp }) && usesUserPasswords(d?.migration.old.auth) && (await this.vault.remove(job.user))) {
        this.log.info({ msg: "captured password wiped: migration complete, no later pass needs it", user: job.user });
      }
      if (v.to === "scheduled") this.logUser("info", job.user, { msg: "catch-up pass scheduled", at: new Date(nextCatchUp!).toISOString() });
    } else if (v.to === "waiting") {
      this.logUser("warn", job.user, { msg: "migration will be retried", attempt: after.attempts, inSeconds: Math.round(((after.notBefore ?? Date.now()) - Date.now()) / 1000), error: after.lastError, code: after.lastErrorCode });
    } else if (v.to === "failed") {
      this.logUser("error", job.user, { msg: "migration failed", error: v.error.reason, code: v.error.code });
      this.alerts?.raise(this.alerts.rules.jobFailed({ user: job.user, domain: job.domain, code: v.error.code, reason: v.error.reason }, Date.now()));
    }
  }

  /** Stops taking jobs, stops running ones at a safe point, persists. */
  async stop(reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info({ msg: "stopping", reason, running: [...this.running.keys()] });
    clearInterval(this.ticker);
    clearInterval(this.heartbeat);
    clearInterval(this.routesTimer);
    clearTimeout(this.refreshTimer);
    await this.configWatcher?.close();
    for (const c of this.crons) await c.destroy();
    for (const t of this.tails.values()) await t.stop();
    for (const c of this.claims.values()) await c.release();
    for (const r of this.running.values()) r.abort.abort();
    await Promise.race([Promise.all([...this.running.values()].map((r) => r.done)), Bun.sleep(TIMEOUTS.shutdownJobsMs)]);
    await this.queue?.flush();
    await this.store.flush();
    // alerts already raised still go out (briefly: a hung command does not hold the shutdown)
    await this.alerts?.drain(2000);
    // routing and first logins answer until the very end: Postfix defers mail and Dovecot
    // answers "temporary failure" while nothing answers
    await this.routing.close();
    await this.auth.close();
    this.metricsServer?.stop();
    if (this.cluster) {
      await this.publishRoutes().catch(() => {});
      await this.cluster.unlisten().catch(() => {});
      await this.cluster.slot.release().catch((e) => this.log.warn({ msg: "cluster: the daemon slot was not released (the database lets it go with the connection)", error: errorText(e) }));
      await closeDatabases();
    }
    this.log.info({ msg: "stopped" });
  }

  snapshot(): DaemonStatus {
    const now = Date.now();
    const jobs = this.queue.jobs().map((j) => {
      const p = this.progress.get(j.user);
      const secs = p ? (now - p.startedAt) / 1000 : 0;
      const rate = p && secs > 0 ? p.messagesDone / secs : 0;
      return {
        ...j,
        progress: p ? { ...p, rateMsgPerSec: Math.round(rate), etaSec: rate > 0 ? Math.round((p.messagesTotal - p.messagesDone) / rate) : null, waitingForBandwidth: (p.bandwidthUntil ?? 0) > Date.now() - 1000 } : undefined,
      };
    });
    return {
      pid: process.pid,
      startedAt: new Date(this.startedAt).toISOString(),
      paused: this.queue.paused(),
      counts: {
        queued: jobs.filter((j) => j.state === "queued").length,
        running: jobs.filter((j) => j.state === "running").length,
        waiting: jobs.filter((j) => j.state === "waiting").length,
        scheduled: jobs.filter((j) => j.state === "scheduled").length,
        failed: this.queue.failed().length,
      },
      jobs,
      failed: [...this.queue.failed()],
      ignored: this.ignored.slice(-50),
      recent: this.recent.slice(-50),
      logs: [...this.tails.entries()].map(([path, t]) => ({ path, ...t.position() })),
      logsRefused: [...this.refusedLogs.entries()].map(([path, reason]) => ({ path, reason })),
      eventsSeen: this.eventsSeen,
      domains: withRates(domainProgress(this.accountStatuses()), this.completions, now),
      routing: this.routing.current ? { socket: this.routing.current.path, lookups: this.routing.current.lookups } : null,
      firstLogin: this.auth.current ? { socket: this.auth.current.path, ...this.auth.current.stats } : null,
    };
  }
}

/** config.json's identity and size and time of its last change, or undefined when it cannot be read. */
function configStamp(home: string): string | undefined {
  try {
    const st = statSync(homePaths(home).config);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
}
