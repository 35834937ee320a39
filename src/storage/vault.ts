// The storage port for captured and imported passwords: this home's vault/ files, or in
// cluster mode rows of the database. Either way each record is sealed with AES-256-GCM under
// the key file in the home's vault/ (never in the database): every node holds a copy of the
// same key. The database keeps one record sealed with the cluster's key; a node whose key
// cannot open it is refused at its first use of the vault, by name, with the fix.
import { Vault, type VaultRecord } from "../accounts/vault.ts";
import { loadLocalConfig, usesDatabase } from "../config/store.ts";
import { AutomigrateError } from "../errors.ts";
import type { SecretSource } from "../mailstore/endpoints.ts";
import { databaseOf, type Database } from "./open.ts";
import { databaseError } from "./postgres/connect.ts";

export interface VaultStore {
  put(user: string, secret: string): Promise<void>;
  get(user: string): Promise<string | undefined>;
  remove(user: string): Promise<boolean>;
  /** How many of a domain's users have a record (what disabling it would wipe). */
  countDomain(domain: string): Promise<number>;
  /** Wipes every record of a domain (when its migration is disabled). */
  removeDomain(domain: string): Promise<number>;
  /** The passwords of `users`, read now, as the source a login is resolved with (a read that failed fails the login that asks for it). */
  sourceFor(...users: string[]): Promise<SecretSource>;
}

/** The user the key check record is sealed for (no address can be it: no "@"). */
const CHECK_USER = "automigrate vault key check";
const CHECK_TEXT = "the cluster's vault key";

/** The vault of a home, where its storage setting keeps it (the setting is read at the first use). */
export function vaultOf(home: string): VaultStore {
  let chosen: VaultStore | undefined;
  const driver = (): VaultStore => (chosen ??= chooseVault(home));
  return {
    put: (u, s) => driver().put(u, s),
    get: (u) => driver().get(u),
    remove: (u) => driver().remove(u),
    countDomain: (d) => driver().countDomain(d),
    removeDomain: (d) => driver().removeDomain(d),
    sourceFor: (...users) => driver().sourceFor(...users),
  };
}

function chooseVault(home: string): VaultStore {
  const files = new Vault(home);
  const local = loadLocalConfig(home);
  if (!usesDatabase(local)) {
    return {
      put: async (u, s) => files.put(u, s),
      get: async (u) => files.get(u),
      remove: async (u) => files.remove(u),
      countDomain: async (d) => files.countDomain(d),
      removeDomain: async (d) => files.removeDomain(d),
      sourceFor: async () => files,
    };
  }
  let checked: Promise<Database> | undefined;
  /** The database, once this node's key is known to be the cluster's (the first node's key becomes it). */
  const db = (): Promise<Database> =>
    (checked ??= (async () => {
      const d = await databaseOf(home, local);
      try {
        await d.sql`insert into automigrate_vault_key (id, record) values (1, ${files.seal(CHECK_USER, CHECK_TEXT)}) on conflict (id) do nothing`;
        const [row] = await d.sql`select record from automigrate_vault_key where id = 1`;
        if (files.unseal(CHECK_USER, row.record as VaultRecord) !== CHECK_TEXT) {
          throw new AutomigrateError(`this node's vault key (${files.keyPath}) is not the key the cluster's vault in ${d.where} was sealed with`, { file: files.keyPath, hint: `copy the key file from a node whose \`automigrate storage check\` says "vault key: right" to ${files.keyPath} (mode 0600, the daemon's user)` }, { code: "CONFIG" });
        }
      } catch (e) {
        throw databaseError(e, d.where);
      }
      return d;
    })()).catch((e) => {
      checked = undefined;
      throw e;
    });
  const run = async <T>(work: (d: Database) => Promise<T>): Promise<T> => {
    const d = await db();
    try {
      return await work(d);
    } catch (e) {
      throw databaseError(e, d.where);
    }
  };
  const get = (user: string) =>
    run(async (d) => {
      const u = user.toLowerCase();
      const [row] = await d.sql`select record from automigrate_vault where username = ${u}`;
      if (!row) return undefined;
      const secret = files.unseal(u, row.record as VaultRecord);
      if (secret === undefined) throw new AutomigrateError(`the vault record for ${u} cannot be decrypted (tampered, or sealed for another user)`, { user: u, server: d.where, hint: "the user's next login captures the password again" }, { code: "NO_PASSWORD" });
      return secret;
    });
  return {
    put: (user, secret) =>
      run(async (d) => {
        const u = user.toLowerCase();
        await d.sql`insert into automigrate_vault (username, record) values (${u}, ${files.seal(u, secret)}) on conflict (username) do update set record = excluded.record, updated_at = now()`;
      }),
    get,
    remove: (user) => run(async (d) => (await d.sql`delete from automigrate_vault where username = ${user.toLowerCase()} returning username`).length > 0),
    countDomain: (domain) => run(async (d) => Number((await d.sql`select count(*)::int as n from automigrate_vault where right(username, ${domain.length + 1}) = ${"@" + domain}`)[0].n)),
    removeDomain: (domain) => run(async (d) => (await d.sql`delete from automigrate_vault where right(username, ${domain.length + 1}) = ${"@" + domain} returning username`).length),
    sourceFor: async (...users) => {
      // read now (a login resolves its password synchronously); a failure (the database, this
      // node's key) is raised only if a login asks for the password: a master-user login never does
      const known = new Map<string, string | undefined>();
      let failure: unknown;
      for (const u of users) {
        try {
          known.set(u.toLowerCase(), await get(u));
        } catch (e) {
          failure ??= e;
        }
      }
      return {
        password: (user) => {
          if (failure !== undefined) throw failure;
          return known.get(user.toLowerCase());
        },
      };
    },
  };
}

/** Whether this node's key opens the cluster's vault ("right"), or none was sealed yet ("unset"), or not ("wrong"). */
export async function vaultKeyState(home: string, d: Database): Promise<"right" | "wrong" | "unset"> {
  const [row] = await d.sql`select record from automigrate_vault_key where id = 1`;
  if (!row) return "unset";
  return new Vault(home).unseal(CHECK_USER, row.record as VaultRecord) === CHECK_TEXT ? "right" : "wrong";
}
