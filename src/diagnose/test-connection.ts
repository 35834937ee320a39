// `automigrate test-connection <domain>`: can automigrate reach and use the old IMAP server,
// the old SMTP host and the new server with the settings as they stand? Each check is named,
// passes or fails with what was seen, and says what to do when it fails.
import { oldSmtpHost } from "../config/rules.ts";
import type { Config } from "../config/schema.ts";
import { AutomigrateError, errorText } from "../errors.ts";
import { openStore, probeServer } from "../mailstore/imap/store.ts";
import { credentialsFor, oldEndpoint, targetEndpoint, type Endpoint, type SecretSource } from "../mailstore/endpoints.ts";
import type { OAuth2Auth, ServerAuth } from "../config/schema.ts";
import { loginName } from "../address.ts";
import { bearerFor } from "../oauth/broker.ts";
import { PROVIDERS } from "../oauth/providers.ts";
import { probeSmtp } from "../routing/smtp-probe.ts";

export type CheckStatus = "pass" | "fail" | "skip";

export interface Check {
  name: "old-imap" | "old-token" | "old-imap-login" | "old-smtp" | "new-imap" | "new-token" | "new-imap-login";
  status: CheckStatus;
  server: string;
  detail: string;
  hint?: string;
}

export interface ConnectionReport {
  domain: string;
  user: string | null;
  ok: boolean;
  checks: Check[];
}

/** The error's own words: the server already has its column, the hint its line. */
function messageOf(err: unknown): string {
  return err instanceof AutomigrateError ? err.message : errorText(err);
}

function connectionHint(e: Endpoint, key: string): string {
  const err = `check ${key}.host and the port, that the server is up, and that this host may connect`;
  return e.tls === "none" ? err : `${err}; if the certificate is self-signed, set ${key}.tlsVerify=false for this server`;
}

interface LoginCheck {
  auth: ServerAuth | undefined;
  authKey: string;
  /** The server's login template (migration.old.login, target.login). */
  login: string;
  loginKey: string;
  secrets?: SecretSource;
}

/**
 * Why logging in would fail on this unencrypted connection, if it would (pure). RFC 3501:
 * LOGIN is allowed unless LOGINDISABLED is advertised (Courier offers no AUTH=PLAIN without
 * TLS and takes LOGIN); acting for a user with an authzid needs SASL PLAIN itself.
 */
export function plaintextLoginRefusal(capabilities: string[], needsSaslPlain: boolean): string | undefined {
  const caps = new Set(capabilities.map((c) => c.toUpperCase()));
  if (caps.has("LOGINDISABLED")) return "the server refuses LOGIN on an unencrypted connection (LOGINDISABLED)";
  if (needsSaslPlain && !caps.has("AUTH=PLAIN")) return "acting for users needs SASL PLAIN (authzid), which the server does not offer on an unencrypted connection (no AUTH=PLAIN)";
  return undefined;
}

async function imapChecks(prefix: "old" | "new", e: Endpoint, who: LoginCheck, settingsKey: string, user: string | undefined, timeoutMs: number): Promise<Check[]> {
  const { auth, authKey } = who;
  const server = `${e.host}:${e.port}`;
  const checks: Check[] = [];
  let reachable = false;
  try {
    const p = await probeServer(e, { timeoutMs, label: `${prefix} server` });
    reachable = true;
    const tls = e.tls === "none" ? "no TLS" : e.tls === "starttls" ? "STARTTLS" : "implicit TLS";
    const detail = `greeting "${p.greeting}", ${tls}, capabilities: ${p.capabilities.join(" ")}`;
    const refused = p.secure ? undefined : plaintextLoginRefusal(p.capabilities, auth?.mode === "master" && auth.method === "authzid");
    if (refused) {
      checks.push({ name: `${prefix}-imap`, status: "fail", server, detail: `${refused}; ${detail}`, hint: `set ${settingsKey}=starttls (or implicit with port 993)` });
    } else {
      checks.push({ name: `${prefix}-imap`, status: "pass", server, detail });
    }
  } catch (err) {
    checks.push({ name: `${prefix}-imap`, status: "fail", server, detail: messageOf(err), hint: connectionHint(e, settingsKey.replace(/\.(imapTls|tls)$/, "")) });
  }
  const token = auth?.mode === "oauth2" ? await tokenCheck(prefix, auth, authKey, who.login, user) : undefined;
  if (token) checks.push(token);
  const name = `${prefix}-imap-login` as const;
  if (token?.status === "fail") {
    checks.push({ name, status: "skip", server, detail: "no access token to log in with" });
  } else if (!user) {
    checks.push({ name, status: "skip", server, detail: "no user to log in as", hint: "add --user someone@<domain> to test a login with the configured identity" });
  } else if (!reachable) {
    checks.push({ name, status: "skip", server, detail: "the server could not be reached" });
  } else {
    try {
      const creds = credentialsFor(auth, user, authKey, who.secrets, who.login);
      const store = await openStore(e, creds, { timeoutMs });
      // a server may let an admin act for an identity that has no mailbox (Cyrus): an
      // empty LIST is not a working login
      const folders = await store.list().finally(() => store.close());
      const how = creds.authzid ? `as ${creds.user} acting for ${creds.authzid} (SASL PLAIN authzid)` : creds.bearer ? `as ${creds.user} with an OAuth2 token` : `as ${creds.user}`;
      if (!folders.some((f) => f.path.toUpperCase() === "INBOX")) {
        checks.push({ name, status: "fail", server, detail: `logged in ${how}, but the server lists no INBOX there: no mailbox for this login`, hint: `check the address, and ${who.loginKey} (e.g. {localpart} for bare login names)` });
      } else {
        checks.push({ name, status: "pass", server, detail: `logged in ${how}; ${folders.length} folder${folders.length === 1 ? "" : "s"}` });
      }
    } catch (err) {
      const hint = err instanceof AutomigrateError ? err.context.hint : undefined;
      checks.push({ name, status: "fail", server, detail: messageOf(err), hint: hint ?? `check ${authKey}` });
    }
  }
  return checks;
}

/**
 * Whether the identity provider issues a token, apart from the IMAP login (so that the two
 * failures are told apart). An app-wide token needs no user; a per-user one does. The token
 * itself is never shown.
 */
async function tokenCheck(prefix: "old" | "new", auth: OAuth2Auth, authKey: string, login: string, user: string | undefined): Promise<Check> {
  const name = `${prefix}-token` as const;
  const server = auth.tokenUrl ? new URL(auth.tokenUrl).host : auth.provider === "command" ? "(command)" : auth.provider;
  if (!user && PROVIDERS[auth.provider].tokenPer === "user") return { name, status: "skip", server, detail: `${auth.provider} issues one token per user`, hint: "add --user someone@<domain> to ask for one" };
  const as = loginName(login, user ?? "postmaster@invalid");
  try {
    await bearerFor(auth, as, authKey).token();
    return { name, status: "pass", server, detail: `${auth.provider} issued an access token${PROVIDERS[auth.provider].tokenPer === "user" ? ` for ${as}` : " for the app"}` };
  } catch (err) {
    const hint = err instanceof AutomigrateError ? err.context.hint : undefined;
    return { name, status: "fail", server, detail: messageOf(err), hint: hint ?? `check ${authKey}` };
  }
}

/**
 * The old server's login check for one address alone, with the domain's configured identity
 * (the console checks an address typed by hand before queueing it). Undefined when the
 * address's domain is not configured or has no old server: the daemon's own refusal says so.
 */
export async function checkOldLogin(config: Config, user: string, opts: { timeoutMs?: number; secrets?: SecretSource } = {}): Promise<Check | undefined> {
  const domain = user.slice(user.lastIndexOf("@") + 1).toLowerCase();
  const o = config.domains[domain]?.migration.old;
  if (!user.includes("@") || !o?.host) return undefined;
  const checks = await imapChecks("old", oldEndpoint(o), { auth: o.auth, authKey: `domains.${domain}.migration.old.auth`, login: o.login, loginKey: "migration.old.login", secrets: opts.secrets }, "migration.old.imapTls", user, opts.timeoutMs ?? 10_000);
  return checks.find((c) => c.name === "old-imap-login");
}

export async function testConnection(config: Config, domain: string, opts: { user?: string; timeoutMs?: number; secrets?: SecretSource } = {}): Promise<ConnectionReport> {
  const d = config.domains[domain]!;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const o = d.migration.old;
  const checks: Check[] = [];
  const oldKey = `domains.${domain}.migration.old`;
  if (!o.host) {
    checks.push({ name: "old-imap", status: "fail", server: "(not set)", detail: "no old server is set", hint: `automigrate domain set ${domain} migration.old.host=<host>` });
  } else {
    const old = oldEndpoint(o);
    checks.push(...(await imapChecks("old", old, { auth: o.auth, authKey: `${oldKey}.auth`, login: o.login, loginKey: "migration.old.login", secrets: opts.secrets }, `migration.old.imapTls`, opts.user, timeoutMs)));
    const smtpHost = oldSmtpHost(d)!; // o.host is set here
    const server = `${smtpHost}:${o.smtpPort}`;
    try {
      const p = await probeSmtp(smtpHost, o.smtpPort, { tlsVerify: o.tlsVerify, timeoutMs });
      checks.push({ name: "old-smtp", status: "pass", server, detail: `banner "${p.banner}", EHLO extensions: ${p.extensions.join(" ") || "(none)"}${p.tls ? ", implicit TLS" : ""}` });
    } catch (err) {
      checks.push({ name: "old-smtp", status: "fail", server, detail: messageOf(err), hint: `check migration.old.smtpHost (default: the IMAP host) and migration.old.smtpPort` });
    }
  }
  const t = config.target;
  const target = targetEndpoint(t);
  checks.push(...(await imapChecks("new", target, { auth: t.auth, authKey: "target.auth", login: t.login, loginKey: "target.login" }, "target.tls", opts.user, timeoutMs)));
  return { domain, user: opts.user ?? null, ok: checks.every((c) => c.status !== "fail"), checks };
}

export function formatConnectionReport(r: ConnectionReport): string {
  const mark = { pass: "ok  ", fail: "FAIL", skip: "skip" } as const;
  const lines = [`test-connection ${r.domain}${r.user ? ` (as ${r.user})` : ""}: ${r.ok ? "all reachable" : "PROBLEMS FOUND"}`];
  for (const c of r.checks) {
    lines.push(`  ${mark[c.status]} ${c.name.padEnd(15)} ${c.server}  ${c.detail}`);
    if (c.hint && c.status !== "pass") lines.push(`       hint: ${c.hint}`);
  }
  return lines.join("\n");
}
