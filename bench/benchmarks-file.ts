// BENCHMARKS.md is written in sections: bench/run.ts writes the file, then each later
// benchmark replaces its own section (from its heading to the next "## " heading) with this
// run's figures, or appends it; the other sections stay as they are.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const FILE = join(import.meta.dir, "..", "BENCHMARKS.md");

/** `text` with the section starting at `heading` replaced by (or appended as) `section` (pure). */
export function replaceSection(text: string, heading: string, section: string): string {
  const lines = text.replace(/\s+$/, "").split("\n");
  const start = lines.indexOf(heading);
  const body = section.replace(/\s+$/, "").split("\n");
  if (start < 0) return `${[...lines, "", ...body].join("\n")}\n`;
  let end = lines.findIndex((l, i) => i > start && l.startsWith("## "));
  if (end < 0) end = lines.length;
  const after = lines.slice(end);
  return `${[...lines.slice(0, start), ...body, ...(after.length ? ["", ...after] : [])].join("\n")}\n`;
}

/** Replaces (or appends) the section starting at `heading`; `section` starts with it. */
export function writeSection(heading: string, section: string): void {
  writeFileSync(FILE, replaceSection(readFileSync(FILE, "utf8"), heading, section));
}
