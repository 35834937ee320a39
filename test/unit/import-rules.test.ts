// The rooms of the house, kept apart by their imports (README "Architecture"):
//   - product code (src/, daemon/, tui/, bin/) and the benchmarks never import the tests'
//     support (test/): the demo's servers are the product's own (tui/servers/), the
//     benchmarks have bench/support/;
//   - the core (src/) never imports the process or the terminal (daemon/, tui/, bin/);
//   - only the IMAP adapter (src/mailstore/imap/) imports imapflow or its wire code: the engine
//     knows the mail-store port, nothing of IMAP;
//   - a console screen (tui/views/) is given the Console (tui/console.ts): it never reaches
//     into the frame (tui/app.ts) nor the daemon's process (daemon/).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

function files(dir: string): string[] {
  return [...new Bun.Glob("**/*.ts").scanSync({ cwd: join(ROOT, dir), absolute: true })];
}

/** Every import of a file: the module specifier, resolved to a path from the root when relative. */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"\n;]*?(?:from\s*)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g)) {
    const spec = m[1] ?? m[2]!;
    out.push(spec.startsWith(".") ? relative(ROOT, resolve(dirname(file), spec)) : spec);
  }
  return out;
}

function violations(dirs: string[], forbidden: (imported: string, file: string) => boolean): string[] {
  const out: string[] = [];
  for (const d of dirs) {
    for (const f of files(d)) {
      for (const i of importsOf(f, readFileSync(f, "utf8"))) if (forbidden(i, relative(ROOT, f))) out.push(`${relative(ROOT, f)} imports ${i}`);
    }
  }
  return out;
}

describe("the import rules", () => {
  test("the scan reads imports of each shape", () => {
    expect(importsOf(join(ROOT, "src", "x.ts"), `import a from "./a.ts";\nimport type { B } from "../b.ts";\nexport * from "./c.ts";\nconst d = await import("./d.ts");\nimport "side-effect";`)).toEqual(["src/a.ts", "b.ts", "src/c.ts", "src/d.ts", "side-effect"]);
  });

  test("product code and benchmarks never import the tests' support", () => {
    expect(violations(["src", "daemon", "tui", "bin", "bench"], (i) => i.startsWith("test/") || i.startsWith("lab/"))).toEqual([]);
  });

  test("the core never imports the daemon, the console or the entry points", () => {
    expect(violations(["src"], (i) => /^(daemon|tui|bin)\//.test(i))).toEqual([]);
  });

  test("only the IMAP adapter imports imapflow or the IMAP wire code", () => {
    const adapter = (f: string) => f.startsWith("src/mailstore/imap/");
    expect(violations(["src", "daemon", "tui", "bin"], (i, f) => !adapter(f) && (i === "imapflow" || (i.startsWith("src/mailstore/imap/") && !/\/(store|opener)\.ts$/.test(i))))).toEqual([]);
    // and the engine does not even know the adapter is there: it is handed an opener
    expect(violations(["src/migrate"], (i) => i.startsWith("src/mailstore/imap/") || i === "imapflow")).toEqual([]);
  });

  test("a console screen knows the Console, not the frame or the daemon's process", () => {
    expect(violations(["tui/views"], (i) => i === "tui/app.ts" || i.startsWith("daemon/"))).toEqual([]);
    // and the scan sees the screens at all
    expect(files("tui/views").length).toBeGreaterThanOrEqual(5);
  });
});
