// When the daemon raises an alert, as a table of conditions over what it sees: runs ending, jobs
// failing for good, each login log's last line, the queue's length. Each condition fires once
// when it becomes true and once more ("cleared") when it stops being true. Pure: the daemon
// feeds it events and the time, and carries out what it answers (src/alerts is not I/O).
import type { ErrorCode } from "../errors.ts";

export const ALERT_NAMES = ["job_failed", "login_failures", "quota", "silent_log", "queue_stuck"] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

export interface AlertEvent {
  alert: AlertName;
  state: "firing" | "cleared";
  /** What the condition is about: a user, a domain, a log path, "queue". */
  key: string;
  at: string;
  /** The condition in plain words, with what to do. */
  message: string;
  user?: string;
  domain?: string;
  oldServer?: string;
  log?: string;
  /** How many in a row, how many minutes, how many jobs. */
  count?: number;
  code?: string;
}

export interface AlertThresholds {
  /** Accounts of a domain in a row whose old-server login was refused (0: off). */
  loginFailuresInRow: number;
  /** Accounts of a domain in a row the new server refused for quota (0: off). */
  quotaFailuresInRow: number;
  /** Minutes without a line in a login log (0: off). */
  silentLogMinutes: number;
  /** Minutes the queue has not shrunk while not paused (0: off). */
  stuckMinutes: number;
}

/**
 * The conditions counted over distinct accounts of a domain in a row: a run with one of the
 * codes adds its account; a run that ends done or partial without them starts the row again
 * and clears the alert; any other failure (a server down) neither counts nor resets.
 */
const IN_A_ROW: readonly {
  alert: "login_failures" | "quota";
  codes: ReadonlySet<string>;
  limit: keyof Pick<AlertThresholds, "loginFailuresInRow" | "quotaFailuresInRow">;
  code: ErrorCode;
  firing: (n: number, r: RunEnded) => string;
  cleared: (r: RunEnded) => string;
  /** Whether the event names the old server. */
  oldServer: boolean;
}[] = [
  {
    alert: "login_failures",
    // the old server refused the account's login (or its token)
    codes: new Set<ErrorCode>(["LOGIN_REFUSED", "TOKEN_REFUSED"]),
    limit: "loginFailuresInRow",
    code: "LOGIN_REFUSED",
    firing: (n, r) => `the old server ${r.oldServer} refused the logins of ${n} accounts of ${r.domain} in a row: check migration.old.auth of ${r.domain} (the master user, its password file, the token) with automigrate test-connection`,
    cleared: (r) => `the old server ${r.oldServer} accepts the logins of ${r.domain} again (${r.user})`,
    oldServer: true,
  },
  {
    alert: "quota",
    // the new server is out of room for the account
    codes: new Set<ErrorCode>(["QUOTA"]),
    limit: "quotaFailuresInRow",
    code: "QUOTA",
    firing: (n, r) => `the new server refused appends for quota to ${n} accounts of ${r.domain} in a row: raise the class's quota (automigrate class set ${r.domain} <class> quota=...) or the new server's`,
    cleared: (r) => `the new server takes ${r.domain}'s mail again (${r.user})`,
    oldServer: false,
  },
];

export interface RunEnded {
  user: string;
  domain: string;
  oldServer: string;
  status: "done" | "partial" | "failed";
  /** The codes of the run's errors and skipped messages. */
  codes: string[];
}

export class AlertRules {
  private readonly firing = new Map<string, AlertEvent>();
  /** Per condition of IN_A_ROW, per domain: the accounts in the row so far. */
  private readonly rows = new Map<string, Map<string, Set<string>>>(IN_A_ROW.map((c) => [c.alert, new Map()]));
  private queue?: { length: number; sinceMs: number };

  constructor(private limits: AlertThresholds) {}

  setThresholds(limits: AlertThresholds): void {
    this.limits = limits;
  }

  /** Conditions firing now. */
  active(): AlertEvent[] {
    return [...this.firing.values()];
  }

  private fire(e: Omit<AlertEvent, "state" | "at">, now: number): AlertEvent[] {
    const id = `${e.alert}:${e.key}`;
    if (this.firing.has(id)) return [];
    const event: AlertEvent = { ...e, state: "firing", at: new Date(now).toISOString() };
    this.firing.set(id, event);
    return [event];
  }

  private clear(alert: AlertName, key: string, now: number, message: string): AlertEvent[] {
    const id = `${alert}:${key}`;
    const was = this.firing.get(id);
    if (!was) return [];
    this.firing.delete(id);
    return [{ ...was, state: "cleared", at: new Date(now).toISOString(), message }];
  }

  runEnded(r: RunEnded, now: number): AlertEvent[] {
    const out: AlertEvent[] = [];
    const ok = r.status !== "failed";
    if (ok) out.push(...this.clear("job_failed", r.user, now, `${r.user}: migrated again (${r.status})`));
    for (const c of IN_A_ROW) {
      const rows = this.rows.get(c.alert)!;
      if (r.codes.some((code) => c.codes.has(code))) {
        const row = rows.get(r.domain) ?? new Set<string>();
        rows.set(r.domain, row.add(r.user));
        const limit = this.limits[c.limit];
        if (limit > 0 && row.size >= limit) {
          out.push(...this.fire({ alert: c.alert, key: r.domain, domain: r.domain, ...(c.oldServer ? { oldServer: r.oldServer } : {}), count: row.size, code: c.code, message: c.firing(row.size, r) }, now));
        }
      } else if (ok) {
        rows.delete(r.domain);
        out.push(...this.clear(c.alert, r.domain, now, c.cleared(r)));
      }
    }
    return out;
  }

  jobFailed(j: { user: string; domain: string; code: string; reason: string }, now: number): AlertEvent[] {
    return this.fire({ alert: "job_failed", key: j.user, user: j.user, domain: j.domain, code: j.code, message: `the migration of ${j.user} failed for good [${j.code}]: ${j.reason.split("\n")[0]} (fix the cause, then: automigrate retry ${j.user})` }, now);
  }

  /** The time-based conditions: each login log's last line, the queue's length. */
  tick(s: { now: number; logs: { path: string; lastLineAt: number }[]; queue: { length: number; paused: boolean } }): AlertEvent[] {
    const out: AlertEvent[] = [];
    const silentMs = this.limits.silentLogMinutes * 60_000;
    for (const l of s.logs) {
      const quiet = s.now - l.lastLineAt;
      if (silentMs > 0 && quiet >= silentMs) {
        out.push(...this.fire({ alert: "silent_log", key: l.path, log: l.path, count: Math.floor(quiet / 60_000), message: `no line in the login log ${l.path} for ${Math.round(quiet / 60_000)} minutes: is the new server writing it (its log_path), or has it moved? Logins are not seen meanwhile` }, s.now));
      } else {
        out.push(...this.clear("silent_log", l.path, s.now, `the login log ${l.path} has lines again`));
      }
    }
    // the queue: since when it has not shrunk (paused or empty: not stuck)
    const q = s.queue;
    if (!this.queue || q.length < this.queue.length || q.length === 0 || q.paused) this.queue = { length: q.length, sinceMs: s.now };
    else if (q.length > this.queue.length) this.queue.length = q.length;
    const stuckMs = this.limits.stuckMinutes * 60_000;
    if (stuckMs > 0 && q.length > 0 && !q.paused && s.now - this.queue.sinceMs >= stuckMs) {
      out.push(...this.fire({ alert: "queue_stuck", key: "queue", count: q.length, message: `the queue (${q.length} jobs) has not shrunk for ${Math.round((s.now - this.queue.sinceMs) / 60_000)} minutes and is not paused: automigrate status shows what the jobs wait for (an old server down, a budget, a lock)` }, s.now));
    } else if (this.queue.sinceMs === s.now) {
      out.push(...this.clear("queue_stuck", "queue", s.now, q.paused ? "the queue is paused" : `the queue moves again (${q.length} jobs)`));
    }
    return out;
  }
}
