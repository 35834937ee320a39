// Real Postfix instances for the tests (Debian's `postfix`, its master in the foreground with
// `postfix -c <dir> start-fg`): each with its own config directory, queue, data directory,
// log file (maillog_file) and SMTP port on 127.0.0.1; no system configuration read or
// written, no DNS. Used as the new server's MX (routing through the daemon's socketmap) and
// as the old server's MX (delivering into the old Dovecot over LMTP), and a tiny SMTP client
// to send mail into them.
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForGreeting } from "../../tui/servers/dovecot.ts";
import { remember, spawnServer } from "../../tui/servers/processes.ts";
import { waitFor } from "./daemon.ts";

export interface Postfix {
  host: string;
  port: number;
  dir: string;
  logPath: string;
  /** postconf -e name=value..., then reload. */
  set(...settings: string[]): void;
  /** postqueue -f: deliver what is queued now. */
  flush(): void;
  /** Queue IDs of what waits in the queue (deferred or active). */
  queued(): string[];
  stop(): Promise<void>;
}

function idOf(name: string): { uid: number; gid: number } {
  const r = spawnSync("id", ["-u", name], { encoding: "utf8" });
  const g = spawnSync("id", ["-g", name], { encoding: "utf8" });
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function run(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * A Postfix that relays mail for `relayDomains` by `transportMaps` (e.g.
 * "socketmap:unix:/run/a.sock:transport", or a texthash file written from `transportLines`).
 */
export async function startPostfix(opts: { label: string; relayDomains: string[]; transportMaps?: string; transportLines?: string[]; settings?: string[] }): Promise<Postfix> {
  const dir = mkdtempSync(join(tmpdir(), `automigrate-postfix-${opts.label}-`));
  chmodSync(dir, 0o755);
  const conf = join(dir, "conf");
  for (const d of [conf, join(dir, "spool"), join(dir, "data")]) mkdirSync(d, { recursive: true, mode: 0o755 });
  const postfixUser = idOf("postfix");
  chownSync(join(dir, "data"), postfixUser.uid, postfixUser.gid);
  const port = await freePort();
  const logPath = join(dir, "maillog");
  let transport = opts.transportMaps;
  if (opts.transportLines) {
    writeFileSync(join(conf, "transport"), opts.transportLines.join("\n") + "\n", { mode: 0o644 });
    transport = `texthash:${join(conf, "transport")}`;
  }
  writeFileSync(
    join(conf, "main.cf"),
    [
      "compatibility_level = 3.6",
      `queue_directory = ${join(dir, "spool")}`,
      `data_directory = ${join(dir, "data")}`,
      "mail_owner = postfix",
      "setgid_group = postdrop",
      "inet_interfaces = 127.0.0.1",
      "inet_protocols = ipv4",
      `myhostname = ${opts.label}.automigrate.test`,
      "mydestination =",
      `relay_domains = ${opts.relayDomains.join(", ")}`,
      "mynetworks = 127.0.0.0/8",
      `maillog_file = ${logPath}`,
      // (Postfix writes a log file only under these prefixes)
      `maillog_file_prefixes = ${dir}`,
      "smtp_dns_support_level = disabled",
      "lmtp_dns_support_level = disabled",
      // retries of deferred mail come when the test asks (postqueue -f), not on Postfix's clock
      "queue_run_delay = 3600s",
      "minimal_backoff_time = 3600s",
      "maximal_backoff_time = 3600s",
      ...(transport ? [`transport_maps = ${transport}`] : []),
      ...(opts.settings ?? []),
    ].join("\n") + "\n",
    { mode: 0o644 },
  );
  // Debian's master.cf, with smtpd on our port, and no chroot (the queue is ours)
  const master = readFileSync("/usr/share/postfix/master.cf.dist", "utf8")
    .split("\n")
    .map((l) => (/^smtp\s+inet\s/.test(l) ? `127.0.0.1:${port} inet n - n - - smtpd` : l.replace(/^(\S+\s+\S+\s+\S+\s+\S+\s+)y(\s)/, "$1n$2")))
    .join("\n");
  writeFileSync(join(conf, "master.cf"), master, { mode: 0o644 });
  run(["postfix", "-c", conf, "check"]);
  const proc = spawnServer(`Postfix ${conf}`, "postfix", ["-c", conf, "start-fg"]);
  let stderr = "";
  proc.stderr?.on("data", (d) => (stderr += d.toString()));
  // the master puts itself in a session of its own: it is stopped by `postfix stop` (and its pid)
  const masterPid = () => {
    try {
      return Number(readFileSync(join(dir, "spool", "pid", "master.pid"), "utf8").trim());
    } catch {
      return 0;
    }
  };
  const stopMaster = async () => {
    const pid = masterPid();
    spawnSync("postfix", ["-c", conf, "stop"], { stdio: "ignore" });
    if (pid) {
      await waitFor(() => !existsSync(`/proc/${pid}`), 10_000, "Postfix's master to stop").catch(() => {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      });
    }
    try {
      process.kill(-proc.pid!, "SIGKILL");
    } catch {}
  };
  const forget = remember(`Postfix ${conf}`, () => {
    const pid = masterPid();
    if (pid) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
  }, stopMaster);
  await waitForGreeting("127.0.0.1", port, proc, "220", () => {
    let log = "";
    try {
      log = readFileSync(logPath, "utf8").slice(-2000);
    } catch {}
    return `Postfix did not answer on 127.0.0.1:${port}: ${stderr}\n${log}`;
  });
  return {
    host: "127.0.0.1",
    port,
    dir,
    logPath,
    set: (...settings) => {
      run(["postconf", "-c", conf, "-e", ...settings]);
      run(["postfix", "-c", conf, "reload"]);
    },
    flush: () => void run(["postqueue", "-c", conf, "-f"]),
    queued: () => {
      const out = spawnSync("postqueue", ["-c", conf, "-j"], { encoding: "utf8" }).stdout;
      return out
        .split("\n")
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { queue_id: string }).queue_id);
    },
    stop: async () => {
      await forget();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends one message over SMTP (RFC 5321): EHLO, MAIL, RCPT, DATA; resolves with the server's 250 after DATA. */
export async function sendMail(server: { host: string; port: number }, from: string, to: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: server.host, port: server.port });
    s.setTimeout(20_000, () => {
      s.destroy();
      reject(new Error(`SMTP to ${server.host}:${server.port} timed out`));
    });
    const steps = [`EHLO client.automigrate.test`, `MAIL FROM:<${from}>`, `RCPT TO:<${to}>`, "DATA", `${body.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..")}\r\n.`, "QUIT"];
    const expect = ["220", "250", "250", "250", "354", "250", "221"];
    let buf = "";
    let step = 0;
    let accepted = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      // a reply is complete at a line "NNN text" (not "NNN-text")
      for (let m = /^(\d{3}) .*\r\n/m.exec(buf); m; m = /^(\d{3}) .*\r\n/m.exec(buf)) {
        const reply = buf.slice(0, m.index + m[0].length);
        buf = buf.slice(m.index + m[0].length);
        if (m[1] !== expect[step]) {
          s.destroy();
          return reject(new Error(`SMTP: expected ${expect[step]}, got ${reply.trim()} (after ${step ? steps[step - 1]!.slice(0, 60) : "connect"})`));
        }
        if (step === 5) accepted = reply.trim();
        if (step === steps.length) {
          s.end();
          return resolve(accepted);
        }
        s.write(`${steps[step]}\r\n`);
        step++;
      }
    });
    s.on("error", reject);
  });
}
