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
    const rows = await sql`insert into automigrate_local_accounts (username, by_node) select unnest(${slice}::text[]), ${nodeName} on conflict (username) do nothing returning username`;
    added += rows.length;
  }
  return added;
}

/** The route Postfix's pgsql: map gets for `address` (null: not found). */
export async function routeOf(sql: SQL, address: string): Promise<string | null> {
  const [row] = await sql`select automigrate_route(${address}) as route`;
  return (row?.route as string | null) ?? null;
}
