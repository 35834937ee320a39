// automigrate verify: the old and the new mailbox compared through the migration's plan,
// by counts and (--deep) message by message, against real Dovecots; a message removed from
// the new server behind automigrate's back is found, by UID.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runCli, startHarness, type Harness } from "./support/harness.ts";
import { makeMessage, seed, withClient } from "./support/mail.ts";

const U = "alice@example.com";
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await seed(h.old, U, [{ path: "Work" }, { path: "Work/2024" }], [
    ...Array.from({ length: 6 }, (_, i) => ({ folder: "INBOX", raw: makeMessage(i) })),
    { folder: "Work", raw: makeMessage(10), flags: ["\\Seen"] },
    { folder: "Work/2024", raw: makeMessage(11, { bodyBytes: 200_000 }) },
  ]);
  const r = await runCli(h.home, ["migrate", U, "--json"]);
  expect(JSON.parse(r.stdout).status).toBe("done");
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

const verify = async (...args: string[]) => {
  const r = await runCli(h.home, ["verify", U, "--json", ...args]);
  return { code: r.code, report: JSON.parse(r.stdout), stderr: r.stderr };
};

describe("automigrate verify", () => {
  test("right after a migration: exact by counts and message by message", async () => {
    for (const args of [[], ["--deep"]]) {
      const { code, report } = await verify(...args);
      expect({ code, exact: report.exact, folders: report.folders.map((f: { folder: string; missing: number; exact: boolean }) => [f.folder, f.missing, f.exact]) }).toEqual({
        code: 0,
        exact: true,
        folders: [["INBOX", 0, true], ["Work", 0, true], ["Work/2024", 0, true]],
      });
    }
    const text = await runCli(h.home, ["verify", U]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${U}: EXACT`);
    // status remembers it
    expect((await runCli(h.home, ["status", U])).stdout).toMatch(/verified EXACT at \S+ \(counts\)/);
  });

  test("a message deleted on the new server: missing, by count and with its old UID under --deep", async () => {
    await withClient(h.target, U, async (c) => {
      await c.mailboxOpen("INBOX");
      await c.messageDelete("3", { uid: false });
    });
    const counts = await verify();
    expect(counts.code).toBe(1);
    expect(counts.report.folders[0]).toMatchObject({ folder: "INBOX", old: 6, onTarget: 5, missing: 1, exact: false });
    const deep = await verify("--deep");
    expect(deep.report.folders[0]).toMatchObject({ folder: "INBOX", missing: 1, extra: 0, missingUids: [3], exact: false });
    expect((await runCli(h.home, ["status", U])).stdout).toMatch(/verified with differences \(1 missing\) at \S+ \(every message\)/);
  });

  test("new mail on the new server hides a loss from the counts, not from --deep", async () => {
    await withClient(h.target, U, async (c) => {
      await c.append("INBOX", makeMessage(99), [], new Date());
    });
    expect((await verify()).report.folders[0]).toMatchObject({ missing: 0, exact: true });
    const deep = await verify("--deep");
    expect(deep.code).toBe(1);
    expect(deep.report.folders[0]).toMatchObject({ missing: 1, extra: 1, exact: false });
    expect((await runCli(h.home, ["verify", U, "--deep"])).stdout).toContain("DIFF INBOX → INBOX: 6 old, 6 on the new server, 1 missing, 1 only on the new server, missing old UIDs 3");
  });

  test("mail that reached the old server after the last run is new since then, not missing: still exact", async () => {
    await withClient(h.old, U, async (c) => {
      await c.append("Work", makeMessage(50), [], new Date());
      await c.append("Work", makeMessage(51), [], new Date());
    });
    for (const args of [[], ["--deep"]]) {
      const { report } = await verify(...args);
      expect(report.folders.find((f: { folder: string }) => f.folder === "Work")).toMatchObject({ missing: 0, newSince: 2, exact: true });
      expect(report.folders.find((f: { folder: string }) => f.folder === "Work/2024")).toMatchObject({ newSince: 0 });
    }
    expect((await runCli(h.home, ["verify", U])).stdout).toContain("Work → Work: 1 old, 1 on the new server, 0 missing, 2 new on the old server since the last run (the next pass copies them)");
  });

  test("a user never migrated: a clear failure, in JSON too", async () => {
    const r = await runCli(h.home, ["verify", "nobody@example.com", "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ exact: false, error: { message: expect.stringContaining("no migration state") } });
  });
});
