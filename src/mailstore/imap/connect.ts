// imapflow connections (the IMAP adapter's reading side) to the old and the new server: TLS
// modes, master identity (user*master or SASL PLAIN authzid), timeouts, the client's address
// in IMAP ID, and a check of who we are logged in as.
import { ImapFlow } from "imapflow";
import { tlsServername } from "../../tls-name.ts";
import { describeEndpoint, originatingId, type Credentials, type Endpoint } from "../endpoints.ts";
import { AutomigrateError, CONNECTION_ERROR_CODES, tlsErrorCode } from "../../errors.ts";
import { TIMEOUTS } from "../../timeouts.ts";

export async function openImap(endpoint: Endpoint, creds: Credentials, opts: { timeoutMs?: number; originating?: { ip: string; port?: number }; accessToken?: string } = {}): Promise<ImapFlow> {
  const client = new ImapFlow({
    clientInfo: { name: "automigrate", ...originatingId(opts.originating) },
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.tls === "implicit",
    doSTARTTLS: endpoint.tls === "starttls" ? true : endpoint.tls === "none" ? false : undefined,
    tls: { rejectUnauthorized: endpoint.tlsVerify, servername: tlsServername(endpoint.host) },
    auth: opts.accessToken !== undefined
      ? { user: creds.user, accessToken: opts.accessToken }
      : {
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
    const caps = (client as unknown as { capabilities?: Map<string, unknown> }).capabilities;
    if (opts.accessToken !== undefined && caps?.size && !caps.has("AUTH=OAUTHBEARER") && !caps.has("AUTH=XOAUTH2")) {
      throw new AutomigrateError("the server offers neither AUTH=OAUTHBEARER nor AUTH=XOAUTH2, so it cannot take an OAuth2 token", {
        server,
        user: who,
        hint: "check the server (and its TLS mode: some offer them only after STARTTLS), or log in with another auth.mode",
      }, { code: "CONFIG", cause: e });
    }
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
    }, { transient: CONNECTION_ERROR_CODES.has(err.code ?? "") || !err.code, cause: e, code: tlsErrorCode(e) ? "TLS" : "CONNECT" });
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
        }, { code: "CONFIG" }),
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
