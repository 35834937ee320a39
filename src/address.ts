// User addresses: one validator for every door (log, CSV, CLI, control socket,
// checkpassword, LDAP). RFC 5321 lengths (local part 64, domain 255, path 254), a dot-atom
// local part (no leading, trailing or double dot: no "../"), no control characters, spaces,
// quotes or angle brackets; UTF-8 letters are allowed (RFC 6531), an undecodable byte is not.
// A user must also be someone a mail server can log in: no "/" (a path in Dovecot's
// mail_location), no "%" (a variable there), no "*" (the master-user separator). One spelling
// per user: canonicalUser (Unicode NFC, lower case) is what every door keys on.
import { inputError } from "./errors.ts";

const LOCAL_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u00a0-\ufffc\u{10000}-\u{10ffff}]+$/u;
const DOMAIN_LABEL = /^(?!-)[A-Za-z0-9\-\u00a0-\ufffc]{1,63}(?<!-)$/u;

/** Why `user` is not a usable address, or undefined when it is one. */
export function addressProblem(user: string): string | undefined {
  if (typeof user !== "string") return "is not a string";
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffd]/u.test(user)) return "holds a control character or an undecodable byte";
  const unsafe = /[/%*]/.exec(user);
  if (unsafe) return `holds "${unsafe[0]}", which a mail server's login cannot carry (a path, a variable or the master-user separator)`;
  const at = user.lastIndexOf("@");
  if (at <= 0 || at === user.length - 1) return "is not user@domain";
  const local = user.slice(0, at);
  const domain = user.slice(at + 1);
  if (user.length > 254) return `is ${user.length} characters long (at most 254)`;
  if (local.length > 64) return `has a local part of ${local.length} characters (at most 64)`;
  if (local.split(".").some((atom) => !LOCAL_ATOM.test(atom))) return "has a local part that is not a dot-atom (no spaces, quotes, @, <, >, leading, trailing or double dots)";
  if (domain.length > 253 || domain.split(".").some((l) => !DOMAIN_LABEL.test(l))) return "has a domain that is not a host name";
  return undefined;
}

/** A short, printable form of a rejected name for messages and logs (never raw bytes). */
export function shownName(user: string): string {
  const s = JSON.stringify(String(user));
  return s.length > 80 ? `${s.slice(0, 77)}..."` : s;
}

/** The one spelling of a user: Unicode NFC ("émile" typed either way is one user), lower case. */
export function canonicalUser(user: string): string {
  return user.normalize("NFC").toLowerCase();
}

export function splitUser(user: string): { local: string; domain: string } {
  const problem = addressProblem(user);
  if (problem) throw inputError(`${shownName(user)} is not a valid user address: it ${problem}`);
  const at = user.lastIndexOf("@");
  return { local: user.slice(0, at), domain: user.slice(at + 1).toLowerCase() };
}

/** The login name for an address on a server: its `login` template filled in ({user}, {localpart}, {domain}). */
export function loginName(template: string, user: string): string {
  const at = user.lastIndexOf("@");
  const localpart = at < 0 ? user : user.slice(0, at);
  const domain = at < 0 ? "" : user.slice(at + 1);
  return template.replaceAll("{user}", user).replaceAll("{localpart}", localpart).replaceAll("{domain}", domain);
}
