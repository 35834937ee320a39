// Cross-field rules of the settings that a schema alone cannot say. Pure functions, used by
// the CLI, the TUI and the loader alike, so every door refuses the same things the same way.
import { splitUser } from "../address.ts";
import type { Config, DomainSettings } from "./schema.ts";

export const ENABLE_REFUSED = "Domain migration couldn't be enabled!";
export const LDAP_SYNC_REFUSED = "LDAP synchronisation couldn't be enabled!";
export const DEFAULT_CLASS = "domain-default";

export function classNames(d: DomainSettings): string[] {
  return [DEFAULT_CLASS, ...Object.keys(d.classes).sort()];
}

/** A class of the domain by name ("domain-default" is accountDefaults). */
export function classOf(d: DomainSettings, name: string): DomainSettings["accountDefaults"] | undefined {
  return name === DEFAULT_CLASS ? d.accountDefaults : d.classes[name];
}

/** The old server's SMTP host: migration.old.smtpHost, else the IMAP host. */
export function oldSmtpHost(d: DomainSettings): string | undefined {
  return d.migration.old.smtpHost ?? d.migration.old.host;
}

/** Why migration cannot be enabled for this domain; empty when it can. */
export function enableBlockers(name: string, d: DomainSettings): string[] {
  const out: string[] = [];
  if (d.ldap.sync) out.push(`LDAP synchronisation is on for ${name}: its accounts are managed by LDAP sync (turn it off first: automigrate domain set ${name} ldap.sync=false)`);
  if (!d.migration.old.host) out.push(`no old server is set (automigrate domain set ${name} migration.old.host=<host>)`);
  if (!d.migration.old.auth) out.push(`no credentials for the old server (migration.old.auth.mode=master with .user and .passwordFile, or oauth2 with its provider)`);
  return out;
}

/** A problem of a domain's settings: what it is (decisions use this), and what it says. */
export interface DomainProblem {
  code: "MIGRATION_AND_LDAP_SYNC" | "UNKNOWN_CLASS" | "RESERVED_CLASS_NAME";
  text: string;
}

/** Problems in a domain's settings as they stand (hand-edited files included). */
export function domainProblemList(name: string, d: DomainSettings): DomainProblem[] {
  const out: DomainProblem[] = [];
  if (d.migration.enabled && d.ldap.sync) out.push({ code: "MIGRATION_AND_LDAP_SYNC", text: `${ENABLE_REFUSED} ${name} has both migration and LDAP synchronisation on; it is not migrated until one is turned off` });
  const cls = d.migration.accountClass;
  if (cls !== DEFAULT_CLASS && !Object.hasOwn(d.classes, cls)) out.push({ code: "UNKNOWN_CLASS", text: `migration.accountClass: no class "${cls}" in ${name} (classes: ${classNames(d).join(", ")})` });
  if (Object.hasOwn(d.classes, DEFAULT_CLASS)) out.push({ code: "RESERVED_CLASS_NAME", text: `classes.${DEFAULT_CLASS}: that name is the domain default class (accountDefaults); use another name` });
  return out;
}

/** The problems' texts (what the CLI and the console show). */
export function domainProblems(name: string, d: DomainSettings): string[] {
  return domainProblemList(name, d).map((p) => p.text);
}

/**
 * Whether a change from `before` to `after` may be saved. Returns the refusal (headline and
 * reasons) or undefined. Turning migration on needs a migratable domain; turning LDAP sync on
 * while migration is enabled is refused the same way.
 */
export interface Refusal {
  /** ENABLE_REFUSED and LDAP_SYNC_REFUSED are the product's rules (a conflict); INPUT a setting to fix. */
  code: "ENABLE_REFUSED" | "LDAP_SYNC_REFUSED" | "INPUT";
  headline: string;
  reasons: string[];
}

export function refuseChange(name: string, before: DomainSettings | undefined, after: DomainSettings): Refusal | undefined {
  const enabling = after.migration.enabled && !before?.migration.enabled;
  if (enabling) {
    const reasons = enableBlockers(name, after);
    if (reasons.length) return { code: "ENABLE_REFUSED", headline: ENABLE_REFUSED, reasons };
  }
  if (after.ldap.sync && !before?.ldap.sync && after.migration.enabled) {
    return { code: "LDAP_SYNC_REFUSED", headline: LDAP_SYNC_REFUSED, reasons: [`automatic migration is enabled for ${name} (disable it first: automigrate domain disable ${name})`] };
  }
  const problems = domainProblemList(name, after).filter((p) => p.code !== "MIGRATION_AND_LDAP_SYNC");
  if (problems.length) return { code: "INPUT", headline: `The settings of ${name} were not saved`, reasons: problems.map((p) => p.text) };
  return undefined;
}

/**
 * Why an enabled domain migrates nobody at login although nothing refuses it (pure): a
 * problem of its settings, a class of new accounts without automatic migration, no old
 * server or no credentials for it. Shown beside "Migration Enabled" (console, domain list).
 */
export function whyNobodyMigrates(name: string, d: DomainSettings): string | undefined {
  if (!d.migration.enabled) return undefined;
  const problem = domainProblems(name, d)[0];
  if (problem) return problem;
  const cls = d.migration.accountClass;
  if (!classOf(d, cls)?.autoMigration) return `class "${cls}" (new accounts) has automatic migration off: logins are not migrated (automigrate class set ${name} ${cls} autoMigration=true)`;
  if (!d.migration.old.host) return "no old server: set migration.old.host";
  if (!d.migration.old.auth) return "no credentials for the old server: set migration.old.auth.mode";
  return undefined;
}

/** Domains the daemon may migrate: enabled and without problems. */
export function migratableDomains(config: Config): string[] {
  return Object.entries(config.domains)
    .filter(([name, d]) => d.migration.enabled && domainProblems(name, d).length === 0)
    .map(([name]) => name)
    .sort();
}

/** Whether a user's account may be migrated (and created) automatically, with which class; else why not. */
export function migratableUser(config: Config, user: string): { ok: true; domain: string; className: string; quota?: string } | { ok: false; reason: string } {
  let domain: string;
  try {
    domain = splitUser(user).domain;
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : "not a user@domain address" };
  }
  const d = config.domains[domain];
  if (!d) return { ok: false, reason: `domain ${domain} is not configured` };
  // a login holding a configured master separator would log in as someone else there
  const separators = [config.target.auth, d.migration.old.auth].flatMap((a) => (a?.mode === "master" && a.method === "separator" ? [a.separator] : []));
  const sep = separators.find((x) => user.includes(x));
  if (sep) return { ok: false, reason: `${user} holds "${sep}", the master-user separator of a server: a login with it is someone else's` };
  if (!d.migration.enabled) return { ok: false, reason: `migration is disabled for ${domain}` };
  const problems = domainProblems(domain, d);
  if (problems.length) return { ok: false, reason: problems[0]! };
  const className = d.migration.accountClass;
  const klass = classOf(d, className);
  if (!klass?.autoMigration) return { ok: false, reason: `class "${className}" of ${domain} has automatic migration off` };
  return { ok: true, domain, className, quota: klass.quota };
}

/**
 * Whether a first login may create the user's account, how it is checked, and whether its
 * mail is then migrated. A domain with ldap.authCreate creates accounts from LDAP (migrating
 * them too when its migration is on); otherwise the user must be migratable and the
 * password is checked on the old server.
 */
export function creatableUser(
  config: Config,
  user: string,
): { ok: true; domain: string; className: string; quota?: string; check: "ldap" | "old-server"; migrate: boolean } | { ok: false; reason: string } {
  const m = migratableUser(config, user);
  if (m.ok) return { ...m, check: config.domains[m.domain]!.ldap.authCreate ? "ldap" : "old-server", migrate: true };
  let domain: string;
  try {
    domain = splitUser(user).domain;
  } catch {
    return m;
  }
  const d = config.domains[domain];
  if (!d?.ldap.authCreate) return m;
  const problem = domainProblemList(domain, d).find((p) => p.code !== "MIGRATION_AND_LDAP_SYNC");
  if (problem) return { ok: false, reason: problem.text };
  const className = d.migration.accountClass;
  return { ok: true, domain, className, quota: classOf(d, className)?.quota, check: "ldap", migrate: false };
}
