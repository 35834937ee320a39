// An admin's program run by automigrate (the external application per user, the alerts
// command): an argv (no shell), its own environment, text on stdin, a timeout after which the
// whole process group is killed, and the last lines of stderr when it fails.
import { spawn } from "node:child_process";

export interface ProgramRun {
  argv: string[];
  env: Record<string, string>;
  cwd?: string;
  timeoutMs: number;
}

export interface ProgramResult {
  status: "done" | "failed";
  exitCode: number | null;
  durationMs: number;
  /** The last lines of stderr (failed runs). */
  stderrTail?: string;
}

const TAIL_BYTES = 4096;

/** Runs the program to its end (or its timeout); never rejects: a program that cannot start is a failed result. */
export function runProgram(run: ProgramRun, stdin: string): Promise<ProgramResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let stderr = "";
    let timedOut = false;
    const child = spawn(run.argv[0]!, run.argv.slice(1), { cwd: run.cwd, env: run.env, stdio: ["pipe", "ignore", "pipe"], detached: true });
    const finish = (exitCode: number | null, extra?: string) => {
      clearTimeout(timer);
      const tail = [...stderr.trim().split("\n").slice(-5), ...(extra ? [extra] : [])].filter(Boolean).join("\n");
      resolve({ status: exitCode === 0 && !timedOut ? "done" : "failed", exitCode, durationMs: Date.now() - started, stderrTail: exitCode === 0 && !timedOut ? undefined : tail });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL"); // the whole process group, children included
      } catch {}
    }, run.timeoutMs);
    child.stderr!.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString("utf8")).slice(-TAIL_BYTES);
    });
    child.stdin!.on("error", () => {}); // a program that does not read stdin
    child.stdin!.end(stdin);
    child.on("error", (e) => finish(null, `could not start ${run.argv[0]}: ${e.message}`));
    child.on("close", (code) => finish(code, timedOut ? `killed after ${run.timeoutMs / 1000}s (timeout)` : undefined));
  });
}
