// The mail-store port over IMAP, every role on a session of our own (session.ts): listing and
// folder management (folder-store.ts), reading folders (reader.ts), appending with the
// pipelined MULTIAPPEND appender (appender.ts).
import { ImapAppender } from "./appender.ts";
import { originatingId, withLogin, type Credentials, type Endpoint } from "../endpoints.ts";
import { SessionStore } from "./folder-store.ts";
import type { FolderReader, MailStore, MailWriter } from "../port.ts";
import { ImapReader } from "./reader.ts";

/**
 * Opens a connection to a server as a MailStore: logged in (errors coded: CONNECT, TLS,
 * LOGIN_REFUSED, CONFIG), the personal namespace read. `originating` is the client a login
 * is checked for: its address goes to the server in IMAP ID.
 */
export async function openStore(endpoint: Endpoint, creds: Credentials, opts: { timeoutMs?: number; originating?: { ip: string; port?: number } } = {}): Promise<MailStore> {
  return withLogin(creds, (accessToken) =>
    SessionStore.open({
      host: endpoint.host,
      port: endpoint.port,
      tls: endpoint.tls,
      tlsVerify: endpoint.tlsVerify,
      user: creds.user,
      pass: creds.pass,
      authzid: creds.authzid,
      accessToken,
      timeoutMs: opts.timeoutMs,
      label: `${endpoint.role} server`,
      role: endpoint.role,
      id: { name: "automigrate", ...originatingId(opts.originating) },
    }),
  );
}

/** Opens a folder-reading connection to a server (our own: bodies go straight into batch buffers). */
export function openReader(endpoint: Endpoint, creds: Credentials): Promise<FolderReader> {
  return withLogin(creds, (accessToken) => ImapReader.open(endpoint, { ...creds, accessToken }));
}

/** Opens the appending connection to a server (the new one). */
export async function openWriter(endpoint: Endpoint, creds: Credentials): Promise<MailWriter> {
  return withLogin(creds, (accessToken) => ImapAppender.open({ ...endpoint, user: creds.user, pass: creds.pass, authzid: creds.authzid, accessToken }));
}

/** Greeting, TLS and capabilities of a server, without logging in (test-connection). */
export function probeServer(endpoint: Endpoint, opts: { timeoutMs: number; label: string }) {
  return ImapAppender.probe({ ...endpoint, ...opts });
}

/** Closes a store that may not have been opened. */
export async function closeStore(store: MailStore | undefined): Promise<void> {
  await store?.close();
}
