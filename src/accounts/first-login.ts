// A user who does not exist on the new server logs in there: the password is checked on the
// old IMAP server (their OLD password) or, with ldap.authCreate, in the domain's LDAP
// directory; then the account is created (class; premium within the licence), the password
// kept in the vault when the domain's credentials are "captured", and the Login line Dovecot
// writes next makes the daemon migrate the mail (when the domain migrates). Used by the
// checkpassword helper and by import-users.
import { canonicalUser } from "../address.ts";
import { creatableUser } from "../config/rules.ts";
import { usesUserPasswords, type Config } from "../config/schema.ts";
import { AutomigrateError, classify, errorText } from "../errors.ts";
import { loginName, oldEndpoint } from "../mailstore/endpoints.ts";
import { openStore } from "../mailstore/imap/store.ts";
import { accountStatesOf } from "../storage/account-states.ts";
import { routeLocalFor } from "../storage/local-routes.ts";
import { daemonPost, refusedBy } from "../control-client.ts";
import { ldapCheck } from "./ldap-auth.ts";
import type { Tier } from "./license.ts";
import { seatLedgerOf } from "../storage/seats.ts";
import { provisionerFor } from "./provision.ts";
import { vaultOf } from "../storage/vault.ts";
import type { FirstLoginGuard } from "./first-login-guard.ts";
import { TIMEOUTS } from "../timeouts.ts";

export type FirstLogin =
  | { outcome: "accept"; tier: Tier; className: string }
  /** Wrong password, unknown domain, class without automatic migration...: an auth failure. */
  | { outcome: "reject"; reason: string }
  /** Old server unreachable and the like: try again later. */
  | { outcome: "tempfail"; reason: string };

/** Creates the account (provisioner, tier, record) and captures the password if configured. */
export async function createAccount(home: string, config: Config, user: string, password: string | undefined, via: "first-login" | "import"): Promise<{ tier: Tier; className: string; existed?: true }> {
  const m = creatableUser(config, user);
  if (!m.ok) throw new AutomigrateError(m.reason, { user }, { exitCode: 2, code: "INPUT" });
  const d = config.domains[m.domain]!;
  const provisioner = provisionerFor(config);
  // one creation per user at a time; a second concurrent first login waits and finds it done
  const seats = seatLedgerOf(home);
  const release = await seats.lockCreation(canonicalUser(user), TIMEOUTS.accountCreateLockMs);
  try {
    const state = await accountStatesOf(home).open(user);
    // created before (an earlier import, a first login): nothing changes, its password neither
    if (state.data.account) return { tier: state.data.account.tier, className: state.data.account.className, existed: true };
    if (provisioner.exists(user)) throw new AutomigrateError(`an account ${user} exists already on the new server`, { user, hint: "its own password database decides its logins" }, { code: "ACCOUNT_EXISTS" });
    const tier = await seats.assign(user, d.migration.premiumByLicense, config.license.premiumSeats);
    try {
      await provisioner.create({ user, domain: m.domain, className: m.className, quota: m.quota, tier, password });
    } catch (e) {
      if (tier === "premium") await seats.release(user);
      throw e;
    }
    if (password && usesUserPasswords(d.migration.old.auth)) await vaultOf(home).put(user, password);
    await state.update((s) => {
      s.account = { className: m.className, tier, createdAt: new Date().toISOString(), via };
    });
    state.close();
    // cluster mode: every MX routes the new account's mail to the new server at once
    await (await routeLocalFor(home, config))?.(user);
    return { tier, className: m.className };
  } finally {
    await release();
  }
}

/** Asks a running daemon to migrate the user now; without one, its Login log line will do. */
export async function requestMigration(home: string, user: string): Promise<boolean> {
  const r = await daemonPost(home, "/migrate", { user }, { timeoutMs: 2000 });
  return r !== undefined && !refusedBy(r);
}

/**
 * Dovecot's lookup for a master-user login (the master already authenticated): the user
 * exists if automigrate created the account — this also covers the moment before Dovecot
 * re-reads a passwd-file that was just written.
 */
export async function masterLookup(home: string, config: Config, user: string): Promise<FirstLogin> {
  const u = canonicalUser(user);
  const state = await accountStatesOf(home).open(u);
  if (state.data.account) return { outcome: "accept", tier: state.data.account.tier, className: state.data.account.className };
  if (provisionerFor(config).exists(u)) return { outcome: "accept", tier: "basic", className: "(existing)" };
  return { outcome: "reject", reason: "master-user login for an account automigrate did not create" };
}

/** The password checked by logging in to the old IMAP server as the user. */
async function oldServerCheck(config: Config, domain: string, user: string, password: string, origin: LoginOrigin): Promise<{ outcome: "accept" } | Exclude<FirstLogin, { outcome: "accept" }>> {
  const o = config.domains[domain]!.migration.old;
  try {
    // the client's own address goes to the old server (IMAP ID x-originating-ip/-port): its
    // per-IP penalties then fall on the guesser, not on every first login through this host
    const originating = origin.address ? { ip: origin.address, port: origin.port } : undefined;
    const store = await openStore(oldEndpoint(o), { user: loginName(o.login, user), pass: password }, { timeoutMs: TIMEOUTS.firstLoginCheckMs, originating });
    await store.close();
    return { outcome: "accept" };
  } catch (e) {
    // only the old server refusing the password is "wrong password"; anything else
    // (unreachable, certificate not trusted, a bug) is temporary: the user may retry
    const c = classify(e);
    const transient = c.code !== "LOGIN_REFUSED";
    const reason = e instanceof AutomigrateError ? e.message : errorText(e);
    return transient ? { outcome: "tempfail", reason: `old server: ${reason}` } : { outcome: "reject", reason: `old server: ${reason}` };
  }
}

/** Who asks: the guard that rate-limits old-server checks, and the client's remote address and port. */
export interface LoginOrigin {
  guard?: FirstLoginGuard;
  address?: string;
  port?: number;
}

export async function firstLogin(home: string, config: Config, user: string, password: string, origin: LoginOrigin = {}): Promise<FirstLogin> {
  const u = canonicalUser(user);
  const m = creatableUser(config, u);
  if (!m.ok) return { outcome: "reject", reason: m.reason };
  const provisioner = provisionerFor(config);
  if (provisioner.exists(u)) {
    // Created moments ago and the new server has not re-read its passwd-file yet: check the
    // hash we wrote, as Dovecot would. Never the old server: the account is the new one's.
    const ok = await provisioner.verify(u, password);
    const state = await accountStatesOf(home).open(u);
    if (ok && state.data.account) return { outcome: "accept", tier: state.data.account.tier, className: state.data.account.className };
    return { outcome: "reject", reason: ok === false ? "wrong password for an existing account" : "the account exists on the new server: its own password database decides" };
  }
  const { guard, address = "" } = origin;
  const ask = () => (m.check === "ldap" ? ldapCheck(config.domains[m.domain]!.ldap, u, password) : oldServerCheck(config, m.domain, u, password, origin));
  const checked = guard
    ? await guard.oneAtATime(u, async () => {
        const v = guard.verdict(u, address, password);
        if (!v.ask) return { outcome: v.answer, reason: v.reason };
        const answer = await ask();
        guard.record(u, address, password, answer.outcome, answer.outcome === "accept" ? undefined : answer.reason);
        return answer;
      })
    : await ask();
  if (checked.outcome !== "accept") return checked;
  try {
    // No request to the daemon from here: Dovecot is still waiting for this answer, and a
    // migration starting now would race it. The Login line Dovecot writes right after it
    // accepts is what the daemon migrates on: this very login, not a later one.
    const created = await createAccount(home, config, u, password, "first-login");
    return { outcome: "accept", ...created };
  } catch (e) {
    return { outcome: "tempfail", reason: `account not created: ${e instanceof AutomigrateError ? e.message : errorText(e)}` };
  }
}
