// Whether a login should queue a migration (and if not, why: shown in status), and whether a
// time is inside the sweep's quiet hours. Pure: the daemon calls them with its live settings.
import { isMasterLogin, type LoginEvent } from "../events/login-event.ts";
import { migratableUser } from "../config/rules.ts";
import type { Config } from "../config/schema.ts";
import { oldServerKey } from "../mailstore/endpoints.ts";

export type Decision = { enqueue: true; domain: string; oldServer: string; continuous: boolean } | { enqueue: false; reason: string };

/** Whether a login should queue a migration, and if not, why (shown in status). `lastStatus` is asked only when it matters (it reads the account's state file). */
export function decideLogin(e: LoginEvent, config: Config, lastStatus: () => string | undefined, running: boolean): Decision {
  if (isMasterLogin(e)) return { enqueue: false, reason: `master-user login (auth_user ${e.authUser}): automigrate's own or an admin's session` };
  const m = migratableUser(config, e.user);
  if (!m.ok) return { enqueue: false, reason: m.reason };
  const d = config.domains[m.domain]!;
  if (!d.migration.continuous && !running && lastStatus() === "done") return { enqueue: false, reason: "already migrated; continuous migration is off" };
  const o = d.migration.old;
  return { enqueue: true, domain: m.domain, oldServer: oldServerKey(o), continuous: d.migration.continuous };
}

/** Whether decideLogin needs the account's last run status for this login (reading it costs a state read). */
export function needsLastStatus(e: LoginEvent, config: Config, running: boolean): boolean {
  if (isMasterLogin(e) || running) return false;
  const m = migratableUser(config, e.user);
  return m.ok && !config.domains[m.domain]!.migration.continuous;
}

/** Whether `now` is inside "HH:MM-HH:MM" (which may wrap midnight). */
export function insideQuietHours(range: string | undefined, now: Date): boolean {
  if (!range) return true;
  const [a, b] = range.split("-").map((t) => {
    const [h, m] = t.split(":").map(Number);
    return h! * 60 + m!;
  });
  const t = now.getHours() * 60 + now.getMinutes();
  return a! <= b! ? t >= a! && t < b! : t >= a! || t < b!;
}

