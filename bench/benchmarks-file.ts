// BENCHMARKS.md is written in sections: bench/run.ts writes the file, then each later
// benchmark replaces its own section (from its heading to the end) with this run's figures.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const FILE = join(import.meta.dir, "..", "BENCHMARKS.md");

/** Replaces everything from `heading` on (or appends) with `section`, which starts with it. */
export function writeSection(heading: string, section: string): void {
  const before = readFileSync(FILE, "utf8").split(`\n${heading}`)[0]!.trimEnd();
  writeFileSync(FILE, `${before}\n\n${section}`);
}
