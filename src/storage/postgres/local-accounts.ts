// The routing data in the cluster's database: the accounts that exist on the new server (a
// user once local stays local), published by the nodes that learn of them, read by Postfix's
// pgsql: map through automigrate_route() (src/storage/postgres/schema.ts).
import type { SQL } from "bun";
import { canonicalUser } from "../../address.ts";

/** Records `users` as accounts on the new server (already known ones are left as they are); returns how many were new. */
export async function publishLocalAccounts(sql: SQL, users: Iterable<string>, nodeName: string): Promise<number> {
  const names = [...new Set([...users].map(canonicalUser))];
  let added = 0;
  // in slices: one statement per few thousand accounts, not one per account
  for (let i = 0; i < names.length; i += 5000) {
    const slice = names.slice(i, i + 5000);
    // each new one announced: the daemons' socketmaps route it locally at once
    const rows = await sql`with added as (insert into automigrate_local_accounts (username, by_node) select unnest(${slice}::text[]), ${nodeName} on conflict (username) do nothing returning username)
      select username, pg_notify(${ROUTES_CHANNEL}, username) from added`;
    added += rows.length;
  }
  return added;
}

export const ROUTES_CHANNEL = "automigrate_routes";

/** Every account the database knows to be on the new server. */
export async function localAccountsIn(sql: SQL): Promise<string[]> {
  return (await sql`select username from automigrate_local_accounts`).map((r: { username: string }) => r.username);
}

/**
 * Keeps `into` equal to the database's local accounts: filled now, each new one added as it is
 * announced, and filled again after the connection comes back (an announcement may have been missed).
 */
export async function mirrorLocalAccounts(sql: SQL, into: Set<string>): Promise<() => Promise<void>> {
  const fill = async () => {
    for (const u of await localAccountsIn(sql)) into.add(u);
  };
  await fill();
  let first = true;
  const sub = await sql.listen(
    ROUTES_CHANNEL,
    (user) => into.add(user),
    () => {
      if (!first) void fill().catch(() => {});
      first = false;
    },
  );
  return () => sub.unlisten();
}

/** The route Postfix's pgsql: map gets for `address` (null: not found). */
export async function routeOf(sql: SQL, address: string): Promise<string | null> {
  const [row] = await sql`select automigrate_route(${address}) as route`;
  return (row?.route as string | null) ?? null;
}
