// The storage port for the licence's premium seats and for account creation's per-user lock:
// this host's files (state/license.json and lock files) or the cluster's database.
import { join } from "node:path";
import { assignTier, releaseSeat, seatUsage, type Tier } from "../accounts/license.ts";
import { loadLocalConfig, usesDatabase } from "../config/store.ts";
import { homePaths } from "../home.ts";
import { accountFileName } from "../store/account-state.ts";
import { acquireLock } from "../store/lock-file.ts";
import { withDatabase } from "./open.ts";
import { dbAssignTier, dbCreationLock, dbReleaseSeat, dbSeatUsage } from "./postgres/seats.ts";

export interface SeatLedger {
  usage(seats: number): Promise<{ seats: number; used: number; available: number }>;
  /** Decides and records the tier of a new account atomically (never more premium accounts than seats). */
  assign(user: string, premiumByLicense: boolean, seats: number): Promise<Tier>;
  /** Gives a seat back (the account it was taken for could not be created). */
  release(user: string): Promise<void>;
  /** One creation of a user's account at a time (a second waits up to waitMs, then finds it done); resolves to the release. */
  lockCreation(user: string, waitMs: number): Promise<() => Promise<void>>;
}

export function seatLedgerOf(home: string): SeatLedger {
  const local = loadLocalConfig(home);
  if (!usesDatabase(local)) {
    return {
      usage: async (seats) => seatUsage(home, seats),
      assign: async (user, byLicense, seats) => assignTier(home, user, byLicense, seats),
      release: async (user) => releaseSeat(home, user),
      lockCreation: async (user, waitMs) => {
        const release = acquireLock(join(homePaths(home).accounts, accountFileName(user).replace(/\.json$/, ".create.lock")), { waitMs, what: `creating ${user}` });
        return async () => release();
      },
    };
  }
  const withDb = <T>(work: (sql: import("bun").SQL) => Promise<T>): Promise<T> => withDatabase(home, local, (db) => work(db.sql));
  return {
    usage: (seats) => withDb((sql) => dbSeatUsage(sql, seats)),
    assign: (user, byLicense, seats) => withDb((sql) => dbAssignTier(sql, user, byLicense, seats)),
    release: (user) => withDb((sql) => dbReleaseSeat(sql, user)),
    lockCreation: (user, waitMs) => withDb((sql) => dbCreationLock(sql, user, waitMs)),
  };
}
