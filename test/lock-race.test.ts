// The lock that keeps two runs of one user apart, raced by many real processes over a
// lock file left by a dead holder (kill -9): never two holders at once.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const LOCK = join(import.meta.dir, "..", "src", "store", "lock-file.ts");

test("12 processes race for a lock a dead process left behind, and each dies holding it: one holder at a time, all get it in turn", async () => {
  const dir = mkdtempSync(join(tmpdir(), "automigrate-lock-"));
  try {
    const path = join(dir, "alice@example.com.lock");
    const dead = Bun.spawnSync(["true"]).pid; // a pid that no longer runs
    writeFileSync(path, String(dead));
    const journal = join(dir, "journal");
    writeFileSync(journal, "");
    const script = join(dir, "racer.ts");
    writeFileSync(
      script,
      `import { appendFileSync } from "node:fs";
import { acquireLock } from ${JSON.stringify(LOCK)};
const release = acquireLock(${JSON.stringify(path)}, { waitMs: 60000, what: "the test" });
appendFileSync(${JSON.stringify(journal)}, "in " + process.pid + "\\n");
await Bun.sleep(30);
appendFileSync(${JSON.stringify(journal)}, "out " + process.pid + "\\n");
// dies holding it, as kill -9 would: the next holder must take over a dead holder's lock
if (process.env.RELEASE) release();
process.exit(0);
`,
    );
    const procs = Array.from({ length: 12 }, (_, i) => Bun.spawn([process.execPath, script], { stderr: "pipe", env: { ...process.env, ...(i % 2 ? { RELEASE: "1" } : {}) } }));
    const codes = await Promise.all(procs.map((p) => p.exited));
    expect(codes).toEqual(Array(12).fill(0));
    const lines = readFileSync(journal, "utf8").trim().split("\n");
    expect(lines).toHaveLength(24);
    for (let i = 0; i < lines.length; i += 2) {
      const [a, pa] = lines[i]!.split(" ");
      const [b, pb] = lines[i + 1]!.split(" ");
      // every "in" is followed by the same process's "out": nobody else was inside
      expect([a, b, pa]).toEqual(["in", "out", pb]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
