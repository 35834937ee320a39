// Real Courier-IMAP 5.0 instances for the tests, beside Dovecot and Cyrus. Debian's
// courier-imap conflicts with dovecot-imapd as a package: its dependencies (courier-base,
// courier-authdaemon, courier-authlib-userdb) are installed normally and the package itself is
// unpacked aside (scripts/ensure-servers.sh puts it in /opt/courier-imap). Courier's
// authdaemon paths (/etc/courier, /run/courier/authdaemon) are fixed at build time, so each
// instance runs in its own mount and PID namespace (`unshare -m -p`) with its own config,
// userdb and authdaemon socket bound over those paths; killing the namespace's first process
// ends them all. Courier has no master user: tests log in with each user's own password.
// Its SELECT/EXAMINE reply carries no [UIDNEXT], and it offers no MULTIAPPEND, LITERAL+,
// SPECIAL-USE, CONDSTORE or LIST-STATUS: the server the engine must not take for Dovecot.
import { spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForGreeting } from "./dovecot.ts";
import { spawnServer, stopSpawned } from "../../tui/servers/processes.ts";

const PREFIX = "/opt/courier-imap";
export const COURIER_IMAPD = `${PREFIX}/usr/bin/imapd`;
const IMAPLOGIN = `${PREFIX}/usr/lib/courier/courier/imaplogin`;
const AUTHDAEMOND = "/usr/lib/courier/courier-authlib/authdaemond";

/** Why Courier cannot run here, with the fix; undefined when it can. */
export function courierProblem(): string | undefined {
  const missing = [COURIER_IMAPD, IMAPLOGIN, AUTHDAEMOND, "/usr/sbin/couriertcpd", "/usr/sbin/makeuserdb", "/usr/sbin/userdbpw", "/usr/bin/maildirmake.courier"].filter((f) => !existsSync(f));
  if (missing.length) return `missing ${missing.join(", ")} (npm test installs them as root through scripts/ensure-servers.sh: courier-authdaemon, courier-authlib-userdb, courier-base, and courier-imap unpacked into /opt/courier-imap)`;
  const ns = spawnSync("unshare", ["-m", "-p", "--fork", "--propagation", "private", "true"], { encoding: "utf8" });
  if (ns.status !== 0) return `each Courier instance runs in its own mount and PID namespace, and "unshare -m -p --fork --propagation private true" failed here: ${(ns.stderr || ns.error?.message || "").trim()} (run as root; in a chroot, bind-mount its root onto itself first, as scripts/test-fresh.sh does)`;
  return undefined;
}

export interface CourierUser {
  /** The login name on Courier ("alice" or "alice@example.com"). */
  login: string;
  password: string;
  /** false: the login is known to authdaemon but its maildir does not exist. */
  mailbox?: boolean;
}

export interface Courier {
  host: string;
  port: number;
  dir: string;
  separator: ".";
  /** Courier has no master user: each user logs in with their own password. */
  directLogin(login: string): { user: string; pass: string };
  maildir(login: string): string;
  stop(): Promise<void>;
}

function uidOf(name: string): number {
  return Number(spawnSync("id", ["-u", name], { encoding: "utf8" }).stdout.trim());
}

export async function startCourier(opts: { users: CourierUser[]; label?: string }): Promise<Courier> {
  const dir = mkdtempSync(join(tmpdir(), `automigrate-courier-${opts.label ?? "x"}-`));
  chmodSync(dir, 0o755);
  for (const d of ["etc", "run/authdaemon", "mail"]) mkdirSync(join(dir, d), { recursive: true });
  const port = await freePort();
  // the mail owner: Debian's "mail" system user (Courier refuses to run a mailbox as root)
  const uid = uidOf("mail");
  const gid = Number(spawnSync("id", ["-g", "mail"], { encoding: "utf8" }).stdout.trim());
  writeFileSync(join(dir, "etc", "authdaemonrc"), `authmodulelist="authuserdb"\ndaemons=2\nauthdaemonvar=/run/courier/authdaemon\nDEBUG_LOGIN=0\nDEFAULTOPTIONS=""\nLOGGEROPTS=""\n`);
  const passwords = new Map<string, string>();
  const maildir = (login: string) => join(dir, "mail", login.replaceAll("@", "_at_"), "Maildir");
  const lines: string[] = [];
  for (const u of opts.users) {
    passwords.set(u.login, u.password);
    const hash = spawnSync("/usr/sbin/userdbpw", ["-md5"], { input: `${u.password}\n${u.password}\n`, encoding: "utf8" });
    if (hash.status !== 0) throw new Error(`userdbpw failed: ${hash.stderr}`);
    const home = join(maildir(u.login), "..");
    if (u.mailbox !== false) {
      mkdirSync(home, { recursive: true });
      const r = spawnSync("maildirmake.courier", [maildir(u.login)]);
      if (r.status !== 0) throw new Error(`maildirmake.courier ${u.login}: ${r.stderr}`);
    }
    lines.push(`${u.login}\tuid=${uid}|gid=${gid}|home=${home}|mail=${maildir(u.login)}|systempw=${hash.stdout.trim()}`);
  }
  const userdb = join(dir, "etc", "userdb");
  writeFileSync(userdb, `${lines.join("\n")}\n`, { mode: 0o600 });
  const made = spawnSync("/usr/sbin/makeuserdb", ["-f", userdb]);
  if (made.status !== 0) throw new Error(`makeuserdb failed: ${made.stderr}`);
  spawnSync("chown", ["-R", `${uid}:${gid}`, join(dir, "mail")]);
  // the environment /etc/courier/imapd gives imaplogin in Debian, without the init script
  const env = {
    PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
    IMAP_CAPABILITY: "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE",
    IMAP_KEYWORDS: "1",
    IMAP_ACL: "1",
    IMAP_USELOCKS: "1",
    IMAP_UMASK: "022",
    IMAP_MAILBOX_SANITY_CHECK: "1",
    IMAP_TRASHFOLDERNAME: "Trash",
    IMAP_EMPTYTRASH: "",
    IMAP_IDLE_TIMEOUT: "60",
  };
  const script = join(dir, "start.sh");
  writeFileSync(
    script,
    `set -e
mount --bind ${dir}/etc /etc/courier
mount --bind ${dir}/run /run/courier
( set -a; . /etc/courier/authdaemonrc; exec ${AUTHDAEMOND} ) &
for i in $(seq 50); do [ -S /run/courier/authdaemon/socket ] && break; sleep 0.1; done
exec /usr/sbin/couriertcpd -address=127.0.0.1 -maxprocs=40 -maxperip=40 -nodnslookup -noidentlookup ${port} ${IMAPLOGIN} ${COURIER_IMAPD} Maildir
`,
  );
  mkdirSync("/run/courier", { recursive: true });
  mkdirSync("/etc/courier", { recursive: true });
  // -p --fork --kill-child: the namespace's first process dies with unshare, and every
  // process of the instance (authdaemond, couriertcpd, the imapd sessions) with it
  const proc: ChildProcess = spawnServer(`Courier ${dir}`, "unshare", ["-m", "-p", "--fork", "--kill-child", "--propagation", "private", "sh", script], { env });
  let stderr = "";
  proc.stderr?.on("data", (d) => (stderr += d.toString()));
  await waitForGreeting("127.0.0.1", port, proc, "* OK", () => `Courier did not start on 127.0.0.1:${port} (exit ${proc.exitCode}): ${stderr}`);
  return {
    host: "127.0.0.1",
    port,
    dir,
    separator: ".",
    maildir,
    directLogin: (login) => {
      const pass = passwords.get(login);
      if (pass === undefined) throw new Error(`no Courier user ${login}`);
      return { user: login, pass };
    },
    stop: async () => {
      await stopSpawned(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
