// The processes a test (or the demo) starts: each server in its own process group, so that
// stopping it ends everything it started (Dovecot's imap and auth processes, Cyrus's imapd,
// Courier's namespace); every one is remembered until it is stopped. A test file's afterAll
// stops its own; stopAll() (the tests' preload, after every file) stops whatever a failed or
// timed-out test left, and a process that exits without either kills what is left on its way
// out. Nothing a test run starts outlives it.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";

interface Live {
  what: string;
  /** Ends it at once (exit path: synchronous, no waiting). */
  kill: () => void;
  /** Ends it and waits (SIGTERM first where that is how it stops cleanly). */
  stop: () => Promise<void>;
}

const live = new Set<Live>();

/** Remembers something started until `stop` (returned, and also run by stopAll) ends it. */
export function remember(what: string, kill: () => void, stop: () => Promise<void>): () => Promise<void> {
  const entry: Live = {
    what,
    kill,
    stop: async () => {
      try {
        await stop();
      } finally {
        live.delete(entry);
      }
    },
  };
  live.add(entry);
  return entry.stop;
}

function signalGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-proc.pid!, signal);
  } catch {
    try {
      proc.kill(signal);
    } catch {}
  }
}

const running = (proc: ChildProcess) => proc.exitCode === null && proc.signalCode === null;

/** Stops a server: SIGTERM to its process group, SIGKILL to whatever of it is left after 5 s. */
export async function stopServer(proc: ChildProcess): Promise<void> {
  if (running(proc)) {
    const exited = new Promise((r) => proc.once("exit", r));
    signalGroup(proc, "SIGTERM");
    await Promise.race([exited, Bun.sleep(5000)]);
  }
  // children that outlive their master (or a master that ignored SIGTERM)
  signalGroup(proc, "SIGKILL");
}

const forgetting = new WeakMap<ChildProcess, () => Promise<void>>();

/** Starts a server process in a process group of its own, remembered until it is stopped. */
export function spawnServer(what: string, command: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const proc = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"], ...opts, detached: true });
  forgetting.set(proc, remember(what, () => signalGroup(proc, "SIGKILL"), () => stopServer(proc)));
  return proc;
}

/** Stops a server started by spawnServer, and forgets it. */
export async function stopSpawned(proc: ChildProcess): Promise<void> {
  await (forgetting.get(proc) ?? (() => stopServer(proc)))();
}

/** Stops everything still remembered; returns what it stopped (a test left it running). */
export async function stopAll(): Promise<string[]> {
  const left = [...live];
  await Promise.all(left.map((l) => l.stop().catch(() => {})));
  return left.map((l) => l.what);
}

/** A tmux session a test opened, killed with the rest if the test does not. */
export function rememberTmux(name: string): () => Promise<void> {
  const kill = () => void spawnSync("tmux", ["kill-session", "-t", name], { stdio: "ignore" });
  return remember(`tmux session ${name}`, kill, async () => kill());
}

process.on("exit", () => {
  for (const l of live) {
    try {
      l.kill();
    } catch {}
  }
});
