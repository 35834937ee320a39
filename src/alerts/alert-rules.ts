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

/** Codes that say the old server refused the account's login (or its token). */
const LOGIN_CODES: ReadonlySet<string> = new Set<ErrorCode>(["LOGIN_REFUSED", "TOKEN_REFUSED"]);
/** Codes that say the new server is out of room for the account. */
const QUOTA_CODES: ReadonlySet<string> = new Set<ErrorCode>(["QUOTA"]);

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
  /** Per domain: the users in a row whose login was refused / whose appends hit the quota. */
  private readonly loginRow = new Map<string, Set<string>>();
  private readonly quotaRow = new Map<string, Set<string>>();
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

  /** A row of distinct users per domain: the length after adding `user`, or 0 after a reset. */
  private static row(rows: Map<string, Set<string>>, domain: string, user: string | undefined): number {
    if (user === undefined) {
      rows.delete(domain);
      return 0;
    }
    const set = rows.get(domain) ?? new Set<string>();
    set.add(user);
    rows.set(domain, set);
    return set.size;
  }

  runEnded(r: RunEnded, now: number): AlertEvent[] {
    const out: AlertEvent[] = [];
    const ok = r.status !== "failed";
    if (ok) out.push(...this.clear("job_failed", r.user, now, `${r.user}: migrated again (${r.status})`));
    // the old server's logins: refused in a row, or one that went in
    if (r.codes.some((c) => LOGIN_CODES.has(c))) {
      const n = AlertRules.row(this.loginRow, r.domain, r.user);
      if (this.limits.loginFailuresInRow > 0 && n >= this.limits.loginFailuresInRow) {
        out.push(...this.fire({ alert: "login_failures", key: r.domain, domain: r.domain, oldServer: r.oldServer, count: n, code: "LOGIN_REFUSED", message: `the old server ${r.oldServer} refused the logins of ${n} accounts of ${r.domain} in a row: check migration.old.auth of ${r.domain} (the master user, its password file, the token) with automigrate test-connection` }, now));
      }
    } else if (ok) {
      AlertRules.row(this.loginRow, r.domain, undefined);
      out.push(...this.clear("login_failures", r.domain, now, `the old server ${r.oldServer} accepts the logins of ${r.domain} again (${r.user})`));
    }
    // the new server's quota
    if (r.codes.some((c) => QUOTA_CODES.has(c))) {
      const n = AlertRules.row(this.quotaRow, r.domain, r.user);
      if (this.limits.quotaFailuresInRow > 0 && n >= this.limits.quotaFailuresInRow) {
        out.push(...this.fire({ alert: "quota", key: r.domain, domain: r.domain, count: n, code: "QUOTA", message: `the new server refused appends for quota to ${n} accounts of ${r.domain} in a row: raise the class's quota (automigrate class set ${r.domain} <class> quota=...) or the new server's` }, now));
      }
    } else if (ok) {
      AlertRules.row(this.quotaRow, r.domain, undefined);
      out.push(...this.clear("quota", r.domain, now, `the new server takes ${r.domain}'s mail again (${r.user})`));
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
