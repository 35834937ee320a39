// Without --json, on a real terminal (a pty from script(1)): a progress bar, then a summary.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { CLI, shq, startHarness, type Harness } from "./support/harness.ts";
import { makeMessage, seed } from "./support/mail.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await seed(h.old, "alice@example.com", [{ path: "Work" }], Array.from({ length: 300 }, (_, i) => ({ folder: i % 2 ? "INBOX" : "Work", raw: makeMessage(i, { bodyBytes: 3000 }) })));
});
afterAll(() => h.stop());

test("migrate on a TTY draws a progress bar and prints the summary", async () => {
  const cmd = `${shq(CLI)} --home ${shq(h.home)} migrate alice@example.com`;
  const proc = Bun.spawn(["script", "-qfec", cmd, "/dev/null"], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  expect(code).toBe(0);
  expect(out).toMatch(/\[#*\.*\]\s+\d+% \d+\/300 msgs/);
  expect(out).toMatch(/alice@example\.com: DONE — 300 messages \([\d.]+ KB\) in 2 folders, [\d.]+s, \d+ msg\/s/);
});

test("with output to a pipe there is no progress bar, only the summary", async () => {
  await seed(h.old, "alice@example.com", [], [{ folder: "INBOX", raw: makeMessage(999) }]);
  const proc = Bun.spawn([CLI, "--home", h.home, "migrate", "alice@example.com"], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect(err).toBe("");
  expect(out).toMatch(/^alice@example\.com: DONE — 1 message \(/);
});
