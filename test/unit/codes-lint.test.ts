// Decisions are made on codes, never on message text: a small lint over the product's source.
// (Every AutomigrateError carries a code: its constructor requires one, so the type check
// enforces that part.) A line that only formats text may say so with a "text-ok" comment.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

/** What deciding on words looks like. */
const TEXT_DECISIONS: RegExp[] = [
  /\.(message|headline|responseText)\s*(===|!==)/,
  /\.(message|headline|reason|responseText)\s*\??\.\s*(includes|startsWith|endsWith|match)\(/,
  /\.test\([^)]*\b(message|errorText\(|responseText|headline)\b/,
  /\.startsWith\((ENABLE_REFUSED|LDAP_SYNC_REFUSED)\)/,
  /errorText\([^)]*\)\s*\.\s*(includes|startsWith|match)\(/,
];

export function textDecisions(text: string): string[] {
  return text.split("\n").filter((l) => !l.includes("text-ok") && !/^\s*(\/\/|\*)/.test(l) && TEXT_DECISIONS.some((re) => re.test(l)));
}

describe("decisions on codes, not on words", () => {
  test("the lint sees each shape", () => {
    expect(textDecisions(`if (refusal.headline === ENABLE_REFUSED) x();\nif (p.startsWith(ENABLE_REFUSED)) y();\nif (/cert|tls/i.test(err.message)) z();\nif (e.message.includes("quota")) w();\nif (c.code === "TLS") ok();`)).toHaveLength(4);
  });

  test("nowhere in src/, daemon/, tui/ or bin/", () => {
    const found: string[] = [];
    for (const dir of ["src", "daemon", "tui", "bin"]) {
      for (const f of new Bun.Glob("**/*.ts").scanSync({ cwd: join(ROOT, dir), absolute: true })) {
        for (const line of textDecisions(readFileSync(f, "utf8"))) found.push(`${relative(ROOT, f)}: ${line.trim()}`);
      }
    }
    expect(found).toEqual([]);
  });
});
