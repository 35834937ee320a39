// How fast and how much is read from an old server: a bandwidth cap shared by every job of
// that server in this process (migration.old.maxBytesPerSec), and a user's daily download
// allowance (a provider's documented limit, e.g. Gmail's 2,500 MB a day). Both act on the
// bodies a FolderReader fetches, through a decorator of the port: the engine is unchanged.
// A read is paced whole (a batch, or one large message streamed into its spool file): it goes
// at the link's speed, and the reads after it wait for its share of time.
import { AutomigrateError } from "../errors.ts";
import type { FolderReader } from "../mailstore/port.ts";

/**
 * Bytes per second as virtual scheduling (GCRA): each read reserves its share of time; a
 * read waits until the reads before it have had theirs. An idle server's first read goes at
 * once; over any long stretch the average is the rate. Pure apart from the clock.
 */
export class RateLimiter {
  private nextFree = 0;

  constructor(readonly bytesPerSec: number, private readonly now: () => number = Date.now) {}

  /** Reserves `bytes`; the milliseconds to wait before reading them. */
  reserve(bytes: number): number {
    const now = this.now();
    const start = Math.max(now, this.nextFree);
    this.nextFree = start + (bytes * 1000) / this.bytesPerSec;
    return start - now;
  }
}

const limiters = new Map<string, RateLimiter>();

/** The limiter of one old server (host:port) in this process, at `bytesPerSec` (a new rate starts afresh). */
export function serverLimiter(server: string, bytesPerSec: number): RateLimiter {
  let l = limiters.get(server);
  if (!l || l.bytesPerSec !== bytesPerSec) {
    l = new RateLimiter(bytesPerSec);
    limiters.set(server, l);
  }
  return l;
}

/** A user's downloads on one UTC day. */
export interface DownloadLedger {
  day: string;
  bytes: number;
}

export function utcDay(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

/** When the day's allowance refills: the next UTC midnight. */
export function nextUtcMidnight(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

/** A user's daily allowance as it is spent in a run: starts from the ledger of earlier runs today. Pure apart from the clock. */
export class DailyAllowance {
  ledger: DownloadLedger;

  constructor(readonly user: string, readonly bytesPerDay: number, ledger: DownloadLedger | undefined, private readonly now: () => number = Date.now) {
    const today = utcDay(now());
    this.ledger = ledger && ledger.day === today ? { ...ledger } : { day: today, bytes: 0 };
  }

  /** Spends `bytes`, or refuses (BUDGET) when they would go past the day's allowance. */
  spend(bytes: number): void {
    const today = utcDay(this.now());
    if (this.ledger.day !== today) this.ledger = { day: today, bytes: 0 };
    if (this.ledger.bytes + bytes > this.bytesPerDay && this.ledger.bytes > 0) {
      const at = nextUtcMidnight(this.now());
      throw new BudgetError(this.user, this.bytesPerDay, at);
    }
    this.ledger.bytes += bytes;
  }
}

/** The day's download allowance is used up: a temporary condition with a time it ends. */
export class BudgetError extends AutomigrateError {
  constructor(user: string, bytesPerDay: number, readonly resumeAt: number) {
    super(`the daily download allowance of ${Math.round(bytesPerDay / 1024 / 1024)} MB for ${user} is used up; the migration continues after ${new Date(resumeAt).toISOString().slice(0, 16).replace("T", " ")} UTC`, {
      user,
      hint: "the provider limits downloads per user per day (Gmail: 2,500 MB); raise migration.old.dailyDownloadMB only if the provider allows more",
    }, { code: "BUDGET", transient: true });
  }
}

export interface ReadBudget {
  limiter?: RateLimiter;
  daily?: DailyAllowance;
  /** Told how long a read waits for bandwidth (the daemon shows it). */
  onWait?: (ms: number) => void;
  signal?: AbortSignal;
}

async function pace(budget: ReadBudget, bytes: number): Promise<void> {
  budget.daily?.spend(bytes);
  const ms = budget.limiter?.reserve(bytes) ?? 0;
  if (ms <= 0) return;
  budget.onWait?.(ms);
  await new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      budget.signal?.removeEventListener("abort", done);
      resolve();
    }
    budget.signal?.addEventListener("abort", done, { once: true });
  });
  budget.onWait?.(0);
}

/** The reader with its body reads paced and counted (listing, EXAMINE and sizes are free). */
export function budgetedReader(reader: FolderReader, budget: ReadBudget): FolderReader {
  if (!budget.limiter && !budget.daily) return reader;
  return {
    status: (path) => reader.status(path),
    examine: (path) => reader.examine(path),
    search: (range) => reader.search(range),
    lastUid: () => reader.lastUid(),
    metadata: (range, want) => reader.metadata(range, want),
    bodies: async (range, limits) => {
      await pace(budget, limits?.expectedBytes ?? 0);
      return reader.bodies(range, limits);
    },
    streamBody: async (uid, sink, limits) => {
      await pace(budget, limits?.expectedBytes ?? 0);
      return reader.streamBody(uid, sink, limits);
    },
    close: () => reader.close(),
  };
}
