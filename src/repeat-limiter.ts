// One problem, one log line: a failure that repeats every poll (a full disk, a log path that
// became a directory) is logged when it starts, then at most once per interval with how many
// times it came back meanwhile, and once more when it is over. Pure (the clock is given).

export interface RepeatDecision {
  /** Log this occurrence. */
  log: boolean;
  /** Occurrences not logged since the last one that was. */
  suppressed: number;
}

export class RepeatLimiter {
  private readonly seen = new Map<string, { lastLogged: number; suppressed: number }>();

  constructor(private readonly intervalMs = 60_000) {}

  /** An occurrence of the problem `key` (e.g. the message and the error) at `now`. */
  occur(key: string, now: number): RepeatDecision {
    const s = this.seen.get(key);
    if (!s || now - s.lastLogged >= this.intervalMs) {
      const suppressed = s?.suppressed ?? 0;
      this.seen.set(key, { lastLogged: now, suppressed: 0 });
      if (this.seen.size > 1000) this.seen.delete(this.seen.keys().next().value!);
      return { log: true, suppressed };
    }
    s.suppressed++;
    return { log: false, suppressed: s.suppressed };
  }

  /** The problems that were seen and are over now (their keys start with `prefix`): forgotten, each with its unlogged count. */
  clear(prefix: string): { key: string; suppressed: number }[] {
    const out: { key: string; suppressed: number }[] = [];
    for (const [k, v] of this.seen) {
      if (!k.startsWith(prefix)) continue;
      out.push({ key: k, suppressed: v.suppressed });
      this.seen.delete(k);
    }
    return out;
  }
}
