// The route switches to the new server before the first folder is copied, whichever door
// started the migration (here the CLI), provided the account answers there: a run killed at
// its first folder CREATE (before any message) has already switched it; a user without an account on the new server
// keeps the old route.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startHarness, migrateJson, runCli, runCliOk, type Harness } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed } from "./support/mail.ts";
import { expectSameMail } from "./support/compare.ts";

const U = "alice@example.com";
const LOCAL = "lmtp:unix:private/dovecot-lmtp";
let h: Harness;

const route = async (user: string) => JSON.parse((await runCli(h.home, ["routing", "lookup", user, "--json"])).stdout) as { kind: string; transport?: string };

beforeAll(async () => {
  h = await startHarness({ domainSettings: ["migration.old.smtpHost=127.0.0.1", "migration.old.smtpPort=2525"] });
  await runCliOk(h.home, ["config", "set", `routing.localTransport=${LOCAL}`]);
  await runCliOk(h.home, ["domain", "enable", "example.com"]);
  await seed(h.old, U, [{ path: "Work" }], Array.from({ length: 40 }, (_, i) => ({ folder: i % 2 ? "INBOX" : "Work", raw: makeMessage(i) })));
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

describe("the route switches before the first folder is copied", () => {
  test("a CLI migration killed as it creates its first folder, before any message, has switched the route already; the rerun ends exact", async () => {
    expect(await route(U)).toEqual(expect.objectContaining({ kind: "found", transport: "smtp:[127.0.0.1]:2525" }));
    const killed = await migrateJson(h.home, U, { AUTOMIGRATE_TEST_CRASH_AT: "folder-created" });
    expect(killed.code).not.toBe(0);
    // nothing copied yet...
    const target = await digestMailbox(h.target, U);
    expect([...target.values()].reduce((n, f) => n + f.length, 0)).toBe(0);
    // ...and the user's mail already goes to the new server
    expect(await route(U)).toEqual(expect.objectContaining({ kind: "found", transport: LOCAL }));
    const again = await migrateJson(h.home, U);
    expect(again.report).toMatchObject({ status: "done", messages: 40 });
    expectSameMail(await digestMailbox(h.old, U), await digestMailbox(h.target, U));
  });

  test("a user the new server does not know keeps the old route after a failed run", async () => {
    const nobody = "nobody@example.com";
    const r = await migrateJson(h.home, nobody);
    expect(r.report.status).toBe("failed");
    expect(await route(nobody)).toEqual(expect.objectContaining({ kind: "found", transport: "smtp:[127.0.0.1]:2525" }));
  });
});
