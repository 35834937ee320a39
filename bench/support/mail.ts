// Seeding and reading mailboxes on the test and benchmark Dovecots through imapflow (independent of the
// code under test), and SHA-256 digests for exact comparisons.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ImapFlow } from "imapflow";
import type { Dovecot } from "../../tui/servers/dovecot.ts";

/** A server with a master user (Dovecot, Cyrus), or one where each user logs in as themselves (Courier). */
type Server = Pick<Dovecot, "host" | "port"> & ({ master: Dovecot["master"] } | { directLogin(user: string): { user: string; pass: string } });

/** How many logins a Dovecot has logged for `user` so far (its log's "Login: user=<…>" lines). */
export function loginCount(server: Dovecot, user: string): number {
  return readFileSync(server.logPath, "utf8").split("\n").filter((l) => l.includes(`Login: user=<${user}>`)).length;
}

export async function connectAs(server: Server, user: string): Promise<ImapFlow> {
  const auth = "directLogin" in server ? server.directLogin(user) : { user: server.master.user, pass: server.master.password, authzid: user, loginMethod: "AUTH=PLAIN" };
  const c = new ImapFlow({ host: server.host, port: server.port, secure: false, logger: false, auth } as ConstructorParameters<typeof ImapFlow>[0]);
  c.on("error", () => {});
  await c.connect();
  return c;
}

export async function withClient<T>(server: Server, user: string, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const c = await connectAs(server, user);
  try {
    return await fn(c);
  } finally {
    await c.logout().catch(() => {});
  }
}

export interface SeedMessage {
  folder: string;
  raw: string | Buffer;
  flags?: string[];
  date?: Date;
}

export function makeMessage(i: number, opts: { subject?: string; bodyBytes?: number; messageId?: string | null; extraHeaders?: string } = {}): string {
  const id = opts.messageId === null ? "" : `Message-ID: <${opts.messageId ?? `m${i}.${Math.random().toString(36).slice(2)}@old.example`}>\r\n`;
  const body = "x".repeat(Math.max(0, (opts.bodyBytes ?? 200) - 2)).replace(/(.{76})/g, "$1\r\n");
  return `From: sender${i}@example.org\r\nTo: alice@example.com\r\nSubject: ${opts.subject ?? `message ${i}`}\r\n${id}Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n${opts.extraHeaders ?? ""}\r\n${body}\r\n`;
}

export async function seed(server: Server, user: string, folders: { path: string; subscribe?: boolean }[], messages: SeedMessage[]): Promise<void> {
  await withClient(server, user, async (c) => {
    for (const f of folders) {
      if (f.path.toUpperCase() !== "INBOX") await c.mailboxCreate(f.path);
      if (f.subscribe === false) await c.mailboxUnsubscribe(f.path);
      else await c.mailboxSubscribe(f.path);
    }
    for (const m of messages) await c.append(m.folder, m.raw, m.flags ?? [], m.date ?? new Date("2023-05-06T07:08:09Z"));
  });
}

export interface MessageDigest {
  sha256: string;
  flags: string[];
  internalDate: number;
  size: number;
}

/** Every folder's messages as digests (source SHA-256, flags without \Recent, INTERNALDATE). */
export async function digestMailbox(server: Server, user: string): Promise<Map<string, MessageDigest[]>> {
  return withClient(server, user, async (c) => {
    const out = new Map<string, MessageDigest[]>();
    for (const f of await c.list()) {
      if (f.flags.has("\\Noselect") || f.flags.has("\\NonExistent")) continue;
      await c.mailboxOpen(f.path, { readOnly: true });
      const msgs: MessageDigest[] = [];
      const box = c.mailbox as { exists: number };
      if (box.exists > 0) {
        for await (const m of c.fetch("1:*", { uid: true, flags: true, internalDate: true, source: true, size: true })) {
          msgs.push({
            sha256: createHash("sha256").update(m.source!).digest("hex"),
            flags: [...(m.flags ?? [])].filter((x) => x !== "\\Recent").sort(),
            internalDate: new Date(m.internalDate!).getTime(),
            size: m.size ?? 0,
          });
        }
      }
      msgs.sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
      out.set(f.path, msgs);
    }
    return out;
  });
}

/** Checksum of a maildir's message files: names (which carry the flags) and contents. */
export function maildirChecksum(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (name.startsWith("dovecot") || name === "subscriptions" || name === "maildirfolder") continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (/\/(cur|new)\//.test(p)) {
        // a message file: its unique part plus its flags, and its bytes (new/ vs cur/ ignored)
        h.update(name.replace(/,S=\d+/, "")).update(readFileSync(p));
      }
    }
  };
  walk(dir);
  return h.digest("hex");
}
