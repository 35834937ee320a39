// Premium seats: an account is premium while seats remain (and the domain creates premium
// accounts according to the licence), basic otherwise. The ledger (state/license.json)
// is changed under a lock, so concurrent first logins never take more seats than there are.
import { join } from "node:path";
import { z } from "zod";
import { homePaths } from "../home.ts";
import { readJsonFile, writeJsonFileAtomic } from "../store/json-file.ts";
import { acquireLock } from "../store/lock-file.ts";
import { AutomigrateError } from "../errors.ts";
import { TIMEOUTS } from "../timeouts.ts";

export type Tier = "premium" | "basic";

export function chooseTier(premiumByLicense: boolean, seats: number, used: number): Tier {
  return premiumByLicense && used < seats ? "premium" : "basic";
}

const ledgerSchema = z.object({ version: z.literal(1).default(1), premium: z.array(z.string()).default([]) });

export function ledgerPath(home: string): string {
  return join(homePaths(home).state, "license.json");
}

export function readLedger(home: string): z.infer<typeof ledgerSchema> {
  const path = ledgerPath(home);
  const r = ledgerSchema.safeParse(readJsonFile(path) ?? {});
  if (!r.success) throw new AutomigrateError(`${path} is invalid`, { file: path }, { code: "CORRUPT" });
  return r.data;
}

export function seatUsage(home: string, seats: number): { seats: number; used: number; available: number } {
  const used = readLedger(home).premium.length;
  return { seats, used, available: Math.max(0, seats - used) };
}

/** Decides and records the tier of a new account atomically. */
export function assignTier(home: string, user: string, premiumByLicense: boolean, seats: number): Tier {
  const release = acquireLock(`${ledgerPath(home)}.lock`, { waitMs: TIMEOUTS.lockWaitMs, what: "the licence ledger" });
  try {
    const ledger = readLedger(home);
    if (ledger.premium.includes(user)) return "premium";
    const tier = chooseTier(premiumByLicense, seats, ledger.premium.length);
    if (tier === "premium") {
      ledger.premium.push(user);
      writeJsonFileAtomic(ledgerPath(home), ledger);
    }
    return tier;
  } finally {
    release();
  }
}

/** Gives a seat back (the account it was taken for could not be created). */
export function releaseSeat(home: string, user: string): void {
  const release = acquireLock(`${ledgerPath(home)}.lock`, { waitMs: TIMEOUTS.lockWaitMs, what: "the licence ledger" });
  try {
    const ledger = readLedger(home);
    const i = ledger.premium.indexOf(user);
    if (i >= 0) {
      ledger.premium.splice(i, 1);
      writeJsonFileAtomic(ledgerPath(home), ledger);
    }
  } finally {
    release();
  }
}
