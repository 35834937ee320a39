// Real Cyrus IMAP 3.6 instances for the tests, beside Dovecot: Debian's cyrus-imapd conflicts
// with dovecot-imapd as a package, so its dependencies (cyrus-common, sasl2-bin) are
// installed normally and the imapd binary is unpacked aside (scripts/ensure-servers.sh puts
// it in /opt/cyrus-imapd). Each instance has its own directory, sasldb and 127.0.0.1 port;
// "admin" is a Cyrus admin that can act for any user with SASL PLAIN authzid. Mailboxes use
// "." as separator under the "INBOX." namespace prefix (altnamespace: no, as in Debian's
// imapd.conf and most long-running Cyrus servers).
import { spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImapFlow } from "imapflow";
import { freePort, waitForGreeting } from "./dovecot.ts";
import { spawnServer, stopSpawned } from "../../tui/servers/processes.ts";

export const CYRUS_IMAPD = "/opt/cyrus-imapd/usr/lib/cyrus/bin/imapd";
const MASTER = "/usr/lib/cyrus/bin/master";

/** Why Cyrus cannot run here, with the fix; undefined when it can. */
export function cyrusProblem(): string | undefined {
  const missing = [CYRUS_IMAPD, MASTER].filter((f) => !existsSync(f));
  if (spawnSync("sh", ["-c", "command -v saslpasswd2"]).status !== 0) missing.push("saslpasswd2");
  if (missing.length) return `missing ${missing.join(", ")} (npm test installs them as root through scripts/ensure-servers.sh: cyrus-common, sasl2-bin, and cyrus-imapd unpacked into /opt/cyrus-imapd)`;
  return undefined;
}

export interface CyrusUser {
  user: string;
  password: string;
}

export interface Cyrus {
  host: string;
  port: number;
  dir: string;
  separator: ".";
  /** The Cyrus admin (acts for users with SASL PLAIN authzid, like a Dovecot master user). */
  master: CyrusUser;
  stop(): Promise<void>;
}

/** virtdomains "userid": logins and mailboxes are user@domain; off: bare names ("alice"). */
export async function startCyrus(opts: { users: CyrusUser[]; virtdomains?: boolean; label?: string; munge8bit?: boolean }): Promise<Cyrus> {
  const virt = opts.virtdomains ?? true;
  const dir = mkdtempSync(join(tmpdir(), `automigrate-cyrus-${opts.label ?? "x"}-`));
  for (const d of ["conf", "conf/proc", "conf/db", "conf/lock", "spool", "socket"]) mkdirSync(join(dir, d), { recursive: true });
  const port = await freePort();
  const master = { user: "admin", password: "cyrus-admin-pw" };
  const conf = join(dir, "imapd.conf");
  writeFileSync(
    conf,
    `configdirectory: ${dir}/conf
partition-default: ${dir}/spool
admins: ${master.user}
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: ${dir}/sasldb2
sasl_mech_list: PLAIN LOGIN
allowplaintext: yes
virtdomains: ${virt ? "userid" : "off"}
unixhierarchysep: no
altnamespace: no
munge8bit: ${opts.munge8bit === false ? "no" : "yes"}
lmtpsocket: ${dir}/socket/lmtp
idlesocket: ${dir}/socket/idle
notifysocket: ${dir}/socket/notify
syslog_prefix: cyrus-${port}
`,
  );
  writeFileSync(
    join(dir, "cyrus.conf"),
    `START {
  recover cmd="/usr/lib/cyrus/bin/ctl_cyrusdb -r -C ${conf}"
}
SERVICES {
  imap cmd="${CYRUS_IMAPD} -C ${conf}" listen="127.0.0.1:${port}" prefork=0
}
EVENTS {
}
DAEMON {
}
`,
  );
  const saslpasswd = (name: string, password: string, realm?: string) => {
    const r = spawnSync("saslpasswd2", ["-p", "-c", "-f", join(dir, "sasldb2"), ...(realm ? ["-u", realm] : []), name], { input: password });
    if (r.status !== 0) throw new Error(`saslpasswd2 ${name}: ${r.stderr}`);
  };
  saslpasswd(master.user, master.password);
  for (const u of opts.users) {
    const [local, domain] = u.user.split("@");
    if (virt && domain) saslpasswd(local!, u.password, domain);
    else saslpasswd(local!, u.password);
  }
  spawnSync("chown", ["-R", "cyrus:mail", dir]);
  chmodSync(dir, 0o755);
  const proc: ChildProcess = spawnServer(`Cyrus ${conf}`, MASTER, ["-C", conf, "-M", join(dir, "cyrus.conf"), "-p", join(dir, "master.pid")]);
  let stderr = "";
  proc.stderr?.on("data", (d) => (stderr += d.toString()));
  await waitForGreeting("127.0.0.1", port, proc, "* OK", () => `Cyrus did not start on 127.0.0.1:${port} (exit ${proc.exitCode}): ${stderr}`);
  // the users' mailboxes, created by the admin as Cyrus wants (user.<name>[@domain])
  const admin = new ImapFlow({ host: "127.0.0.1", port, secure: false, logger: false, auth: { user: master.user, pass: master.password } });
  admin.on("error", () => {});
  await admin.connect();
  for (const u of opts.users) await admin.mailboxCreate(`user.${virt ? u.user : u.user.split("@")[0]}`);
  await admin.logout();
  return {
    host: "127.0.0.1",
    port,
    dir,
    separator: ".",
    master,
    stop: async () => {
      await stopSpawned(proc);
      // master's children (imapd) end with it
      spawnSync("pkill", ["-f", `${conf}`]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
