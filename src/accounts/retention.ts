// When captured or imported passwords (the vault) are still needed, as one rule for every
// door that can end the need: a domain switched off (disable, set, the console, the control
// socket) or removed, and an account migrated for good. Pure.
import { usesUserPasswords, type DomainSettings } from "../config/schema.ts";

/** Whether a user's password in the vault may still be needed by a later pass. */
export function passwordStillNeeded(domain: DomainSettings | undefined, account: { lastStatus?: string; nextCatchUp?: number }): boolean {
  if (!domain || !domain.migration.enabled) return false; // removed or switched off: no later pass
  if (!usesUserPasswords(domain.migration.old.auth)) return false; // master or oauth2 needs none (and none is stored)
  if (domain.migration.continuous) return true; // every later login runs a pass
  if (account.lastStatus !== "done") return true; // not complete yet
  return account.nextCatchUp !== undefined; // a catch-up pass is still to come
}

/** Whether a change of a domain's settings ends the need for its users' passwords. */
export function domainChangeWipes(before: DomainSettings | undefined, after: DomainSettings | undefined): boolean {
  return Boolean(before?.migration.enabled) && !after?.migration.enabled;
}
