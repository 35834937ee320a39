// Real Dovecot instances for integration tests, benchmarks and `automigrate demo`: each on its own free
// 127.0.0.1 port with its own base_dir, log, maildirs and passwd-file, a master user
// ("user*admin" and SASL PLAIN authzid), and either "/" or "." as hierarchy separator.
import { spawnSync, type ChildProcess } from "node:child_process";
import { spawnServer, stopSpawned } from "./processes.ts";
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface DovecotUser {
  user: string;
  password: string;
}

export interface DovecotOptions {
  /** Hierarchy separator of the personal namespace. "." puts every folder under "INBOX." like Courier/Cyrus. */
  separator?: "/" | ".";
  users?: DovecotUser[];
  masterUser?: DovecotUser;
  /** Refuse messages larger than this (Dovecot quota_max_mail_size, e.g. "100k"). */
  maxMailSize?: string;
  /** Each mailbox's storage quota (e.g. "40K"): APPENDs beyond it are refused with [OVERQUOTA]. */
  quotaStorage?: string;
  /**
   * Special-use roles (RFC 6154) the server advertises: true for Sent/Drafts/Trash/Junk/Archive,
   * or a map of folder name → flag (e.g. { "Sent Items": "\\Sent" }), false for none.
   */
  specialUse?: boolean | Record<string, string>;
  label?: string;
  /** Also run Dovecot's SMTP submission service (banner + EHLO), on `smtpPort`. */
  smtp?: boolean;
  /** Also run Dovecot's LMTP service (dovecot-lmtpd), on `lmtpPort`: how an MTA delivers into it. */
  lmtp?: boolean;
  /**
   * Loopback address to listen on (default 127.0.0.1). Dovecot treats a client on the same
   * address as secure; listening on 127.0.0.2 makes a 127.0.0.1 client an insecure one.
   */
  listen?: string;
  /**
   * imap_capability: the CAPABILITY list advertised after login, e.g. "IMAP4rev1" for a
   * server that offers none of MULTIAPPEND, LITERAL+, UIDPLUS, SPECIAL-USE, CONDSTORE or
   * LIST-STATUS (clients must not use what is not advertised).
   */
  capability?: string;
  /**
   * The mailbox format (default maildir, which maildir() and the generators write into);
   * mdbox for a new server holding very large folders (a maildir directory of 300,000 files
   * slows every client's APPEND).
   */
  mailFormat?: "maildir" | "mdbox";
  /**
   * mail_fsync (Dovecot's default: optimized, a saved message is fsynced before its save is
   * acknowledged); "never" only to measure how much of a copy's time is the disk's
   * (bench/bound.ts), never for mail anyone keeps.
   */
  mailFsync?: "optimized" | "always" | "never";
  /** disable_plaintext_auth (default no): refuse PLAIN/LOGIN on insecure connections. */
  disablePlaintextAuth?: boolean;
  /**
   * login_trusted_networks: clients there may name the client they act for (IMAP ID
   * x-originating-ip), as automigrate's first-login checks do; Dovecot then logs and
   * penalises that address.
   */
  trustedNetworks?: string;
  /** A checkpassword program, as a second passdb after the passwd-file (first-login account creation). */
  checkpassword?: string;
  /** Or a Lua passdb script (dovecot-auth-lua) and its `socket` parameter, in the same place. */
  luaPassdb?: { file: string; socket: string };
  /**
   * OAuth2 logins (SASL XOAUTH2 and OAUTHBEARER): per-user tokens checked by passdb oauth2
   * against an introspection endpoint (RFC 7662), and app-wide tokens (which name no mailbox)
   * by a checkpassword program.
   */
  oauth2?: { introspectUrl: string; appCheck?: { script: string; introspectUrl: string }; mechanisms?: string };
}

export interface Dovecot {
  host: string;
  port: number;
  smtpPort?: number;
  lmtpPort?: number;
  dir: string;
  /** The passwd-file passdb (where a provisioner adds accounts). */
  passwdPath: string;
  logPath: string;
  separator: "/" | ".";
  master: DovecotUser;
  /** Directory of one user's maildir. */
  maildir(user: string): string;
  addUser(user: DovecotUser): void;
  stop(): Promise<void>;
}

const IS_ROOT = process.getuid?.() === 0;
const MAIL_UID = 8; // Debian's "mail" user; imap processes must not run as root
const MAIL_GID = 8;

export function dovecotBinary(): string | undefined {
  const r = spawnSync("sh", ["-c", "command -v dovecot || ls /usr/sbin/dovecot"], { encoding: "utf8" });
  const path = r.stdout.trim().split("\n")[0];
  return path || undefined;
}

/** Whether `port` can be listened on at 127.0.0.1 now (0: any; resolves to the port, or 0). */
function tryListen(port: number): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", () => resolve(0));
    srv.listen(port, "127.0.0.1", () => {
      const addr = srv.address();
      const got = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(got));
    });
  });
}

/** Ports this process handed out: never twice (two servers started at once must not share one). */
const handedOut = new Set<number>();

/**
 * A free 127.0.0.1 port for a server about to start. The test runner gives each of its
 * parallel test processes its own range (AUTOMIGRATE_TEST_PORTS="lo-hi", below the kernel's
 * ephemeral ports), so two processes never pick the same port between this check and their
 * server's bind; without it, the kernel's choice.
 */
export async function freePort(): Promise<number> {
  const range = /^(\d+)-(\d+)$/.exec(process.env.AUTOMIGRATE_TEST_PORTS ?? "");
  if (range) {
    const lo = Number(range[1]);
    const size = Number(range[2]) - lo + 1;
    const start = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i++) {
      const port = lo + ((start + i) % size);
      if (handedOut.has(port)) continue;
      if ((await tryListen(port)) === port) {
        handedOut.add(port);
        return port;
      }
    }
    throw new Error(`no free port left in AUTOMIGRATE_TEST_PORTS=${process.env.AUTOMIGRATE_TEST_PORTS}`);
  }
  for (;;) {
    const port = await tryListen(0);
    if (!port) throw new Error("cannot listen on 127.0.0.1");
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

const hashes = new Map<string, string>();

/** SHA512-CRYPT via doveadm; one hash per distinct password (200 users need not cost 200 runs). */
function hashPassword(password: string): string {
  const known = hashes.get(password);
  if (known) return known;
  const r = spawnSync("doveadm", ["pw", "-s", "SHA512-CRYPT", "-p", password], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`doveadm pw failed: ${r.stderr}`);
  hashes.set(password, r.stdout.trim());
  return r.stdout.trim();
}

const STANDARD_ROLES: Record<string, string> = { Sent: "\\Sent", Drafts: "\\Drafts", Trash: "\\Trash", Junk: "\\Junk", Archive: "\\Archive" };

function namespaceBlock(separator: "/" | ".", specialUse: boolean | Record<string, string>): string {
  const prefix = separator === "." ? "INBOX." : "";
  const roles = specialUse === true ? STANDARD_ROLES : specialUse === false ? {} : specialUse;
  const blocks = Object.entries(roles)
    .map(([name, flag]) => `  mailbox "${name}" {\n    special_use = ${flag}\n  }\n`)
    .join("");
  return `namespace inbox {
  inbox = yes
  separator = ${separator}
  prefix = ${prefix}
${blocks}}
`;
}

/**
 * Waits up to 15 s for a server's greeting (a line starting with `expect`) on host:port; if
 * it never comes or the process exits, kills the process and throws what `failure` says.
 * One wait for every test server (Dovecot, Cyrus, Courier).
 */
export async function waitForGreeting(host: string, port: number, proc: ChildProcess, expect: string, failure: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.setTimeout(1000);
      s.once("data", (d) => {
        s.destroy();
        resolve(d.toString().startsWith(expect));
      });
      s.once("error", () => resolve(false));
      s.once("timeout", () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await Bun.sleep(50);
  }
  const why = failure();
  await stopSpawned(proc);
  throw new Error(why);
}

export async function startDovecot(opts: DovecotOptions = {}): Promise<Dovecot> {
  const separator = opts.separator ?? "/";
  const master = opts.masterUser ?? { user: "admin", password: "master-secret" };
  const dir = mkdtempSync(join(tmpdir(), `automigrate-dovecot-${opts.label ?? "x"}-`));
  // Dovecot's unprivileged auth/login processes must be able to read the instance files.
  chmodSync(dir, 0o755);
  const mailRoot = join(dir, "mail");
  mkdirSync(mailRoot, { mode: 0o755 });
  if (IS_ROOT) chownSync(mailRoot, MAIL_UID, MAIL_GID);
  const passwdPath = join(dir, "passwd");
  const mastersPath = join(dir, "masters");
  writeFileSync(passwdPath, "", { mode: 0o644 });
  writeFileSync(mastersPath, `${master.user}:${hashPassword(master.password)}\n`, { mode: 0o644 });
  const logPath = join(dir, "dovecot.log");
  const port = await freePort();
  const smtpPort = opts.smtp ? await freePort() : undefined;
  const lmtpPort = opts.lmtp ? await freePort() : undefined;
  const listen = opts.listen ?? "127.0.0.1";
  const me = spawnSync("id", ["-un"], { encoding: "utf8" }).stdout.trim();
  const uid = IS_ROOT ? MAIL_UID : process.getuid!();
  const gid = IS_ROOT ? MAIL_GID : process.getgid!();
  // listescape: names may hold the other separator ("Q1/Q2" on ".", "v1.2" on "/"), as on Courier or Cyrus
  const plugins = ["listescape", opts.maxMailSize || opts.quotaStorage ? "quota" : ""].filter(Boolean);
  const conf = `# generated by automigrate's test fixture
base_dir = ${dir}/run
instance_name = automigrate-${port}
state_dir = ${dir}/state
log_path = ${logPath}
info_log_path = ${logPath}
protocols = imap${smtpPort ? " submission" : ""}${lmtpPort ? " lmtp" : ""}
listen = ${listen}
ssl = no
disable_plaintext_auth = ${opts.disablePlaintextAuth ? "yes" : "no"}
hostname = ${opts.label ?? "dovecot"}.automigrate.test
${smtpPort ? `submission_relay_host = ${listen}
submission_relay_port = 9
` : ""}
auth_mechanisms = plain login${opts.oauth2 ? ` ${opts.oauth2.mechanisms ?? "xoauth2 oauthbearer"}` : ""}
${opts.trustedNetworks ? `login_trusted_networks = ${opts.trustedNetworks}\n` : ""}
auth_master_user_separator = *
auth_verbose = yes
login_log_format_elements = user=<%u> method=%m rip=%r lip=%l mpid=%e %c session=<%{session}> orig_user=<%{orig_user}> auth_user=<%{auth_user}>
mail_location = ${opts.mailFormat ?? "maildir"}:${mailRoot}/%d/%n
${opts.mailFsync ? `mail_fsync = ${opts.mailFsync}\n` : ""}mail_uid = ${uid}
mail_gid = ${gid}
first_valid_uid = ${Math.min(uid, MAIL_UID)}
${IS_ROOT ? "" : `default_login_user = ${me}\ndefault_internal_user = ${me}\n`}mail_plugins = $mail_plugins ${plugins.join(" ")}
protocol imap {
  mail_max_userip_connections = 100
${opts.capability ? `  imap_capability = ${opts.capability}
` : ""}}
${opts.maxMailSize || opts.quotaStorage ? `plugin {\n  quota = maildir:User quota\n${opts.maxMailSize ? `  quota_max_mail_size = ${opts.maxMailSize}\n` : ""}${opts.quotaStorage ? `  quota_rule = *:storage=${opts.quotaStorage}\n` : ""}}\n` : ""}
passdb {
  driver = passwd-file
  args = ${mastersPath}
  master = yes
  result_success = continue
}
passdb {
  driver = passwd-file
  args = username_format=%u ${passwdPath}
}
${opts.checkpassword ? `passdb {\n  driver = checkpassword\n  args = ${opts.checkpassword}\n}\n` : ""}${opts.oauth2 ? oauth2Passdbs(dir, opts.oauth2) : ""}${opts.luaPassdb ? `passdb {\n  driver = lua\n  args = file=${dir}/passdb.lua\n}\n` : ""}userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${mailRoot}/%d/%n
}
service imap-login {
  inet_listener imap {
    address = ${listen}
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
${smtpPort ? `service submission-login {\n  inet_listener submission {\n    address = ${listen}\n    port = ${smtpPort}\n  }\n}\n` : ""}${lmtpPort ? `service lmtp {\n  inet_listener lmtp {\n    address = ${listen}\n    port = ${lmtpPort}\n  }\n}\n` : ""}service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
${namespaceBlock(separator, opts.specialUse ?? true)}`;
  // Dovecot 2.3 passes no parameters to a Lua passdb: a two-line file names the socket
  if (opts.luaPassdb) writeFileSync(join(dir, "passdb.lua"), `automigrate_socket = ${JSON.stringify(opts.luaPassdb.socket)}\ndofile(${JSON.stringify(opts.luaPassdb.file)})\n`, { mode: 0o644 });
  const confPath = join(dir, "dovecot.conf");
  writeFileSync(confPath, conf, { mode: 0o644 });
  mkdirSync(join(dir, "state"), { mode: 0o755 });

  const proc = spawnServer(`Dovecot ${confPath}`, dovecotBinary() ?? "dovecot", ["-F", "-c", confPath]);
  let stderr = "";
  proc.stderr?.on("data", (d) => (stderr += d.toString()));
  try {
    const failure = (p: number) => () => {
      let log = "";
      try {
        log = readFileSync(logPath, "utf8").slice(-2000);
      } catch {}
      return `Dovecot did not answer on ${listen}:${p} (exit ${proc.exitCode}). Log tail:\n${log}`;
    };
    await waitForGreeting(listen, port, proc, "* OK", failure(port));
    if (smtpPort) await waitForGreeting(listen, smtpPort, proc, "220", failure(smtpPort));
    if (lmtpPort) await waitForGreeting(listen, lmtpPort, proc, "220", failure(lmtpPort));
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }

  const instance: Dovecot = {
    host: listen,
    port,
    smtpPort,
    lmtpPort,
    dir,
    passwdPath,
    logPath,
    separator,
    master,
    maildir: (user) => {
      const [local, domain] = user.split("@");
      return join(mailRoot, domain ?? "", local ?? "");
    },
    addUser: (u) => appendFileSync(passwdPath, `${u.user}:${hashPassword(u.password)}\n`),
    stop: async () => {
      await stopSpawned(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  appendFileSync(passwdPath, (opts.users ?? []).map((u) => `${u.user}:${hashPassword(u.password)}\n`).join(""));
  return instance;
}

export { stopServer } from "./processes.ts";

/** passdb blocks for SASL XOAUTH2/OAUTHBEARER (Dovecot hands the bearer token over as the password). */
function oauth2Passdbs(dir: string, o: NonNullable<DovecotOptions["oauth2"]>): string {
  const ext = join(dir, "dovecot-oauth2.conf.ext");
  writeFileSync(ext, `introspection_mode = post\nintrospection_url = ${o.introspectUrl}\nforce_introspection = yes\nusername_attribute = username\nactive_attribute = active\nactive_value = true\n`, { mode: 0o644 });
  let app = "";
  if (o.appCheck) {
    // a copy in the instance's directory: Dovecot's auth process may not reach the checkout
    const script = join(dir, "oauth-app-checkpassword");
    copyFileSync(o.appCheck.script, script);
    chmodSync(script, 0o755);
    app = `passdb {\n  driver = checkpassword\n  mechanisms = xoauth2 oauthbearer\n  args = ${script} ${o.appCheck.introspectUrl}\n}\n`;
  }
  return `passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = ${ext}\n}\n${app}`;
}

/** Runs doveadm against one test instance (e.g. to change a folder's UIDVALIDITY). */
export function doveadm(server: Dovecot, args: string[]): string {
  const r = spawnSync("doveadm", ["-c", join(server.dir, "dovecot.conf"), ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`doveadm ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}
