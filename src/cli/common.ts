// Shared pieces of the CLI commands: output, exit codes, the home directory.
import { writeSync } from "node:fs";
import type { Command } from "commander";
import { resolveHome } from "../home.ts";

export const EXIT = { ok: 0, failed: 1, usage: 2, partial: 3 } as const;

/**
 * Writes all of `text` to a file descriptor before returning: a command's output reaches a
 * slow pipe whole even though the process exits right after (process.stdout.write may still
 * hold data when process.exit runs). A non-blocking pipe that is full is waited for.
 */
export function writeAll(fd: number, text: string): void {
  let buf = Buffer.from(text);
  while (buf.length) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/** One line (or block) of a command's output on stdout. */
export function out(text: string): void {
  writeAll(1, text.endsWith("\n") ? text : text + "\n");
}

/** One line of diagnostics on stderr. */
export function err(text: string): void {
  writeAll(2, text.endsWith("\n") ? text : text + "\n");
}

export function json(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** Settings with secrets left out (password files are paths, not secrets, and stay). */
export function redact<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (k, v) => (/^(pass|password|secret|token|key)$/i.test(k) ? undefined : v)));
}

export function homeOf(cmd: Command): string {
  return resolveHome({ home: cmd.optsWithGlobals().home });
}
