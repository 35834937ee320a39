// kill -9 anywhere, rerun: the target holds exactly the old set — no duplicate, no gap.
// Exact points come from AUTOMIGRATE_TEST_CRASH_AT (the process SIGKILLs itself there);
// random points from a real `kill -9` at random times.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { countAll, expectSameMail } from "./support/compare.ts";
import { migrateJson, runCli, spawnCli, startHarness, type Harness } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed } from "./support/mail.ts";

// a run, its kills and its rerun take 2-3 s on a quiet machine; bun's default of 5 s is too
// short under a full parallel CI run
setDefaultTimeout(60_000);

const POINTS = [
  ["folder-created", 2], // folders being created, nothing copied yet
  ["intent-written", 2], // intent persisted, APPEND not sent
  ["append-mid-batch", 2], // half a MULTIAPPEND on the wire
  ["appended", 3], // APPEND answered OK, state not yet written
  ["committed", 2], // watermark written
] as const;
/** Points where a batch is in flight: the state must show it, so the recovery path really runs. */
const IN_FLIGHT = new Set(["intent-written", "append-mid-batch", "appended"]);
const RANDOM_RUNS = 2;
const users = [...POINTS.map(([p]) => `crash-${p}@example.com`), ...Array.from({ length: RANDOM_RUNS }, (_, i) => `chaos${i}@example.com`)];
const TEMPLATE = "template@example.com";

describe("crash safety", () => {
  let h: Harness;
  let expected: Awaited<ReturnType<typeof digestMailbox>>;
  beforeAll(async () => {
    h = await startHarness({ users: [...users, TEMPLATE] });
    // 250 + 120 + 5 messages: several MULTIAPPEND batches per folder, two folders in parallel
    await seed(h.old, TEMPLATE, [{ path: "Work" }, { path: "Small" }], [
      ...Array.from({ length: 250 }, (_, i) => ({ folder: "INBOX", raw: makeMessage(i, { bodyBytes: 500 + (i % 7) * 300 }), flags: i % 3 ? ["\\Seen"] : [] })),
      ...Array.from({ length: 120 }, (_, i) => ({ folder: "Work", raw: makeMessage(1000 + i) })),
      ...Array.from({ length: 5 }, (_, i) => ({ folder: "Small", raw: makeMessage(2000 + i) })),
    ]);
    // every user gets the same mailbox: a copy of the template's maildir
    for (const u of users) {
      const r = spawnSync("cp", ["-a", h.old.maildir(TEMPLATE), h.old.maildir(u)]);
      expect(r.status).toBe(0);
    }
    expected = await digestMailbox(h.old, TEMPLATE);
    expect(countAll(expected)).toBe(375);
  }, 120_000);
  afterAll(() => h.stop());

  for (const [point, nth] of POINTS) {
    test(`kill -9 at ${point} (#${nth}), then a rerun: exact`, async () => {
      const U = `crash-${point}@example.com`;
      const crashed = await runCli(h.home, ["migrate", U, "--json"], { AUTOMIGRATE_TEST_CRASH_AT: `${point}:${nth}` });
      expect(crashed.signal).toBe("SIGKILL");
      if (IN_FLIGHT.has(point)) {
        const state = JSON.parse(readFileSync(join(h.home, "state", "accounts", `${U}.json`), "utf8"));
        expect(Object.values(state.folders).some((f: any) => f.pending)).toBe(true);
      }
      const r = await migrateJson(h.home, U);
      expect({ status: r.report.status, errors: r.report.errors }).toEqual({ status: "done", errors: [] });
      const target = await digestMailbox(h.target, U);
      expect(countAll(target)).toBe(375);
      expectSameMail(expected, target);
      // and one more run changes nothing
      expect((await migrateJson(h.home, U)).report.messages).toBe(0);
    });
  }

  for (let i = 0; i < RANDOM_RUNS; i++) {
    test(`kill -9 at random moments (run ${i + 1}), then a rerun: exact`, async () => {
      const U = `chaos${i}@example.com`;
      let kills = 0;
      for (let attempt = 0; attempt < 8; attempt++) {
        const proc = spawnCli(h.home, ["migrate", U, "--json"]);
        await Promise.race([proc.exited, Bun.sleep(60 + Math.floor(Math.random() * 250))]);
        if (proc.exitCode !== null) break; // finished before the kill
        proc.kill("SIGKILL");
        await proc.exited;
        kills++;
      }
      expect(kills).toBeGreaterThan(0);
      const r = await migrateJson(h.home, U);
      // (the errors say why when it is not: e.g. UNVERIFIED when a count was lost in a crash)
      expect({ status: r.report.status, errors: r.report.errors }).toEqual({ status: "done", errors: [] });
      const target = await digestMailbox(h.target, U);
      expect(countAll(target)).toBe(375);
      expectSameMail(expected, target);
    });
  }
});
