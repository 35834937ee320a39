// A folder plan that never moves: a new server without special-use flags, an old mailbox with
// both "Trash" (\Trash) and "Deleted Items". Whatever run is killed where (kill -9 at every
// crash point), the final layout and the report's renames are those of an undisturbed run,
// and every message is in the folder it belongs to.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { expectSameMail } from "./support/compare.ts";
import { migrateJson, runCli, startHarness, type Harness } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed } from "./support/mail.ts";

const POINTS = [
  ["folder-created", 1],
  ["folder-created", 3],
  ["intent-written", 1],
  ["append-mid-batch", 1],
  ["appended", 2],
  ["committed", 1],
] as const;
const TEMPLATE = "template@example.com";
const REFERENCE = "reference@example.com";
const users = POINTS.map(([p, n]) => `${p}-${n}@example.com`);

describe("a folder plan that never moves", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ users: [TEMPLATE, REFERENCE, ...users], target: { specialUse: false } });
    await seed(h.old, TEMPLATE, [{ path: "Trash" }, { path: "Deleted Items" }, { path: "Work" }], [
      ...Array.from({ length: 150 }, (_, i) => ({ folder: "INBOX", raw: makeMessage(i) })),
      ...Array.from({ length: 120 }, (_, i) => ({ folder: "Trash", raw: makeMessage(1000 + i) })),
      ...Array.from({ length: 130 }, (_, i) => ({ folder: "Deleted Items", raw: makeMessage(2000 + i) })),
      ...Array.from({ length: 5 }, (_, i) => ({ folder: "Work", raw: makeMessage(3000 + i) })),
    ]);
    for (const u of [REFERENCE, ...users]) expect(spawnSync("cp", ["-a", h.old.maildir(TEMPLATE), h.old.maildir(u)]).status).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await h?.stop();
  });

  test("kill -9 at every crash point, rerun: the same layout and renames as an undisturbed run, every message where it belongs", async () => {
    const ref = await migrateJson(h.home, REFERENCE);
    expect(ref.report.status).toBe("done");
    // a second undisturbed run (the new server now lists "Deleted Items" and "Trash") changes nothing
    expect((await migrateJson(h.home, REFERENCE)).report).toMatchObject({ status: "done", messages: 0, renamed: ref.report.renamed });
    const refMail = await digestMailbox(h.target, REFERENCE);
    expect([...refMail.keys()].sort()).toEqual(["Deleted Items", "INBOX", "Trash", "Work"]);
    const oldMail = await digestMailbox(h.old, REFERENCE);
    expectSameMail(oldMail, refMail);
    for (const [i, [point, nth]] of POINTS.entries()) {
      const u = users[i]!;
      const crashed = await runCli(h.home, ["migrate", u, "--json"], { AUTOMIGRATE_TEST_CRASH_AT: `${point}:${nth}` });
      expect({ point, nth, code: crashed.code }).toEqual({ point, nth, code: 137 });
      let last;
      for (let k = 0; k < 3; k++) {
        last = await migrateJson(h.home, u);
        if (last.report.status === "done") break;
      }
      expect({ point, nth, status: last!.report.status, renamed: last!.report.renamed }).toEqual({ point, nth, status: "done", renamed: ref.report.renamed });
      const got = await digestMailbox(h.target, u);
      expect({ point, nth, folders: [...got.keys()].sort() }).toEqual({ point, nth, folders: ["Deleted Items", "INBOX", "Trash", "Work"] });
      expectSameMail(await digestMailbox(h.old, u), got);
    }
  }, 240_000);
});
