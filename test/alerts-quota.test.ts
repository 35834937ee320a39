// The quota alert against a real new Dovecot with a storage quota: its APPENDs refused with
// [OVERQUOTA] are skipped with the code QUOTA (not "refused by the new server"), two accounts of
// the domain in a row fire one alert, and an account that fits clears it.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCliOk, startHarness, type Harness } from "./support/harness.ts";
import { makeMessage, seed } from "./support/mail.ts";
import { accountState, startDaemon, waitFor, type DaemonProc } from "./support/daemon.ts";

setDefaultTimeout(60_000);

let h: Harness;
let d: DaemonProc;
let jsonl: string;
let received: string;
const events = (): { alert: string; state: string; key: string; count?: number }[] => (existsSync(received) ? readFileSync(received, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []);
const login = (user: string) => appendFileSync(jsonl, `{"time":"${new Date().toISOString()}","user":"${user}","service":"imap","ip":"192.0.2.7"}\n`);

beforeAll(async () => {
  const users = ["big1@example.com", "big2@example.com", "small@example.com"];
  h = await startHarness({ users, target: { quotaStorage: "60K" } });
  for (const u of users.slice(0, 2)) await seed(h.old, u, [], [1, 2, 3, 4].map((i) => ({ folder: "INBOX", raw: makeMessage(i, { bodyBytes: 25_000 }) })));
  await seed(h.old, "small@example.com", [], [{ folder: "INBOX", raw: makeMessage(1) }]);
  jsonl = join(h.home, "logins.jsonl");
  writeFileSync(jsonl, "");
  received = join(h.home, "alerts.jsonl");
  const script = join(h.home, "page-admin.sh");
  writeFileSync(script, `#!/bin/sh\ncat >> '${received}'\n`, { mode: 0o755 });
  await runCliOk(h.home, ["config", "set", `logins.0.path=${jsonl}`, "logins.0.format=jsonl", `alerts.command=${JSON.stringify([script])}`, "alerts.quotaFailuresInRow=2"]);
  await runCliOk(h.home, ["domain", "enable", "example.com"]);
  d = await startDaemon(h.home);
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
