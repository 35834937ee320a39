// The seat ledger and account creation in the cluster's database (storage.driver postgres):
// a premium seat is taken in one transaction that holds the ledger's advisory lock while it
// counts and inserts, so concurrent first logins on every node never take more seats than the
// licence has; creating a user's account holds that user's creation lock across the nodes.
import type { ReservedSQL, SQL } from "bun";
import { AutomigrateError } from "../../errors.ts";
import { chooseTier, type Tier } from "../../accounts/license.ts";
import { LOCKS } from "./schema.ts";

export async function dbSeatUsage(sql: SQL, seats: number): Promise<{ seats: number; used: number; available: number }> {
  const [r] = await sql`select count(*)::int as n from automigrate_seats`;
  const used = Number(r.n);
  return { seats, used, available: Math.max(0, seats - used) };
}

export async function dbAssignTier(sql: SQL, user: string, premiumByLicense: boolean, seats: number): Promise<Tier> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCKS.classid}::int, ${LOCKS.seats}::int)`;
    const [mine] = await tx`select 1 as x from automigrate_seats where username = ${user}`;
    if (mine) return "premium" as Tier;
    const [r] = await tx`select count(*)::int as n from automigrate_seats`;
    const tier = chooseTier(premiumByLicense, seats, Number(r.n));
    if (tier === "premium") await tx`insert into automigrate_seats (username) values (${user})`;
    return tier;
  });
}

export async function dbReleaseSeat(sql: SQL, user: string): Promise<void> {
  await sql`delete from automigrate_seats where username = ${user}`;
}

/** The user's account-creation lock across the nodes, waited for up to `waitMs`; resolves to its release. */
export async function dbCreationLock(sql: SQL, user: string, waitMs: number): Promise<() => Promise<void>> {
  const conn: ReservedSQL = await sql.reserve();
  const key = `automigrate create ${user}`;
  try {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const [r] = await conn`select pg_try_advisory_lock(hashtextextended(${key}, 0)) as got`;
      if (r?.got) break;
      if (Date.now() >= deadline) throw new AutomigrateError(`creating ${user}: another node has been creating it for ${Math.round(waitMs / 1000)} s`, { user, hint: "try again; `automigrate storage check` shows the nodes" }, { code: "LOCKED", transient: true });
      await Bun.sleep(100);
    }
  } catch (e) {
    conn.release();
    throw e;
  }
  return async () => {
    try {
      await conn`select pg_advisory_unlock(hashtextextended(${key}, 0))`;
    } catch {
      // the connection is gone: the lock went with it
    } finally {
      conn.release();
    }
  };
}
