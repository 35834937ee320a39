// The last line of defence against one bad input or one dropped connection killing a long-
// running process: a promise rejection or exception that nothing handled is a bug, so it is
// reported (with its stack) and counted, and the process goes on. The job that hit it fails
// through its own error path; the others are not touched. The entry point installs it once;
// the daemon and the console say where the report goes (its log, its status line).
import { errorText } from "./errors.ts";

export interface BackstopReport {
  kind: "unhandledRejection" | "uncaughtException";
  error: string;
  stack?: string;
}

let reporter: (r: BackstopReport) => void = (r) => process.stderr.write(`automigrate: BUG (${r.kind}, the process goes on): ${r.error}\n${r.stack ?? ""}\n`);
let installed = false;
let count = 0;

export function installBackstop(): void {
  if (installed) return;
  installed = true;
  const report = (kind: BackstopReport["kind"]) => (e: unknown) => {
    count++;
    try {
      reporter({ kind, error: errorText(e), stack: e instanceof Error ? e.stack : undefined });
    } catch {}
  };
  process.on("unhandledRejection", report("unhandledRejection"));
  process.on("uncaughtException", report("uncaughtException"));
}

export function setBackstopReporter(r: (report: BackstopReport) => void): void {
  reporter = r;
}

/** How many unhandled errors this process has survived (the daemon's status shows it). */
export function backstopCount(): number {
  return count;
}
