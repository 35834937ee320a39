// Login events from the new server's log: Dovecot's own format, JSON lines, or a custom
// regular expression with a named `user` group. Pure parsing; tailing is the daemon's job.
import { canonicalUser } from "../address.ts";

export interface LoginEvent {
  user: string;
  service: string;
  ip?: string;
  time?: string;
  /** Dovecot's %{auth_user}: who authenticated. Differs from `user` for a master-user login. */
  authUser?: string;
  session?: string;
}

export type LineParser = (line: string) => LoginEvent | undefined;

// Anchored, whole line: an optional timestamp (Dovecot's log_timestamp, or syslog's with
// host and "dovecot[pid]: "), then the login process's own "Login:" line. A failed login's
// attempted name (which an attacker chooses) appears only inside other lines, never here.
const TIMESTAMP = String.raw`(?:\w{3} +\d+ \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[T ][\d:.]+(?:Z|[+-][\d:]+)?)`;
const DOVECOT_LOGIN = new RegExp(
  String.raw`^(?:${TIMESTAMP} )?(?:[A-Za-z0-9.-]+ dovecot(?:\[\d+\])?: )?(?:dovecot: )?(imap|pop3|submission|managesieve)-login: (?:Info: )?Login: user=<([^<>]*)>((?:, [A-Za-z_]+(?:=(?:<[^<>]*>|[^,<>\s]*))?)*)$`,
);

function field(rest: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|[ ,])${name}=(?:<([^>]*)>|([^,\\s]*))`).exec(rest);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** `imap-login: Info: Login: user=<alice@example.com>, method=PLAIN, rip=..., session=<...>[, auth_user=<...>]` */
export function parseDovecotLine(line: string): LoginEvent | undefined {
  const m = DOVECOT_LOGIN.exec(line);
  if (!m || !m[2]) return undefined;
  const rest = m[3] ?? "";
  const time = /^(\w{3} +\d+ \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-][\d:]+)?)/.exec(line)?.[1];
  return {
    user: canonicalUser(m[2]),
    service: m[1]!,
    ip: field(rest, "rip"),
    session: field(rest, "session"),
    authUser: field(rest, "auth_user")?.toLowerCase(),
    time,
  };
}

/** `{"time": "...", "user": "alice@example.com", "service": "imap", "ip": "..."}` */
export function parseJsonLine(line: string): LoginEvent | undefined {
  if (!line.trimStart().startsWith("{")) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== "object") return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.user !== "string" || !o.user) return undefined;
  const str = (x: unknown) => (typeof x === "string" ? x : undefined);
  return { user: canonicalUser(o.user), service: str(o.service) ?? "unknown", ip: str(o.ip), time: str(o.time), authUser: str(o.authUser)?.toLowerCase() };
}

export function regexParser(pattern: string): LineParser {
  const re = new RegExp(pattern);
  return (line) => {
    const g = re.exec(line)?.groups;
    if (!g?.user) return undefined;
    return { user: canonicalUser(g.user), service: g.service ?? "unknown", ip: g.ip, time: g.time, authUser: g.auth_user?.toLowerCase() };
  };
}

/** Why a custom pattern cannot be used, or undefined when it can. */
export function patternProblem(pattern: string | undefined): string | undefined {
  if (!pattern) return "a regex log source needs a pattern with a named group (?<user>...)";
  try {
    new RegExp(pattern);
  } catch (e) {
    return `not a valid regular expression: ${(e as Error).message}`;
  }
  if (!pattern.includes("(?<user>")) return "the pattern needs a named group (?<user>...)";
  return undefined;
}

export function parserFor(source: { format: "dovecot" | "jsonl" | "regex"; pattern?: string }): LineParser {
  if (source.format === "jsonl") return parseJsonLine;
  if (source.format === "regex") return regexParser(source.pattern!);
  return parseDovecotLine;
}

/**
 * Whether a login is automigrate's own or another master-user session rather than the
 * user's: Dovecot logs %{auth_user} (with login_log_format_elements, see README) as the
 * master identity for `user*master` and authzid logins. A log without auth_user cannot
 * tell; the daemon then relies on not queueing a user whose migration is running.
 */
export function isMasterLogin(e: LoginEvent): boolean {
  return e.authUser !== undefined && e.authUser !== "" && e.authUser !== e.user;
}
