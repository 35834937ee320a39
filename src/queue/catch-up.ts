// Catch-up passes: after an account's mail is routed to the new server, mail can still reach
// the old one — a message in flight at the switch, an old MX's deferred queue delivering for
// days. A pass at each delay of migration.catchUp after the switch copies it (a pass with
// nothing new is one LIST-STATUS on the old server). Pure: times in, the next due time out.

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "15m" → 900000; undefined when it is not <number><s|m|h|d>. */
export function parseDelay(text: string): number | undefined {
  const m = /^(\d{1,6})([smhd])$/.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : undefined;
}

/** The default: past the lifetime of an old MX's deferred queue (Postfix keeps mail 5 days). */
export const DEFAULT_CATCH_UP = ["15m", "1d", "6d"];

/**
 * When the next catch-up pass is due, or undefined when none is left. `switchedAt`: when the
 * user's mail started going to the new server; `coveredUntil`: when the latest complete run
 * started (a run that started after a pass was due did that pass's work, whatever started it:
 * a login, a sweep, the pass itself).
 */
export function nextCatchUp(switchedAt: number, delays: string[], coveredUntil: number | undefined): number | undefined {
  let next: number | undefined;
  for (const d of delays) {
    const ms = parseDelay(d);
    if (ms === undefined) continue;
    const due = switchedAt + ms;
    if (coveredUntil !== undefined && due <= coveredUntil) continue;
    if (next === undefined || due < next) next = due;
  }
  return next;
}

/** From an account's state: when the switch happened and what the last complete run covered. */
export function catchUpOf(state: { routedLocalAt?: string; account?: { createdAt: string }; lastRun?: { status: string; startedAt?: string; finishedAt: string } } | null | undefined, delays: string[]): number | undefined {
  if (!state?.lastRun || state.lastRun.status === "failed") return undefined; // no complete run yet
  const switched = state.routedLocalAt ?? state.account?.createdAt;
  if (!switched) return undefined;
  const covered = Date.parse(state.lastRun.startedAt ?? state.lastRun.finishedAt);
  return nextCatchUp(Date.parse(switched), delays, Number.isNaN(covered) ? undefined : covered);
}
