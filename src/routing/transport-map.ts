// Coexistence mail routing, as a Postfix transport table (transport(5)). While a domain
// migrates, mail for an account that exists on the new server is delivered locally and mail
// for everyone else still goes to the old server's SMTP host (migration.old.smtpHost, else
// its IMAP host, as everywhere). Pure: who exists is asked through `isLocal`, so the
// socketmap server, `routing export` and `routing lookup` give the same answers.
import { oldSmtpHost } from "../config/rules.ts";
import type { Config } from "../config/schema.ts";

export type RouteAnswer =
  | { kind: "found"; transport: string; why: string }
  | { kind: "notfound"; why: string }
  /** Postfix defers the mail (nothing bounces) and logs the reason. */
  | { kind: "temp"; why: string };

/** `smtp:[host]:port`: brackets so Postfix does not look up MX records for the old host. */
export function oldServerTransport(host: string, port: number): string {
  return `smtp:[${host.replace(/^\[|\]$/g, "")}]:${port}`;
}

/** "alice+news" → "alice" for the delimiter characters of Postfix's recipient_delimiter. */
export function withoutExtension(localpart: string, delimiters: string): string {
  for (let i = 1; i < localpart.length; i++) if (delimiters.includes(localpart[i]!)) return localpart.slice(0, i);
  return localpart;
}

/**
 * The answer for one lookup key. Postfix asks a socketmap for the full recipient address
 * only (no partial keys), so the extension is stripped here.
 */
export function routeAddress(config: Config, key: string, isLocal: (user: string) => boolean): RouteAnswer {
  const k = key.trim().toLowerCase();
  const at = k.lastIndexOf("@");
  if (at <= 0 || at === k.length - 1) return { kind: "notfound", why: "not a user address" };
  const domainName = k.slice(at + 1);
  const d = config.domains[domainName];
  if (!d) return { kind: "notfound", why: `${domainName} is not a domain automigrate knows` };
  const user = `${withoutExtension(k.slice(0, at), config.routing.recipientDelimiter)}@${domainName}`;
  if (isLocal(user)) {
    const local = config.routing.localTransport;
    if (!local) return { kind: "temp", why: `${user} exists on the new server but routing.localTransport is not set (e.g. automigrate config set routing.localTransport=lmtp:unix:private/dovecot-lmtp)` };
    return { kind: "found", transport: local, why: `${user} exists on the new server` };
  }
  if (!d.migration.enabled) return { kind: "notfound", why: `automatic migration is off for ${domainName}: Postfix's own routing applies` };
  const smtp = oldSmtpHost(d);
  if (!smtp) return { kind: "notfound", why: `${domainName} has no old SMTP host (domain set ${domainName} migration.old.smtpHost=...)` };
  return { kind: "found", transport: oldServerTransport(smtp, d.migration.old.smtpPort), why: `${user} is not on the new server yet: the old server keeps receiving its mail` };
}

export interface TableProblem {
  domain: string;
  problem: string;
}

/**
 * The same routing as a file for `postmap`/`texthash:`: one line per account that exists on
 * the new server and one per migrating domain (transport(5) falls back from user@domain to
 * domain, and strips the extension itself for indexed tables).
 */
export function transportTable(config: Config, localUsers: Iterable<string>): { lines: string[]; problems: TableProblem[] } {
  const problems: TableProblem[] = [];
  const users: string[] = [];
  const domains: string[] = [];
  const local = config.routing.localTransport;
  let leftOut = 0;
  for (const u of [...new Set([...localUsers].map((x) => x.toLowerCase()))].sort()) {
    if (!config.domains[u.slice(u.lastIndexOf("@") + 1)]) continue;
    if (local) users.push(`${u} ${local}`);
    else leftOut++;
  }
  if (leftOut) problems.push({ domain: "*", problem: `routing.localTransport is not set: ${leftOut} account(s) on the new server left out (automigrate config set routing.localTransport=lmtp:unix:private/dovecot-lmtp)` });
  for (const name of Object.keys(config.domains).sort()) {
    const d = config.domains[name]!;
    if (!d.migration.enabled) continue;
    const smtp = oldSmtpHost(d);
    if (!smtp) {
      problems.push({ domain: name, problem: `no old SMTP host (migration.old.smtpHost or .host): its users not yet migrated are not routed` });
      continue;
    }
    domains.push(`${name} ${oldServerTransport(smtp, d.migration.old.smtpPort)}`);
  }
  return { lines: [...users, ...domains], problems };
}
