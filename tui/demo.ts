// `automigrate demo`: a self-contained tour. Starts an old (Courier-like, "." separator) and
// a new Dovecot on loopback with generated users and awkward folders, the daemon tailing
// the new server's log, and the console; simulated users log in every few seconds so the
// queue fills and drains. Quitting the console stops everything and removes the files.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dovecotBinary, startDovecot, type Dovecot } from "./servers/dovecot.ts";
import { applyAssignments, parseAssignment } from "../src/config/dotted.ts";
import { configSchema, domainSchema } from "../src/config/schema.ts";
import { updateConfig } from "../src/config/store.ts";
import { daemonStatus } from "../src/control-client.ts";
import { runTui } from "./app.ts";
import { TIMEOUTS } from "../src/timeouts.ts";
import type { Endpoint } from "../src/mailstore/endpoints.ts";
import { openStore, openWriter } from "../src/mailstore/imap/store.ts";
import type { AppendMessage } from "../src/mailstore/port.ts";

const DOMAIN = "demo.example";
const USERS = ["ada", "ben", "cleo", "dan", "eve", "fay"].map((n) => `${n}@${DOMAIN}`);
const PASSWORD = "demo-password";
const FOLDERS = ["INBOX.Q1/Q2 Reports", "INBOX.Sent Items", "INBOX.Projects", "INBOX.Projects.Alpha", "INBOX.Déjà vu"];

function message(i: number, user: string): string {
  const body = `Hello ${user.split("@")[0]},\r\n\r\n${"This is generated demo mail. ".repeat(20 + (i % 40))}\r\n`;
  return `From: Colleague ${i} <c${i}@old.example>\r\nTo: ${user}\r\nSubject: Demo message ${i}\r\nMessage-ID: <demo${i}.${user}>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n${body}`;
}

// the demo talks to its servers through the product's own IMAP adapter (the mail-store port)
const endpoint = (s: Dovecot, role: "old" | "new"): Endpoint => ({ role, host: s.host, port: s.port, tls: "none", tlsVerify: false });
const asMaster = (s: Dovecot, user: string) => ({ user: s.master.user, pass: s.master.password, authzid: user });

/** Appends messages to the user's folder on the old server (as its master user). */
async function appendOld(old: Dovecot, user: string, folder: string, messages: AppendMessage[]): Promise<void> {
  const w = await openWriter(endpoint(old, "old"), asMaster(old, user));
  try {
    await w.select(folder);
    for (let i = 0; i < messages.length; i += 50) {
      const r = await w.appendBatch(folder, messages.slice(i, i + 50));
      if (!r.ok) throw new Error(`the demo's old server refused its mail: ${r.reason}`);
    }
  } finally {
    await w.close();
  }
}

async function seedOld(old: Dovecot, user: string, count: number): Promise<void> {
  const s = await openStore(endpoint(old, "old"), asMaster(old, user));
  try {
    for (const f of FOLDERS) await s.create(f, { subscribed: true });
  } finally {
    await s.close();
  }
  const targets = ["INBOX", ...FOLDERS.filter((f) => f !== "INBOX.Projects")];
  for (const [t, folder] of targets.entries()) {
    const mine: AppendMessage[] = [];
    for (let i = t; i < count; i += targets.length) mine.push({ content: Buffer.from(message(i, user)), flags: i % 3 ? ["\\Seen"] : ["$Label1"], internalDate: new Date(Date.UTC(2024, 0, 1 + (i % 300))) });
    await appendOld(old, user, folder, mine);
  }
}

class StoppedWhileStarting extends Error {}

export async function runDemo(): Promise<number> {
  if (!dovecotBinary()) {
    process.stderr.write("automigrate demo needs Dovecot: apt-get install -y dovecot-imapd   (as root, Debian/Ubuntu)\n");
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), "automigrate-demo-"));
  chmodSync(dir, 0o755);
  const home = join(dir, "home");
  const users = USERS.map((user) => ({ user, password: PASSWORD }));
  let old: Dovecot | undefined;
  let target: Dovecot | undefined;
  let daemon: ChildProcess | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  const cleanup = async () => {
    clearInterval(ticker);
    if (daemon && daemon.exitCode === null) {
      const exited = new Promise((r) => daemon!.once("exit", r));
      daemon.kill("SIGTERM");
      await Promise.race([exited, Bun.sleep(TIMEOUTS.demoDaemonStopMs)]);
    }
    await Promise.all([old?.stop(), target?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
  // stopped while starting (Ctrl-C, SIGTERM) before the console is up: the start-up stops at
  // its next step and the finally below removes whatever was started (a clean-up run from the
  // signal itself would miss what a step still in flight starts after it)
  let stopping = false;
  const stopEarly = () => {
    if (stopping) return; // Ctrl-C reaches it twice: from the terminal and from the launcher
    stopping = true;
    process.stderr.write("automigrate demo: stopped while starting; cleaning up ...\n");
  };
  const step = () => {
    if (stopping) throw new StoppedWhileStarting();
  };
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  // after a hang-up the terminal is gone: the console's last reads and writes fail (EIO,
  // thrown from where nobody catches it), and such an error must not end the process
  // before the servers, the daemon and the directory are cleaned up
  let quiet = false;
  const endingQuietly = () => {
    if (quiet) return;
    quiet = true;
    for (const stream of [process.stdin, process.stdout, process.stderr]) stream.on("error", () => {});
    process.on("uncaughtException", () => {});
    process.on("unhandledRejection", () => {});
  };
  for (const sig of signals) process.on(sig, stopEarly);
  try {
    process.stderr.write("automigrate demo: starting an old and a new Dovecot on 127.0.0.1 ...\n");
    // both starts are awaited even when one fails (Ctrl-C reaches the servers too): the
    // clean-up stops whichever did start
    const started = await Promise.allSettled([
      startDovecot({ label: "demo-old", separator: ".", specialUse: { "Sent Items": "\\Sent" }, users }),
      startDovecot({ label: "demo-new", users }),
    ]);
    [old, target] = started.map((r) => (r.status === "fulfilled" ? r.value : undefined));
    for (const r of started) if (r.status === "rejected") throw r.reason;
    if (!old || !target) throw new StoppedWhileStarting();
    step();
    process.stderr.write("automigrate demo: generating mailboxes ...\n");
    await Promise.all(USERS.map((u, i) => seedOld(old!, u, 40 + i * 60)));
    step();
    writeFileSync(join(dir, "old.pw"), old.master.password + "\n", { mode: 0o600 });
    writeFileSync(join(dir, "new.pw"), target.master.password + "\n", { mode: 0o600 });
    const o = old;
    const t = target;
    await updateConfig(home, (c) => {
      const globals = applyAssignments(configSchema, c, [
        `target.host=${t.host}`, `target.port=${t.port}`, "target.tls=none", "target.auth.mode=master", `target.auth.user=${t.master.user}`, `target.auth.passwordFile=${join(dir, "new.pw")}`,
        `logins.0.path=${t.logPath}`, "logins.0.format=dovecot", "workers.total=2", "workers.perOldServer=2",
      ].map(parseAssignment));
      globals.domains[DOMAIN] = applyAssignments(domainSchema, {}, [
        "migration.enabled=true", "migration.continuous=true", `migration.old.host=${o.host}`, `migration.old.imapPort=${o.port}`, "migration.old.imapTls=none",
        "migration.old.auth.mode=master", `migration.old.auth.user=${o.master.user}`, `migration.old.auth.passwordFile=${join(dir, "old.pw")}`, "migration.old.auth.method=separator",
      ].map(parseAssignment));
      return globals;
    });
    step();
    daemon = spawn(process.execPath, [...process.execArgv, process.argv[1]!, "--home", home, "daemon"], { stdio: ["ignore", "ignore", "ignore"] });
    for (let i = 0; i < 100 && !(await daemonStatus(home, 500)); i++) await Bun.sleep(100);
    step();
    // simulated users: a real IMAP login on the new server every few seconds, and now and
    // then new mail on the old one for the continuous passes to pick up
    let n = 0;
    ticker = setInterval(() => {
      const user = USERS[n % USERS.length]!;
      n++;
      void (async () => {
        if (n > USERS.length && n % 2 === 0) await appendOld(o, user, "INBOX", [{ content: Buffer.from(message(1000 + n, user)), flags: [], internalDate: new Date() }]);
        // the user's own login on the new server (what the daemon notices in its log)
        const s = await openStore(endpoint(t, "new"), { user, pass: PASSWORD });
        await s.close();
      })().catch(() => {});
    }, 3000);
    // from here the console handles the signals (it restores the terminal and returns); a
    // signal is also the end of the session, and what the terminal says no longer matters
    for (const sig of signals) process.off(sig, stopEarly);
    for (const sig of signals) process.once(sig, endingQuietly);
    return await runTui(home);
  } catch (e) {
    // stopped: whatever failed after that (Ctrl-C also reaches the servers) is its consequence
    if (stopping || e instanceof StoppedWhileStarting) return 130;
    throw e;
  } finally {
    for (const sig of signals) process.off(sig, stopEarly);
    // a hang-up reaches this process twice (tmux or sshd's SIGHUP, then the launcher's
    // SIGTERM): the second must not end it halfway through the clean-up, leaving the
    // servers and the daemon behind. The clean-up is bounded in time.
    const finishing = () => {};
    for (const sig of signals) process.on(sig, finishing);
    endingQuietly();
    await cleanup();
    for (const sig of signals) process.off(sig, finishing);
    process.stderr.write(`automigrate demo: stopped the servers and the daemon, and removed:\n${dir}\n`);
  }
}
