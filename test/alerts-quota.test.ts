// The quota alert against a real new Dovecot with a storage quota: its APPENDs refused with
// [OVERQUOTA] are skipped with the code QUOTA (not "refused by the new server"), two accounts of
// the domain in a row fire one alert, and an account that fits clears it.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { startHarness, type Harness } from "./support/harness.ts";
import { makeMessage, seed } from "./support/mail.ts";
import { accountState, waitFor, type DaemonProc } from "./support/daemon.ts";
import { startAlertingDaemon, type AlertEventSeen } from "./support/alerts.ts";

setDefaultTimeout(60_000);

let h: Harness;
let d: DaemonProc;
let login: (user: string) => void;
let events: () => AlertEventSeen[];

beforeAll(async () => {
  const users = ["big1@example.com", "big2@example.com", "small@example.com"];
  h = await startHarness({ users, target: { quotaStorage: "60K" } });
  for (const u of users.slice(0, 2)) await seed(h.old, u, [], [1, 2, 3, 4].map((i) => ({ folder: "INBOX", raw: makeMessage(i, { bodyBytes: 25_000 }) })));
  await seed(h.old, "small@example.com", [], [{ folder: "INBOX", raw: makeMessage(1) }]);
  ({ d, login, events } = await startAlertingDaemon(h.home, "example.com", ["alerts.quotaFailuresInRow=2"]));
}, 60_000);

afterAll(async () => {
  if (d?.proc.exitCode === null) await d.stop();
  await h?.stop();
});

test("appends refused for quota: skipped as QUOTA; two accounts in a row fire the quota alert; one that fits clears it", async () => {
  login("big1@example.com");
  login("big2@example.com");
  await waitFor(() => events().some((e) => e.alert === "quota" && e.state === "firing"), 30_000, `quota firing\n${d.output()}`);
  expect(events().filter((e) => e.alert === "quota")).toEqual([expect.objectContaining({ state: "firing", key: "example.com", count: 2 })]);
  const st = await accountState(h.home, "big1@example.com");
  const skipped = Object.values(st.folders as Record<string, { skipped: { code: string; reason: string }[] }>).flatMap((f) => f.skipped);
  expect(skipped.length).toBeGreaterThan(0);
  expect(skipped.every((s) => s.code === "QUOTA")).toBe(true);
  expect(skipped[0]!.reason).toContain("[OVERQUOTA]");
  login("small@example.com");
  await waitFor(() => events().some((e) => e.alert === "quota" && e.state === "cleared"), 30_000, `quota cleared\n${d.output()}`);
});
