// The set-up that first-login tests share: an old Dovecot with the given users, a new one
// whose passdb is its passwd-file then automigrate's first-login front-end (the checkpassword
// helper, or the Lua passdb), and an automigrate home pointing at both (master login on the
// new server, passwd-file provisioning, the new server's log tailed, the first-login socket).
// Dovecot's auth service keeps its default user (as root: "dovecot"), which reaches the
// daemon only through the socket (mode 0660, group dovecot). Domains and the daemon are the
// test's (the front-ends answer "temporary failure" until a daemon listens).
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { userLogin } from "./daemon.ts";
import { startDovecot, type Dovecot } from "./dovecot.ts";
import { runCliOk } from "./harness.ts";
import { stagedInstall } from "./install.ts";

export interface FirstLoginLab {
  /** 0755 temp directory (Dovecot's auth process reaches the socket through it). */
  root: string;
  home: string;
  /** The daemon's first-login socket (firstLogin.socket). */
  socket: string;
  old: Dovecot;
  target: Dovecot;
  /** The new server's passwd-file line of a user, if any. */
  passwdLine: (user: string) => string | undefined;
  stop: () => Promise<void>;
}

export interface LabOptions {
  /** Which Dovecot front-end asks the daemon (default checkpassword). */
  frontEnd?: "checkpassword" | "lua";
  /** The daemon's unprivileged user: the home, the passwd-file and the log are made its own. */
  daemonUser?: { uid: number; gid: number };
}

const IS_ROOT = process.getuid?.() === 0;

function dovecotGroup(): string | undefined {
  return readFileSync("/etc/group", "utf8").split("\n").some((l) => l.startsWith("dovecot:")) ? "dovecot" : undefined;
}

export async function startFirstLoginLab(label: string, oldUsers: { user: string; password: string }[], config: string[] = [], opts: LabOptions = {}): Promise<FirstLoginLab> {
  const root = mkdtempSync(join(tmpdir(), `automigrate-${label}-`));
  chmodSync(root, 0o755);
  const home = join(root, "home");
  const run = join(root, "run");
  mkdirSync(run, { mode: 0o755 });
  const socket = join(run, "auth.socket");
  // Dovecot's auth process (user dovecot) runs the front-end: from the staged install, not the checkout
  const installed = stagedInstall();
  const frontEnd = opts.frontEnd === "lua" ? { luaPassdb: { file: installed.luaPassdb, socket } } : { checkpassword: `${installed.checkpassword} --socket ${socket}` };
  // the old server trusts this host to name the client it checks a password for (IMAP ID)
  const [old, target] = await Promise.all([startDovecot({ label: "old", users: oldUsers, trustedNetworks: "127.0.0.0/8" }), startDovecot({ label: "new", users: [], ...frontEnd })]);
  writeFileSync(join(root, "new.pw"), target.master.password, { mode: 0o600 });
  const group = IS_ROOT ? dovecotGroup() : undefined;
  await runCliOk(home, ["config", "set", `target.host=${target.host}`, `target.port=${target.port}`, "target.tls=none", "target.auth.mode=master", "target.auth.user=admin", `target.auth.passwordFile=${join(root, "new.pw")}`, "provisioning.driver=passwd-file", `provisioning.passwdFile=${target.passwdPath}`, `logins.0.path=${target.logPath}`, `firstLogin.socket=${socket}`, ...(group ? [`firstLogin.socketGroup=${group}`] : []), ...config]);
  if (opts.daemonUser) {
    const { uid, gid } = opts.daemonUser;
    // what the Debian package and the README set up: the daemon owns its home, its runtime
    // directory and the passwd-file it adds accounts to; it reads the login log (group adm
    // on a mail host; here the log is made its own) and the new server's master password
    spawnSync("chown", ["-R", `${uid}:${gid}`, home]);
    // the passwd-file sits in a directory the daemon may write (its temp file and lock go
    // there), readable by Dovecot: the instance directory here, /etc/dovecot/automigrate/ in
    // the README
    for (const p of [run, join(root, "new.pw"), target.dir, target.passwdPath, target.logPath]) chownSync(p, uid, gid);
    chmodSync(home, 0o700);
  }
  return {
    root,
    home,
    socket,
    old,
    target,
    passwdLine: (user) => readFileSync(target.passwdPath, "utf8").split("\n").find((l) => l.startsWith(`${user}:`)),
    stop: async () => {
      await Promise.all([old.stop(), target.stop()]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * A LOGIN from a given local address (127.0.0.x: another client, as Dovecot sees it):
 * "OK", or the server's tagged NO/BAD line.
 */
export async function loginFrom(server: Dovecot, localAddress: string, user: string, password: string): Promise<string> {
  const q = (s: string) => `"${s.replace(/(["\\])/g, "\\$1")}"`;
  return new Promise((resolve, reject) => {
    const s = connect({ host: server.host, port: server.port, localAddress });
    let buf = "";
    let sent = false;
    s.setTimeout(60_000, () => {
      s.destroy();
      reject(new Error(`no answer to LOGIN ${user} from ${localAddress}`));
    });
    s.on("data", (d) => {
      buf += d.toString("latin1");
      if (!sent && buf.includes("\r\n")) {
        sent = true;
        s.write(`a LOGIN ${q(user)} ${q(password)}\r\n`);
      }
      const m = /^a (OK|NO|BAD)(.*)\r\n/m.exec(buf);
      if (m) {
        s.end("b LOGOUT\r\n");
        resolve(m[1] === "OK" ? "OK" : `${m[1]}${m[2]}`);
      }
    });
    s.on("error", reject);
  });
}

/** A login that must fail: the server's answer. */
export async function loginFails(server: Dovecot, user: string, password: string): Promise<string> {
  try {
    await userLogin(server, user, password);
  } catch (e) {
    return (e as { responseText?: string }).responseText ?? (e as Error).message;
  }
  throw new Error(`login of ${user} unexpectedly succeeded`);
}
