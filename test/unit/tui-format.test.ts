import { describe, expect, test } from "bun:test";
import { accountRows, bar, colourDomainRow, colourJobRow, domainRow, finishedCounts, jobRow, keyBar, matchesFilter, progressText, sortJobs, userColumn } from "../../tui/format.ts";

describe("console text", () => {
  test("the key bar keeps ? help and q quit visible at 80 columns and cuts the view's keys with …", () => {
    const keys = "↑↓ select  Enter configure  e enable/disable  c classes  / filter  Tab queue";
    const at80 = keyBar(keys, 80);
    expect(at80).toHaveLength(80);
    expect(at80.trimEnd().endsWith("? help  q quit")).toBe(true);
    expect(at80).toContain("…");
    expect(keyBar(keys, 120)).toContain(keys);
    expect(keyBar(keys, 120)).not.toContain("…");
  });
  test("progress bar", () => {
    expect(bar(0, 10, 10)).toBe("[..........]");
    expect(bar(5, 10, 10)).toBe("[#####.....]");
    expect(bar(20, 10, 4)).toBe("[####]");
    expect(bar(3, 0, 4)).toBe("[....]");
  });
  test("a running job shows progress, rate and ETA; rows fit the width", () => {
    const row = jobRow({ user: "alice@example.com", domain: "example.com", state: "running", progress: { messagesDone: 50, messagesTotal: 200, bytesDone: 2048, bytesTotal: 9000, rateMsgPerSec: 25, etaSec: 6, folder: "INBOX" } }, 200);
    expect(row).toBe("alice@example.com        running  [###.......] 50/200 2.0 KB 25/s ETA 6s");
    expect(jobRow({ user: "a@x.y", domain: "x.y", state: "queued", lastError: "x".repeat(300) }, 80)).toHaveLength(80);
  });
  test("a job waiting to retry says when and why", () => {
    expect(jobRow({ user: "b@x.y", domain: "x.y", state: "waiting", attempts: 2, notBefore: 31_000, lastError: "cannot connect" }, 120, 1000)).toBe("b@x.y                    retry 2  in 30s: cannot connect");
  });
  test("cluster mode: a job another node runs says which node (its progress is that node's)", () => {
    expect(jobRow({ user: "c@x.y", domain: "x.y", state: "running", node: "mx2" }, 80)).toBe("c@x.y                    running  on node mx2");
  });
  test("filters by domain, state or user", () => {
    const j = { user: "a@one.example", domain: "one.example", state: "failed" };
    expect(matchesFilter(j, "")).toBe(true);
    expect(matchesFilter(j, "one")).toBe(true);
    expect(matchesFilter(j, "failed")).toBe(true);
    expect(matchesFilter(j, "running")).toBe(false);
  });
  test("domain rows", () => {
    expect(domainRow("example.com", true)).toBe("example.com                        Migration Enabled ");
  });
});

test("a finished run shows what it copied", () => {
  expect(jobRow({ user: "c@x.y", domain: "x.y", state: "done", messages: 12 }, 120)).toBe("c@x.y                    done     12 messages");
});

describe("sortJobs", () => {
  test("failed first, then running, waiting, queued, then finished runs; by user within a state", () => {
    const jobs = [
      { user: "d@x", state: "done" },
      { user: "q2@x", state: "queued" },
      { user: "q1@x", state: "queued" },
      { user: "f@x", state: "failed" },
      { user: "r@x", state: "running" },
      { user: "w@x", state: "waiting" },
      { user: "p@x", state: "partial" },
    ];
    expect(sortJobs(jobs.map((j) => ({ ...j, domain: "x" }))).map((j) => j.user)).toEqual(["f@x", "r@x", "w@x", "q1@x", "q2@x", "p@x", "d@x"]);
  });
});

describe("one row per account", () => {
  const at = (iso: string) => iso;
  test("the live job wins; else the later of the failure and the latest finished run", () => {
    const live = [{ user: "run@x", domain: "x", state: "running" }];
    const failed = [
      { user: "run@x", domain: "x", state: "queued", failedAt: Date.parse("2026-01-01T10:00:00Z") },
      { user: "fixed@x", domain: "x", state: "queued", failedAt: Date.parse("2026-01-01T10:00:00Z"), lastError: "login refused" },
      { user: "broken@x", domain: "x", state: "queued", failedAt: Date.parse("2026-01-01T12:00:00Z"), lastError: "login refused" },
    ];
    const recent = [
      { user: "ada@x", domain: "x", state: "done", finishedAt: at("2026-01-01T09:00:00Z"), messages: 40, totalMessages: 40 },
      { user: "ada@x", domain: "x", state: "done", finishedAt: at("2026-01-01T11:00:00Z"), messages: 0, totalMessages: 40 },
      { user: "fixed@x", domain: "x", state: "done", finishedAt: at("2026-01-01T11:00:00Z"), messages: 3, totalMessages: 3 },
      { user: "broken@x", domain: "x", state: "done", finishedAt: at("2026-01-01T11:00:00Z"), messages: 1, totalMessages: 1 },
    ];
    const rows = accountRows(live, failed, recent);
    expect(rows.map((r) => `${r.user}:${r.state}`).sort()).toEqual(["ada@x:done", "broken@x:failed", "fixed@x:done", "run@x:running"]);
    expect(rows.find((r) => r.user === "ada@x")).toMatchObject({ messages: 0, totalMessages: 40 });
  });
  test("a finished row says the mailbox's total, and what this pass added", () => {
    expect(finishedCounts(0, 40)).toBe("40 messages");
    expect(finishedCounts(2, 42)).toBe("42 messages, 2 new");
    expect(finishedCounts(1, 1)).toBe("1 message");
    expect(finishedCounts(5)).toBe("5 messages");
    expect(jobRow({ user: "ada@x", domain: "x", state: "done", messages: 0, totalMessages: 40 }, 80)).toMatch(/^ada@x\s+done\s+40 messages$/);
  });
});

describe("per-domain progress", () => {
  test("done of all, then partial and failed when there are any; nothing for a domain without accounts", () => {
    expect(progressText({ accounts: 40, done: 12, partial: 1, failed: 2 })).toBe("12/40 done (30%), 1 partial, 2 failed");
    expect(progressText({ accounts: 3, done: 3, partial: 0, failed: 0 })).toBe("3/3 done (100%)");
    expect(progressText(undefined)).toBe("");
    expect(progressText({ accounts: 40, done: 12, partial: 1, failed: 2, notStarted: 25 })).toBe("12/40 done (30%), 1 partial, 2 failed, 25 not started");
    expect(progressText({ accounts: 40, done: 10, partial: 0, failed: 0, perHour: 20, etaHours: 1.5 })).toBe("10/40 done (25%), 20/h, ETA 1.5 h");
    expect(progressText({ accounts: 40, done: 30, partial: 0, failed: 0, perHour: 60, etaHours: 10 / 60 })).toBe("30/40 done (75%), 60/h, ETA 10 min");
    expect(domainRow("example.com", true, undefined, 80, "3/3 done")).toMatch(/^example\.com\s+Migration Enabled\s+3\/3 done$/);
  });
});

describe("a failed row", () => {
  test("says why it failed, not how many messages its last pass copied", () => {
    expect(jobRow({ user: "ivan@x", domain: "x", state: "failed", messages: 0, lastError: "login refused for ivan@x" }, 80)).toMatch(/^ivan@x\s+failed\s+login refused for ivan@x$/);
  });
  test("a failure recorded in the same moment as its run is the row", () => {
    const t = "2026-01-01T10:00:00.000Z";
    const rows = accountRows([], [{ user: "i@x", domain: "x", state: "queued", failedAt: Date.parse(t), lastError: "refused" }], [{ user: "i@x", domain: "x", state: "failed", finishedAt: t, messages: 0 }]);
    expect(rows).toEqual([expect.objectContaining({ user: "i@x", state: "failed", lastError: "refused" })]);
  });
  test("an account whose catch-up pass is scheduled shows its outcome and when the pass comes; without an outcome, the pass", () => {
    const now = Date.parse("2026-01-01T10:00:00.000Z");
    const scheduled = { user: "c@x", domain: "x", state: "scheduled", notBefore: now + 14 * 60_000 };
    const [row] = accountRows([scheduled], [], [{ user: "c@x", domain: "x", state: "done", finishedAt: "2026-01-01T09:59:00.000Z", messages: 40, totalMessages: 40 }]);
    expect(jobRow(row!, 80, now)).toMatch(/^c@x\s+done\s+40 messages · catch-up in 14m$/);
    expect(jobRow(accountRows([scheduled], [], [])[0]!, 80, now)).toMatch(/^c@x\s+scheduled catch-up pass in 14m$/);
  });
});

describe("queue columns", () => {
  test("the user column is as wide as the longest address, within what the terminal leaves (24 at 80, up to 48); a cut address ends with …", () => {
    const long = "user00000.with-a-longer-local-part@example.com";
    expect(userColumn([long, "a@x"], 80)).toBe(24);
    expect(userColumn([long, "a@x"], 120)).toBe(long.length);
    expect(userColumn(["a@x"], 120)).toBe(24);
    expect(userColumn(["x".repeat(90)], 200)).toBe(48);
    expect(jobRow({ user: long, domain: "example.com", state: "queued" }, 80, 0, userColumn([long], 80)).slice(0, 25)).toBe("user00000.with-a-longer… ");
    expect(jobRow({ user: long, domain: "example.com", state: "queued" }, 120, 0, userColumn([long], 120))).toStartWith(`${long} queued`);
  });
});

describe("queue order", () => {
  const rows = [
    { user: "old-queued@x", domain: "x", state: "queued", enqueuedAt: 1_000, progress: undefined },
    { user: "big-done@x", domain: "x", state: "done", finishedAt: "2026-01-01T00:00:05.000Z", totalMessages: 90_000 },
    { user: "new-queued@x", domain: "x", state: "queued", enqueuedAt: 5_000 },
    { user: "running@x", domain: "x", state: "running", enqueuedAt: 3_000, progress: { messagesDone: 1, messagesTotal: 500, bytesDone: 0, bytesTotal: 0, rateMsgPerSec: 1, etaSec: null } },
  ];
  test("age: the longest waiting first; size: the largest mailbox first", () => {
    expect(sortJobs(rows, "age").map((r) => r.user)).toEqual(["old-queued@x", "running@x", "new-queued@x", "big-done@x"]);
    expect(sortJobs(rows, "size").map((r) => r.user)).toEqual(["big-done@x", "running@x", "new-queued@x", "old-queued@x"]);
    expect(sortJobs(rows).map((r) => r.user)).toEqual(["running@x", "new-queued@x", "old-queued@x", "big-done@x"]);
  });
});

describe("colours", () => {
  test("the state word of a queue row is coloured; the rest is shown as is, braces too", () => {
    expect(colourJobRow("ann@x    failed   login refused {really}")).toBe("ann@x    {red-fg}failed{/red-fg}   login refused {open}really{close}");
    expect(colourJobRow("ann@x    done     40 messages")).toBe("ann@x    {green-fg}done{/green-fg}     40 messages");
    expect(colourJobRow("ann@x    queued")).toBe("ann@x    queued");
    expect(colourJobRow("(no jobs)")).toBe("(no jobs)");
  });
  test("a domain row: enabled green, its problem red", () => {
    expect(colourDomainRow("a.example   Migration Enabled   1/2 done (50%)  ! no old server")).toBe("a.example   {green-fg}Migration Enabled{/green-fg}   1/2 done (50%)  {red-fg}! no old server{/red-fg}");
    expect(colourDomainRow("b.example   Migration Disabled")).toBe("b.example   Migration Disabled");
  });
});
