import { describe, expect, test } from "bun:test";
import { accountStateSchema } from "../../src/store/account-state.ts";
import { accountLines, printable, withText, jobText, statusLines, unknownAccount, type AccountAnswer, type DaemonStatus } from "../../src/status/status-view.ts";

const job = { user: "ada@example.com", domain: "example.com", oldServer: "old:143", reason: "login" as const, priority: 0, attempts: 0, enqueuedAt: 0 };

describe("the one rendering of the daemon's answers", () => {
  test("an account: its job with progress, last run, verify, external application, folders with skipped and renamed ones, log, ignored logins", () => {
    const state = accountStateSchema.parse({
      user: "ada@example.com",
      runs: 2,
      lastRun: { status: "partial", finishedAt: "2026-11-30T01:00:00Z", messages: 12, bytes: 100, error: "the new server refused it\nsecond line" },
      verified: { at: "2026-11-30T02:00:00Z", deep: false, exact: true, missing: 0 },
      pim: { status: "done", at: "2026-11-30T01:01:00Z", exitCode: 0, durationMs: 5, stderrTail: "synced 4 calendars\n" },
      folders: {
        INBOX: { target: "INBOX", uidValidity: 1, lastUid: 40, reconcile: false, skipped: [{ uid: 7, reason: "the new server refused it: NO [OVERQUOTA]" }], messages: 39, bytes: 1000, altered: [] },
        "Sent Items": { target: "Sent", uidValidity: 2, lastUid: 3, reconcile: false, skipped: [], messages: 3, bytes: 10, altered: [] },
      },
    });
    const a: AccountAnswer = {
      user: "ada@example.com",
      job: { ...job, state: "running", progress: { messagesDone: 26, messagesTotal: 80, bytesDone: 2048, bytesTotal: 8192, rateMsgPerSec: 13, etaSec: 4, folder: "INBOX" } },
      failed: null,
      ignored: [{ at: "2026-11-30T00:00:00Z", user: "ada@example.com", reason: "domain not enabled" }],
      log: ["started", "done"],
      runs: [
        { user: "ada@example.com", domain: "example.com", state: "done", finishedAt: "t1", messages: 3 },
        { user: "ada@example.com", domain: "example.com", state: "partial", finishedAt: "t2", messages: 12, lastError: "refused\nmore" },
      ],
      state,
    };
    const text = accountLines(a).join("\n");
    expect(text).toContain('ada@example.com: job running, 26/80 messages, 2.0 KB/8.0 KB, 13 msg/s, ETA 4s, in "INBOX"');
    expect(text).toContain("last run: partial at 2026-11-30T01:00:00Z, 12 messages — the new server refused it\n");
    // a multi-line error is shown whole, its further lines indented (it used to be cut)
    expect(text).toContain("12 messages — the new server refused it\n    second line\n");
    // history newest first
    expect(text).toMatch(/history:\n\s+t2 partial 12 new — refused\n\s+t1 done 3 new/);
    expect(text).toContain("verified EXACT at 2026-11-30T02:00:00Z (counts)");
    expect(text).toContain("external application: done at 2026-11-30T01:01:00Z (exit 0) — synced 4 calendars");
    expect(text).toContain("INBOX: 39 messages, up to UID 40, 1 skipped\n      skipped UID 7: the new server refused it: NO [OVERQUOTA]");
    expect(text).toContain("Sent Items → Sent: 3 messages, up to UID 3");
    expect(text).toMatch(/recent log lines:\n\s+started\n\s+done/);
    expect(text).toMatch(/logins not acted on:\n\s+2026-11-30T00:00:00Z domain not enabled/);
    expect(unknownAccount(a)).toBe(false);
  });

  test("a job waiting to retry says why; a failure says its reason; nothing known is unknown", () => {
    const bare: AccountAnswer = { user: "bob@example.com", job: null, failed: null, ignored: [], state: null };
    expect(unknownAccount(bare)).toBe(true);
    expect(jobText(bare)).toBe("none");
    expect(jobText({ ...bare, job: { ...job, state: "waiting", attempts: 2, lastError: "cannot connect" } })).toBe("waiting (retry 2: cannot connect)");
    expect(jobText({ ...bare, failed: { ...job, state: "queued", failedAt: 1, lastError: "login refused" } })).toBe("failed: login refused");
  });

  test("the daemon: pause, counts, sockets, refused logs, jobs with progress or their retry, failures", () => {
    const s: DaemonStatus = {
      pid: 42,
      startedAt: "2026-11-30T00:00:00Z",
      paused: { all: false, domains: ["b.example"] },
      counts: { queued: 1, running: 1, waiting: 1, failed: 1 },
      jobs: [
        { ...job, state: "running", progress: { messagesDone: 1, messagesTotal: 2, bytesDone: 0, bytesTotal: 0, rateMsgPerSec: 0, etaSec: null } },
        { ...job, user: "w@example.com", state: "waiting", attempts: 3, notBefore: 61_000, lastError: "connection dropped" },
        { ...job, user: "elsewhere@example.com", state: "running", node: "mx2" },
      ],
      failed: [{ ...job, user: "f@example.com", state: "queued", failedAt: 1, lastError: "login refused" }],
      ignored: [],
      recent: [],
      logs: [],
      logsRefused: [{ path: "/var/log/x", reason: "another daemon tails it" }],
      eventsSeen: 0,
      domains: {},
      routing: null,
      firstLogin: { socket: "/run/a.sock", checks: 3, accepted: 2, refused: 1, temporary: 0 },
    };
    const text = statusLines(s, 1_000).join("\n");
    expect(text).toContain("daemon pid 42, up since 2026-11-30T00:00:00Z, paused domains: b.example");
    expect(text).toContain("queued 1, running 1, waiting to retry 1, catch-up passes scheduled 0, failed 1");
    expect(text).toContain("first logins: /run/a.sock, 3 checks (2 accepted, 1 refused, 0 temporary failures)");
    expect(text).toContain("LOGIN LOG NOT TAILED: another daemon tails it");
    expect(text).toContain("running  ada@example.com  1/2 messages, 0 B/0 B, 0 msg/s");
    expect(text).toContain("waiting  w@example.com  retry 3 in 60s: connection dropped");
    // cluster mode: a job another node runs names that node
    expect(text).toContain("running  elsewhere@example.com  on node mx2");
    expect(text).toContain("failed   f@example.com  login refused");
  });

  test("control characters from anywhere (a folder name, an error) are shown as escapes, never sent to the terminal", () => {
    expect(printable("INBOX\rEvil\x1b[2J\ttab")).toBe("INBOX\\rEvil\\x1b[2J\\ttab");
    expect(withText("  failed   a@x", "refused\r\n  hint: check it\n", "    ", "  ")).toEqual(["  failed   a@x  refused", "    hint: check it"]);
  });
});
