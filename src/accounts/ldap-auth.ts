// "Account creation based on LDAP authentication": a first login is checked against the
// domain's directory — search for the user's entry (as ldap.bindDn, or anonymously), then
// bind as that entry with the password the user typed. Wrong password or no entry: an auth
// failure. The directory unreachable, TLS refused, or our own search bind refused: a
// temporary failure (the user is not at fault; Dovecot answers "try again later").
import { tlsServername } from "../tls-name.ts";
import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { Client, Filter, InvalidCredentialsError } from "ldapts";
import { splitUser } from "../address.ts";
import type { LdapSettings } from "../config/schema.ts";
import { CONNECTION_ERROR_CODES, errorText, tlsErrorCode } from "../errors.ts";

export type LdapCheck = { outcome: "accept"; dn: string } | { outcome: "reject"; reason: string } | { outcome: "tempfail"; reason: string };

/** The search filter for a user: placeholders replaced with RFC 4515-escaped values. Pure. */
export function userFilter(template: string, user: string): string {
  const { local, domain } = splitUser(user);
  const values: Record<string, string> = { user, localpart: local, domain };
  return template.replace(/\{(user|localpart|domain)\}/g, (_m, k: string) => Filter.escape(values[k]!));
}

function tlsOptions(s: LdapSettings): ConnectionOptions {
  const host = new URL(s.url!).hostname.replace(/^\[|\]$/g, "");
  return {
    rejectUnauthorized: s.tlsVerify,
    ca: s.caFile ? readFileSync(s.caFile) : undefined,
    servername: tlsServername(host),
  };
}

/** Why an LDAP operation failed, said so that the admin knows where to look. */
function ldapProblem(s: LdapSettings, e: unknown): string {
  const text = errorText(e);
  const tls = tlsErrorCode(e);
  if (tls) return `LDAP server ${s.url}: TLS certificate not trusted (${tls}); set ldap.caFile to the CA's PEM file (or, for a test server only, ldap.tlsVerify=false)`;
  const code = (e as NodeJS.ErrnoException).code ?? "";
  if (CONNECTION_ERROR_CODES.has(code) || code === "ENOTFOUND") return `LDAP server ${s.url} unreachable: ${text}`;
  return `LDAP server ${s.url}: ${text}`;
}

async function open(s: LdapSettings): Promise<Client> {
  const timeout = s.timeoutSec * 1000;
  // ldapts speaks TLS from the start whenever tlsOptions are given: only for ldaps://
  const ldaps = s.url!.toLowerCase().startsWith("ldaps:");
  const client = new Client({ url: s.url!, timeout, connectTimeout: timeout, tlsOptions: ldaps ? tlsOptions(s) : undefined, strictDN: false });
  if (s.startTls) await client.startTLS(tlsOptions(s));
  return client;
}

export async function ldapCheck(s: LdapSettings, user: string, password: string): Promise<LdapCheck> {
  // An LDAP bind with an empty password is an "unauthenticated" bind that many servers accept.
  if (!password) return { outcome: "reject", reason: "empty password" };
  let searcher: Client | undefined;
  let dn: string;
  try {
    searcher = await open(s);
    if (s.bindDn) {
      let pw: string;
      try {
        pw = readFileSync(s.bindPasswordFile!, "utf8").replace(/\r?\n$/, "");
      } catch (e) {
        return { outcome: "tempfail", reason: `cannot read ldap.bindPasswordFile ${s.bindPasswordFile}: ${(e as NodeJS.ErrnoException).code ?? errorText(e)}` };
      }
      try {
        await searcher.bind(s.bindDn, pw);
      } catch (e) {
        if (e instanceof InvalidCredentialsError) return { outcome: "tempfail", reason: `LDAP server ${s.url} refused the search account ${s.bindDn} (check ldap.bindPasswordFile)` };
        throw e;
      }
    }
    const { searchEntries } = await searcher.search(s.baseDn!, { scope: "sub", filter: userFilter(s.filter, user), attributes: ["1.1"], sizeLimit: 2 });
    if (searchEntries.length === 0) return { outcome: "reject", reason: `no LDAP entry for ${user} under ${s.baseDn}` };
    if (searchEntries.length > 1) return { outcome: "reject", reason: `ldap.filter matches several entries for ${user} under ${s.baseDn}: make it match one` };
    dn = searchEntries[0]!.dn;
  } catch (e) {
    if ((e as Error).name === "SizeLimitExceededError") return { outcome: "reject", reason: `ldap.filter matches several entries for ${user} under ${s.baseDn}: make it match one` };
    if ((e as Error).name === "NoSuchObjectError") return { outcome: "tempfail", reason: `LDAP server ${s.url}: ldap.baseDn "${s.baseDn}" does not exist or ${s.bindDn ? `${s.bindDn}` : "an anonymous search"} may not read it (ldap.bindDn)` };
    return { outcome: "tempfail", reason: ldapProblem(s, e) };
  } finally {
    await searcher?.unbind().catch(() => {});
  }
  // The user's bind on a connection of its own: nothing of the search account carries over.
  let binder: Client | undefined;
  try {
    binder = await open(s);
    await binder.bind(dn, password);
    return { outcome: "accept", dn };
  } catch (e) {
    if (e instanceof InvalidCredentialsError) return { outcome: "reject", reason: `wrong password for ${dn}` };
    return { outcome: "tempfail", reason: ldapProblem(s, e) };
  } finally {
    await binder?.unbind().catch(() => {});
  }
}
