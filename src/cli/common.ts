// Shared pieces of the CLI commands: output, exit codes, the home directory.
import type { Command } from "commander";
import { resolveHome } from "../home.ts";

export const EXIT = { ok: 0, failed: 1, usage: 2, partial: 3 } as const;

export function out(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : text + "\n");
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
