// The report's rows, totals and formats, without I/O: a state document in, a row out; CSV read
// back by a real RFC 4180 parser; JSON and HTML escaping.
import { describe, expect, test } from "bun:test";
import { parse } from "csv-parse/sync";
import { accountStateSchema } from "../../src/store/account-state.ts";
import { REPORT_COLUMNS, reportRow, ReportTotals, type ReportRow } from "../../src/report/account-rows.ts";
import { csvField, reportWriter, type ReportFormat } from "../../src/report/formats.ts";
import { formatBytes } from "../../src/migrate/report.ts";

const NOW = Date.parse("2026-12-06T12:00:00Z");
const state = (doc: Record<string, unknown>) => accountStateSchema.parse(doc);

const alice = state({
  user: "alice@example.com",
  routedLocalAt: "2026-12-01T09:00:00.000Z",
  account: { className: "staff", tier: "premium", createdAt: "2026-12-01T09:00:00.000Z", via: "first-login" },
  folders: {
    INBOX: { target: "INBOX", uidValidity: 1, lastUid: 9, messages: 7, bytes: 7000, oldMessages: 9, oldBytes: 9100, skipped: [{ uid: 3, reason: "too large", code: "TOO_LARGE" }, { uid: 4, reason: "refused", code: "TARGET_REFUSED" }] },
    'Old, "quoted"': { target: "New", uidValidity: 1, lastUid: 2, messages: 2, bytes: 300, oldMessages: 3, oldBytes: 5300, skipped: [{ uid: 2, reason: "too large", code: "TOO_LARGE" }] },
  },
  renamed: [{ from: 'Old, "quoted"', to: "New", reason: "rename-rule" }],
  verified: { at: "2026-12-02T10:00:00.000Z", deep: false, exact: false, missing: 2 },
  runs: 2,
  lastRun: { status: "partial", finishedAt: "2026-12-05T10:00:00.000Z", messages: 9, bytes: 7300, error: "first line, with a comma\nsecond line", errorCode: "TOO_LARGE" },
  notices: { started: { state: "delivered", at: "2026-12-01T09:00:01.000Z" }, completed: { state: "appending", at: "2026-12-05T10:00:00.000Z", uidNext: 10, error: "connection lost\nmore" } },
});

describe("reportRow", () => {
  test("an account's state in one row: sums over folders, skipped by code (most first), renames, verify, last error's first line", () => {
    expect(reportRow("alice@example.com", alice)).toEqual({
      user: "alice@example.com",
      domain: "example.com",
      class: "staff",
      tier: "premium",
      state: "partial",
      firstRun: "2026-12-01T09:00:00.000Z",
      lastRun: "2026-12-05T10:00:00.000Z",
      oldMessages: 12,
      oldBytes: 14400,
      messagesCopied: 9,
      bytesCopied: 7300,
      messagesSkipped: 3,
      skippedByCode: "TOO_LARGE:2 TARGET_REFUSED:1",
      renamedFolders: 'Old, "quoted" → New',
      verified: "differences (2 missing)",
      verifiedAt: "2026-12-02T10:00:00.000Z",
      lastErrorCode: "TOO_LARGE",
      lastError: "first line, with a comma",
      notices: "started delivered 2026-12-01T09:00:01.000Z; completed failed 2026-12-05T10:00:00.000Z: connection lost",
    });
  });

  test("no state yet: not started, zeros; a job failed for good after the last run makes the account failed", () => {
    expect(reportRow("new@example.org", null)).toMatchObject({ domain: "example.org", state: "not_started", messagesCopied: 0, lastRun: "", class: "" });
    const failedAt = Date.parse("2026-12-06T00:00:00Z");
    expect(reportRow("alice@example.com", alice, { failedAt, lastError: "LOGIN refused\nmore", lastErrorCode: "AUTH" })).toMatchObject({ state: "failed", lastRun: "2026-12-06T00:00:00.000Z", lastErrorCode: "AUTH", lastError: "LOGIN refused" });
    // an older failure (the account ran again since) does not
    expect(reportRow("alice@example.com", alice, { failedAt: Date.parse("2026-12-01T00:00:00Z"), lastErrorCode: "AUTH" })).toMatchObject({ state: "partial", lastErrorCode: "TOO_LARGE" });
  });
});

const row = (user: string, state: string, lastRun = "", messagesCopied = 0): ReportRow => ({ ...reportRow(user, null), state, lastRun, messagesCopied });

describe("ReportTotals", () => {
  test("per domain and overall; the pace counts accounts done in the last 7 days, and the ETA is the rest at that pace", () => {
    const t = new ReportTotals(NOW);
    t.add(row("a@x.org", "done", "2026-12-05T00:00:00.000Z", 10));
    t.add(row("b@x.org", "done", "2026-11-01T00:00:00.000Z", 5)); // outside the window
    t.add(row("c@y.org", "failed"));
    t.add(row("d@y.org", "not_started"));
    t.add(row("e@y.org", "done", "2026-12-06T11:00:00.000Z", 1));
    expect(t.domains().map((d) => [d.domain, d.accounts, d.byState.done, d.messagesCopied])).toEqual([["x.org", 2, 2, 15], ["y.org", 3, 1, 1]]);
    const o = t.overall();
    expect(o).toMatchObject({ accounts: 5, byState: { done: 3, failed: 1, not_started: 1, partial: 0 }, messagesCopied: 16, donePerDay: 0.3, windowDays: 7 });
    // 2 left at 2/7 a day
    expect(o.etaDays).toBe(7);
    const none = new ReportTotals(NOW);
    none.add(row("c@y.org", "failed"));
    expect(none.overall().etaDays).toBeNull();
    const all = new ReportTotals(NOW);
    all.add(row("a@x.org", "done", "2026-01-01T00:00:00.000Z"));
    expect(all.overall().etaDays).toBe(0);
  });
});

function render(format: ReportFormat, rows: ReportRow[]): string {
  let text = "";
  const t = new ReportTotals(NOW);
  const w = reportWriter(format, (s) => (text += s), { generatedAt: new Date(NOW).toISOString(), title: "Report <b>" });
  for (const r of rows) {
    t.add(r);
    w.row(r);
  }
  w.end(t);
  return text;
}

describe("formats", () => {
  const hostile: ReportRow = { ...reportRow("alice@example.com", alice), lastError: 'said "no",\r\nthen <script>alert(1)</script>' };

  test("CSV: RFC 4180, read back field for field by a real parser (commas, quotes, line breaks)", () => {
    expect(csvField('a "b", c')).toBe('"a ""b"", c"');
    expect(csvField("plain")).toBe("plain");
    // a formula from a hostile folder name never runs in a spreadsheet; numbers stay numbers
    expect(csvField("=HYPERLINK(\"http://x\")")).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(csvField("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvField(-1)).toBe("-1");
    const text = render("csv", [hostile, row("b@x.org", "done")]);
    expect(text.endsWith("\r\n")).toBe(true);
    const records: string[][] = parse(text);
    expect(records[0]).toEqual(REPORT_COLUMNS);
    expect(records.length).toBe(3);
    expect(Object.fromEntries(REPORT_COLUMNS.map((c, i) => [c, records[1]![i]]))).toEqual(Object.fromEntries(REPORT_COLUMNS.map((c) => [c, String(hostile[c])])));
  });

  test("JSON: one document with the rows, the domains and the overall totals", () => {
    const doc = JSON.parse(render("json", [hostile, row("b@x.org", "done")]));
    expect(doc.accounts).toEqual([hostile, row("b@x.org", "done")]);
    expect(doc.domains.map((d: { domain: string }) => d.domain)).toEqual(["example.com", "x.org"]);
    expect(doc.overall.accounts).toBe(2);
    expect(JSON.parse(render("json", [])).accounts).toEqual([]);
  });

  test("HTML: every value escaped (no markup from a folder name or an error), one self-contained file", () => {
    const html = render("html", [hostile]);
    expect(html).not.toContain("<script>alert");
    expect(html).toContain("&#60;script&#62;alert(1)&#60;/script&#62;");
    expect(html).toContain("<title>Report &#60;b&#62;</title>");
    // no external assets
    expect(html).not.toMatch(/\b(src|href)=/);
    // sizes in the page are the CLI's own words for them
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(12)).toBe("12 B");
  });
});
