// A real `automigrate daemon` process for tests, and its control socket.
import { readFileSync } from "node:fs";
import { homePaths } from "../../src/home.ts";
import { join } from "node:path";
import { ImapFlow } from "imapflow";
import { CLI } from "./harness.ts";
import { stagedInstall } from "./install.ts";
import { remember } from "../../tui/servers/processes.ts";
import type { Dovecot } from "./dovecot.ts";

export interface DaemonProc {
  proc: ReturnType<typeof Bun.spawn>;
  output: () => string;
  status: () => Promise<any>;
  post: (path: string, body?: unknown) => Promise<any>;
  /** SIGTERM; resolves to the exit code. */
  stop: () => Promise<number | null>;
  kill9: () => Promise<void>;
}

/** A system user to run the daemon as (setpriv: no capabilities, no way back to root). */
export interface RunAs {
  uid: number;
  gid: number;
  groups: number[];
}

export async function startDaemon(home: string, opts: { as?: RunAs } = {}): Promise<DaemonProc> {
  const as = opts.as;
  // another user runs the installed layout (staged world-readable), never the checkout
  const argv = [as ? stagedInstall().cli : CLI, "--home", home, "daemon"];
  const proc = Bun.spawn(as ? ["setpriv", `--reuid=${as.uid}`, `--regid=${as.gid}`, `--groups=${as.groups.join(",") || as.gid}`, "--inh-caps=-all", "--", ...argv] : argv, { stdout: "pipe", stderr: "pipe", env: as ? { ...process.env, HOME: home } : process.env });
  const forget = remember(`automigrate daemon --home ${home}`, () => proc.kill("SIGKILL"), async () => {
    if (proc.exitCode === null) {
      proc.kill("SIGKILL");
      await proc.exited;
    }
  });
  void proc.exited.then(() => forget());
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) out += dec.decode(chunk);
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>);
  void pump(proc.stderr as ReadableStream<Uint8Array>);
  const sock = homePaths(home).controlSocket;
  const call = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(`http://automigrate${path}`, { ...init, unix: sock } as RequestInit);
    return r.json();
  };
  const d: DaemonProc = {
    proc,
    output: () => out,
    status: () => call("/status"),
    post: (path, body) => call(path, { method: "POST", body: JSON.stringify(body ?? {}) }),
    stop: async () => {
      proc.kill("SIGTERM");
      return proc.exited;
    },
    kill9: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`daemon exited ${proc.exitCode}:\n${out}`);
    try {
      // "the daemon is starting" (503) until its settings, queue and database are there
      return !(await d.status()).error;
    } catch {
      return false;
    }
  }, 15_000, "the daemon's control socket");
  return d;
}

/** For a wait's `.catch`: the same failure, with the daemon's output so far appended. */
export function withDaemonOutput(d: Pick<DaemonProc, "output">): (e: unknown) => never {
  return (e) => {
    throw new Error(`${(e as Error).message}\ndaemon:\n${d.output()}`);
  };
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** The user logs in to a server with their own password, as a mail client would. */
export async function userLogin(server: Dovecot, user: string, password = "user-pw"): Promise<void> {
  const c = new ImapFlow({ host: server.host, port: server.port, secure: false, logger: false, auth: { user, pass: password } });
  c.on("error", () => {});
  await c.connect();
  await c.logout();
}

/**
 * The account's state file as the daemon left it. One open and read (readFileSync): the
 * daemon replaces the file by rename, and a read must not mix two versions.
 */
export async function accountState(home: string, user: string): Promise<any> {
  try {
    return JSON.parse(readFileSync(join(home, "state", "accounts", `${user}.json`), "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

export { pausedQueue } from "../../bench/support/queue.ts";
