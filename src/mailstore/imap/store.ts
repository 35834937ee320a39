// The mail-store port over IMAP, every role on a session of our own (session.ts): listing and
// folder management (folder-store.ts), reading folders (reader.ts), appending with the
// pipelined MULTIAPPEND appender (appender.ts).
import { ImapAppender } from "./appender.ts";
import { originatingId, withLogin, type Credentials, type Endpoint } from "../endpoints.ts";
import { SessionStore } from "./folder-store.ts";
import type { FolderReader, MailStore, MailWriter } from "../port.ts";
import { ImapReader } from "./reader.ts";
import type { SessionOptions } from "./session.ts";

/**
 * Opens a connection to a server as a MailStore: logged in (errors coded: CONNECT, TLS,
 * LOGIN_REFUSED, CONFIG), the personal namespace read. `originating` is the client a login
 * is checked for: its address goes to the server in IMAP ID.
 */
export async function openStore(endpoint: Endpoint, creds: Credentials, opts: { timeoutMs?: number; originating?: { ip: string; port?: number } } = {}): Promise<MailStore> {
  return withLogin(creds, (accessToken) => SessionStore.open({ ...sessionFor(endpoint, creds, accessToken), timeoutMs: opts.timeoutMs, id: { name: "automigrate", ...originatingId(opts.originating) } }));
}

/** Opens a folder-reading connection to a server (our own: bodies go straight into batch buffers). */
export function openReader(endpoint: Endpoint, creds: Credentials): Promise<FolderReader> {
  return withLogin(creds, (accessToken) => ImapReader.open(sessionFor(endpoint, creds, accessToken)));
}

/** Opens the appending connection to a server (the new one). */
export async function openWriter(endpoint: Endpoint, creds: Credentials): Promise<MailWriter> {
  return withLogin(creds, (accessToken) => ImapAppender.open(sessionFor(endpoint, creds, accessToken)));
}

/** A session's options for a server and who logs in there (messages name it "old server" or "new server"). */
function sessionFor(endpoint: Endpoint, creds: Credentials, accessToken: string | undefined): SessionOptions {
  const { host, port, tls, tlsVerify, role } = endpoint;
  return { host, port, tls, tlsVerify, role, label: `${role} server`, user: creds.user, pass: creds.pass, authzid: creds.authzid, accessToken };
}

/** Greeting, TLS and capabilities of a server, without logging in (test-connection). */
export function probeServer(endpoint: Endpoint, opts: { timeoutMs: number; label: string }) {
  return ImapAppender.probe({ ...endpoint, ...opts });
}
