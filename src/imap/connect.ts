// imapflow connections to the old and the new server: TLS modes, master identity
// (user*master or SASL PLAIN authzid), timeouts, and a check of who we are logged in as.
import { isIP } from "node:net";
import { ImapFlow } from "imapflow";
import { tlsServername } from "../tls-name.ts";
import type { ServerAuth, TlsMode } from "../config/schema.ts";
import { readPasswordFile } from "../config/secrets.ts";
import { AutomigrateError, CONNECTION_ERROR_CODES } from "../errors.ts";
import { TIMEOUTS } from "../timeouts.ts";

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

/** The login name for an address on a server: its `login` template filled in. */
export function loginName(template: string, user: string): string {
  const at = user.lastIndexOf("@");
  const localpart = at < 0 ? user : user.slice(0, at);
  const domain = at < 0 ? "" : user.slice(at + 1);
  return template.replaceAll("{user}", user).replaceAll("{localpart}", localpart).replaceAll("{domain}", domain);
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
    }, { exitCode: 2 });
  }
  if (auth.mode !== "master") {
    const pass = secrets?.password(user);
    if (!pass) {
      throw new AutomigrateError(`no ${auth.mode === "captured" ? "captured" : "imported"} password for ${user}`, {
        user,
        hint: auth.mode === "captured" ? "it is captured at the user's first login on the new server" : "import it with automigrate import-users <file.csv> (user;password)",
      });
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

export async function openImap(endpoint: Endpoint, creds: Credentials, opts: { timeoutMs?: number; originating?: { ip: string; port?: number } } = {}): Promise<ImapFlow> {
  const client = new ImapFlow({
    clientInfo: { name: "automigrate", ...originatingId(opts.originating) },
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.tls === "implicit",
    doSTARTTLS: endpoint.tls === "starttls" ? true : endpoint.tls === "none" ? false : undefined,
    tls: { rejectUnauthorized: endpoint.tlsVerify, servername: tlsServername(endpoint.host) },
    auth: {
      user: creds.user,
      pass: creds.pass,
      ...(creds.authzid ? { authzid: creds.authzid, loginMethod: "AUTH=PLAIN" } : {}),
    },
    logger: false,
    connectionTimeout: opts.timeoutMs ?? TIMEOUTS.imapConnectMs,
    greetingTimeout: opts.timeoutMs ?? TIMEOUTS.imapConnectMs,
    socketTimeout: TIMEOUTS.imapIdleMs,
    disableAutoIdle: true,
    qresync: false,
  } as ConstructorParameters<typeof ImapFlow>[0]);
  client.on("error", () => {
    /* surfaced through the failing command */
  });
  const who = creds.authzid ?? creds.user;
  const server = `${endpoint.role} server ${describeEndpoint(endpoint)}`;
  if (creds.authzid) refuseLoginFallback(client, creds.authzid, server);
  try {
    await client.connect();
  } catch (e) {
    const err = e as Error & { code?: string; authenticationFailed?: boolean; responseText?: string };
    if (err.authenticationFailed || /auth/i.test(err.code ?? "")) {
      // The old server refusing is final (wrong credentials). The new server refusing may
      // be an account that is not visible there yet (just provisioned): worth a retry.
      throw new AutomigrateError(`login refused for ${who}${err.responseText ? `: ${err.responseText}` : ""}`, {
        server,
        user: who,
        hint: "check the master user and its password file, and that the user exists there",
      }, { cause: e, transient: endpoint.role === "new", code: "LOGIN_REFUSED" });
    }
    const bye = (e as { reason?: string }).reason;
    if (bye) {
      // the server ended the session with a BYE, e.g. Courier when the login is accepted but
      // the account's home or maildir cannot be opened ("Temporary problem, please try again later")
      throw new AutomigrateError(`the server ended the session for ${who}: BYE "${bye}"`, {
        server,
        user: who,
        hint: `check that ${who} has a mailbox there (a login the server accepts but whose mailbox it cannot open ends this way), or whether the server limits connections`,
      }, { transient: true, cause: e, code: "CONNECT" });
    }
    throw new AutomigrateError(`cannot connect: ${err.message}${err.code ? ` (${err.code})` : ""}`, {
      server,
      hint: endpoint.tls === "none" ? "is the server up and listening on that port?" : "is the server up, and is the TLS mode right (none, starttls, implicit)?",
    }, { transient: CONNECTION_ERROR_CODES.has(err.code ?? "") || !err.code, cause: e, code: /cert|tls|ssl/i.test(`${err.code ?? ""} ${err.message}`) ? "TLS" : "CONNECT" });
  }
  return client;
}

/**
 * imapflow falls back to the LOGIN command, which has no authzid, when a server offers no
 * AUTH= mechanism: we would be logged in as the master identity itself, not as the user.
 * Refuse that command on this connection (imapflow's internal run(), checked to exist).
 */
function refuseLoginFallback(client: ImapFlow, authzid: string, server: string): void {
  const c = client as unknown as { run?: (cmd: string, ...args: unknown[]) => Promise<unknown> };
  if (typeof c.run !== "function") return;
  const run = c.run.bind(client);
  c.run = (cmd: string, ...args: unknown[]) => {
    if (cmd === "LOGIN") {
      return Promise.reject(
        new AutomigrateError(`the server offers no AUTH=PLAIN, so the master identity cannot act for ${authzid}`, {
          server,
          user: authzid,
          hint: "set auth.method=separator (user*master) for this server",
        }),
      );
    }
    return run(cmd, ...args);
  };
}

export async function closeImap(client: ImapFlow | undefined): Promise<void> {
  if (!client) return;
  try {
    await Promise.race([client.logout(), Bun.sleep(TIMEOUTS.imapLogoutMs)]);
  } catch {}
  client.close();
}
