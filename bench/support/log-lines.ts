// A daemon's JSON log lines as they come (its stdout), each parsed; other lines are skipped.
import type { Readable } from "node:stream";

export function onLogLines(stream: Readable, each: (entry: Record<string, any>) => void): void {
  let buf = "";
  stream.on("data", (d) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let entry: Record<string, any>;
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      each(entry);
    }
  });
}
