// Where the old and the new server are and who automigrate logs in as there, from the
// settings: endpoints, credentials (master identity, or a captured or imported password),
// login names. What every opener of a mail store starts from; nothing here talks to a server.
import { isIP } from "node:net";
import type { Config, DomainSettings, ServerAuth, TlsMode } from "../config/schema.ts";
import { loginName, splitUser } from "../address.ts";
import { readPasswordFile } from "../config/secrets.ts";
import { AutomigrateError, inputError } from "../errors.ts";
import { bearerFor, type BearerSource } from "../oauth/broker.ts";

export interface Endpoint {
  /** "old" or "new": which side, for messages. */
  role: "old" | "new";
  host: string;
  port: number;
  tls: TlsMode;
  tlsVerify: boolean;
}

export interface Credentials {
  user: string;
  pass: string;
  authzid?: string;
  /** OAuth2: where the login's bearer token comes from (no password then). */
  bearer?: BearerSource;
}

export function defaultImapPort(tls: TlsMode): number {
  return tls === "implicit" ? 993 : 143;
}

/** The old server of a domain as an endpoint (its host must be set). One place for the port default. */
export function oldEndpoint(o: { host?: string; imapPort?: number; imapTls: TlsMode; tlsVerify: boolean }): Endpoint {
  return { role: "old", host: o.host ?? "", port: o.imapPort ?? defaultImapPort(o.imapTls), tls: o.imapTls, tlsVerify: o.tlsVerify };
}

/** The new server (target) as an endpoint. */
export function targetEndpoint(t: { host: string; port?: number; tls: TlsMode; tlsVerify: boolean }): Endpoint {
  return { role: "new", host: t.host, port: t.port ?? defaultImapPort(t.tls), tls: t.tls, tlsVerify: t.tlsVerify };
}

/** "host:port" of a domain's old server: the unit of the daemon's per-server limit. */
export function oldServerKey(o: Parameters<typeof oldEndpoint>[0]): string {
  const e = oldEndpoint(o);
  return `${e.host}:${e.port}`;
}

/** Where captured or imported passwords come from (the vault). */
export interface SecretSource {
  password(user: string): string | undefined;
}

export { loginName } from "../address.ts";

/**
 * Opens a connection with `creds`: for OAuth2, with the cached token, and once more with a
 * fresh one when the server refuses it (expired or revoked early); a second refusal is final
 * and names what to check.
 */
export async function withLogin<T>(creds: Credentials, open: (accessToken: string | undefined) => Promise<T>): Promise<T> {
  const bearer = creds.bearer;
  if (!bearer) return open(undefined);
  for (let attempt = 1; ; attempt++) {
    const token = await bearer.token();
    try {
      return await open(token);
    } catch (e) {
      if (!(e instanceof AutomigrateError) || e.code !== "LOGIN_REFUSED") throw e;
      bearer.refused(token);
      if (attempt === 2) throw new AutomigrateError(e.message, { ...e.context, hint: bearer.refusedHint }, { code: "LOGIN_REFUSED", transient: e.transient, cause: e });
    }
  }
}

/**
 * Credentials to act as `user` on a server whose auth settings are `auth`; the server's
 * login name for the user comes from its `login` template (the vault is keyed by address).
 */
export function credentialsFor(auth: ServerAuth | undefined, user: string, settingsKey: string, secrets?: SecretSource, login = "{user}"): Credentials {
  if (!auth) {
    throw new AutomigrateError(`no credentials configured for ${settingsKey}`, {
      user,
      hint: `set ${settingsKey}.mode=master ${settingsKey}.user=<master user> ${settingsKey}.passwordFile=<file>`,
    }, { code: "CONFIG", exitCode: 2 });
  }
  if (auth.mode === "oauth2") {
    const as = loginName(login, user);
    return { user: as, pass: "", bearer: bearerFor(auth, as, settingsKey) };
  }
  if (auth.mode !== "master") {
    const pass = secrets?.password(user);
    if (!pass) {
      throw new AutomigrateError(`no ${auth.mode === "captured" ? "captured" : "imported"} password for ${user}`, {
        user,
        hint: auth.mode === "captured" ? "it is captured at the user's first login on the new server" : "import it with automigrate import-users <file.csv> (user;password)",
      }, { code: "NO_PASSWORD" });
    }
    return { user: loginName(login, user), pass };
  }
  const pass = readPasswordFile(auth.passwordFile, settingsKey);
  const as = loginName(login, user);
  return auth.method === "authzid" ? { user: auth.user, pass, authzid: as } : { user: `${as}${auth.separator}${auth.user}`, pass };
}

export function describeEndpoint(e: Endpoint): string {
  return `${e.host}:${e.port}`;
}


/**
 * IMAP ID fields naming the client a login is made for (RFC 2971; Dovecot honours them from
 * login_trusted_networks): only a well-formed IP address and port go out.
 */
export function originatingId(o: { ip: string; port?: number } | undefined): Record<string, string> {
  if (!o || isIP(o.ip) === 0) return {};
  return { "x-originating-ip": o.ip, ...(o.port !== undefined && Number.isInteger(o.port) && o.port > 0 && o.port < 65536 ? { "x-originating-port": String(o.port) } : {}) };
}

export interface Sides {
  old: Endpoint;
  oldCreds: Credentials;
  target: Endpoint;
  targetCreds: Credentials;
  domain: DomainSettings;
}

/** The user's domain settings, with an old server to migrate from; every gap an actionable error. */
export function domainOf(config: Config, user: string): DomainSettings {
  const { domain } = splitUser(user);
  const d = config.domains[domain];
  if (!d) throw new AutomigrateError(`domain ${domain} is not configured`, { user, hint: `automigrate domain add ${domain}` }, { exitCode: 2, code: "NOT_FOUND" });
  if (!d.migration.old.host) throw inputError(`no old server set for ${domain}`, { user, hint: `automigrate domain set ${domain} migration.old.host=<old IMAP host>` });
  return d;
}

/** A user's two sides, from the settings (its domain's, and the target): every gap is an actionable error. */
export function resolveSides(config: Config, user: string, secrets?: SecretSource): Sides {
  const d = domainOf(config, user);
  const { domain } = splitUser(user);
  const o = d.migration.old;
  const t = config.target;
  return {
    domain: d,
    old: oldEndpoint(o),
    oldCreds: credentialsFor(o.auth, user, `domains.${domain}.migration.old.auth`, secrets, o.login),
    target: targetEndpoint(t),
    targetCreds: credentialsFor(t.auth, user, "target.auth", undefined, t.login),
  };
}

