// The queue from the CLI: pause/resume (all or one domain), retry, sweep, through the running
// daemon (the built entry), each saying what the daemon did; status for a typo or an unknown
// domain is an error, not "no job".
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { accountState, startDaemon, waitFor, type DaemonProc } from "./support/daemon.ts";
import { runCli, startHarness, type Harness } from "./support/harness.ts";
import { makeMessage, seed } from "./support/mail.ts";

const U = "alice@example.com";
let h: Harness;
let d: DaemonProc;

beforeAll(async () => {
  h = await startHarness();
  await seed(h.old, U, [], [{ folder: "INBOX", raw: makeMessage(1) }]);
  await runCli(h.home, ["migrate", U]);
  await runCli(h.home, ["domain", "enable", "example.com"]);
}, 60_000);

afterAll(async () => {
  if (d?.proc.exitCode === null) await d.stop();
  await h?.stop();
});

describe("queue commands", () => {
  test("without a daemon nothing is claimed: exit 1 and why", async () => {
    for (const args of [["pause"], ["resume"], ["retry"], ["sweep"]]) {
      const r = await runCli(h.home, args);
      expect({ args, code: r.code, err: r.stderr.includes("the daemon is not running: nothing was done") }).toEqual({ args, code: 1, err: true });
    }
  });

  test("pause and resume, one domain or all; status shows it", async () => {
    d = await startDaemon(h.home);
    expect((await runCli(h.home, ["pause", "--domain", "example.com"])).stdout).toBe("paused domains: example.com\n");
    expect((await d.status()).paused).toEqual({ all: false, domains: ["example.com"] });
    expect((await runCli(h.home, ["pause"])).stdout).toBe("everything is paused\n");
    expect((await runCli(h.home, ["resume"])).stdout).toBe("paused domains: example.com\n");
    expect((await runCli(h.home, ["resume", "--domain", "example.com", "--json"])).stdout).toBe('{\n  "paused": {\n    "all": false,\n    "domains": []\n  }\n}\n');
  });

  test("retry with nothing to retry says so (exit 1); sweep queues the known accounts and they run", async () => {
    const r = await runCli(h.home, ["retry"]);
    expect([r.code, r.stdout]).toEqual([1, "nothing to retry: no failed job and none waiting to retry\n"]);
    await seed(h.old, U, [], [{ folder: "INBOX", raw: makeMessage(2) }]);
    const runsBefore = (await accountState(h.home, U)).runs;
    expect((await runCli(h.home, ["sweep"])).stdout).toBe("queued 1 account for an incremental pass\n");
    await waitFor(async () => (await accountState(h.home, U))?.runs > runsBefore, 20_000, "the sweep's pass");
    expect((await accountState(h.home, U)).lastRun).toMatchObject({ status: "done", messages: 1 });
  });

  test("status of a typo, an unknown domain or a bad address is an error with the reason", async () => {
    const typo = await runCli(h.home, ["status", "alcie@example.com"]);
    expect([typo.code, typo.stdout]).toEqual([1, "alcie@example.com: unknown to automigrate: never queued, never migrated, no login seen\n"]);
    const domain = await runCli(h.home, ["status", "alice@exmaple.com"]);
    expect([domain.code, domain.stderr]).toEqual([1, expect.stringContaining("domain exmaple.com is not configured")]);
    expect((await runCli(h.home, ["status", "not an address"])).code).toBe(2);
    expect((await runCli(h.home, ["status", U])).code).toBe(0);
  });
});
