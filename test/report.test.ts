// automigrate report, from the built entry, over accounts migrated from a real Dovecot: one
// done (a folder renamed by a rule whose name holds a comma and quotes), one partial (a message
// too large), one failed (no such account on the old server), one not started (imported, queued).
// The CSV is read by a real RFC 4180 parser; the HTML is opened in a real headless browser
// (Debian's chromium through puppeteer-core): its numbers equal the CSV's, sorting by a column
// and filtering by state work, and a screenshot at 1280 and at 390 px wide is written
// ($AUTOMIGRATE_SCREENSHOTS, default: this run's temporary directory) for a person to look at.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { parse } from "csv-parse/sync";
import puppeteer, { type Browser } from "puppeteer-core";
import { migrateJson, runCli, runCliOk, startHarness, type Harness } from "./support/harness.ts";
import { makeMessage, seed } from "./support/mail.ts";
import { requireChromium } from "./support/requires.ts";

const RENAMED = 'Projects, "2024"';
let h: Harness;
let browser: Browser | undefined;
const screenshots = process.env.AUTOMIGRATE_SCREENSHOTS ?? join(tmpdir(), "report-screenshots");

beforeAll(async () => {
  const chromium = requireChromium();
  h = await startHarness({
    users: ["alice@example.com", "bob@example.com"],
    domainSettings: ["migration.maxMessageBytes=1048576", `migration.folders.rename=${JSON.stringify({ [RENAMED]: "Projects 2024" })}`],
  });
  await seed(h.old, "alice@example.com", [{ path: RENAMED }], [
    ...Array.from({ length: 5 }, (_, i) => ({ folder: "INBOX", raw: makeMessage(i) })),
    { folder: RENAMED, raw: makeMessage(9, { bodyBytes: 3000 }) },
  ]);
  await seed(h.old, "bob@example.com", [], [
    { folder: "INBOX", raw: makeMessage(1) },
    { folder: "INBOX", raw: makeMessage(2, { bodyBytes: 1_200_000 }) },
  ]);
  expect((await migrateJson(h.home, "alice@example.com")).report.status).toBe("done");
  expect((await migrateJson(h.home, "bob@example.com")).report.status).toBe("partial");
  // carol has no mailbox on the old server (nor the new): her run fails
  expect((await runCli(h.home, ["migrate", "carol@example.com"])).code).toBe(1);
  // dave's account is created by an import (no daemon runs: nothing is queued), never migrated
  const csv = join(h.home, "import.csv");
  writeFileSync(csv, "dave@example.com;Dave-pw-1\n");
  await runCliOk(h.home, ["config", "set", "provisioning.driver=passwd-file", `provisioning.passwdFile=${h.target.passwdPath}`]);
  await runCliOk(h.home, ["domain", "enable", "example.com"]);
  const imported = await runCliOk(h.home, ["import-users", csv]);
  expect(imported).toContain("created (basic) — its migration is not queued: the daemon is not running");
  browser = await puppeteer.launch({ executablePath: chromium, args: ["--no-sandbox", "--headless=new"] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

const report = (...args: string[]) => runCli(h.home, ["report", ...args]);

function csvRows(text: string): Record<string, string>[] {
  return parse(text, { columns: true });
}

describe("automigrate report", () => {
  test("CSV: one row per known account, with the run's numbers, skipped codes, the renamed folder and the error code", async () => {
    const r = await report("--format", "csv");
    expect(r.code).toBe(0);
    const rows = csvRows(r.stdout);
    expect(rows.map((x) => [x.user, x.state])).toEqual([
      ["alice@example.com", "done"],
      ["bob@example.com", "partial"],
      ["carol@example.com", "failed"],
      ["dave@example.com", "not_started"],
    ]);
    const [alice, bob, carol, dave] = rows as [Record<string, string>, Record<string, string>, Record<string, string>, Record<string, string>];
    expect(alice).toMatchObject({ domain: "example.com", oldMessages: "6", messagesCopied: "6", messagesSkipped: "0", renamedFolders: `${RENAMED} → Projects 2024`, lastErrorCode: "" });
    expect(Number(alice.bytesCopied)).toBeGreaterThan(3000);
    // every message came across: the old size is the copied size
    expect(alice.oldBytes).toBe(alice.bytesCopied);
    expect(alice.firstRun).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(bob).toMatchObject({ oldMessages: "2", messagesCopied: "1", messagesSkipped: "1", skippedByCode: "TOO_LARGE:1" });
    // the skipped message's 1.2 MB is on the old server, not among the copied bytes
    expect(Number(bob.oldBytes) - Number(bob.bytesCopied)).toBeGreaterThan(1_200_000);
    expect(carol.lastErrorCode).not.toBe("");
    expect(carol.lastError).not.toBe("");
    expect(dave).toMatchObject({ messagesCopied: "0", lastRun: "", class: "domain-default", tier: "basic" });
  });

  test("filters: --domain and --state; a bad state or an unknown domain is refused with the value", async () => {
    const failed = csvRows((await report("--format", "csv", "--domain", "EXAMPLE.com", "--state", "failed")).stdout);
    expect(failed.map((x) => x.user)).toEqual(["carol@example.com"]);
    const bad = await report("--format", "csv", "--state", "stuck");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("stuck");
    const unknown = await report("--format", "csv", "--domain", "nowhere.example");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("nowhere.example is not configured");
    expect((await report("--format", "pdf")).code).toBe(2);
  });

  test("JSON: the same rows as the CSV, numbers as numbers, with the domain totals", async () => {
    const csv = csvRows((await report("--format", "csv")).stdout);
    const doc = JSON.parse((await report("--format", "json")).stdout);
    expect(doc.accounts.map((a: Record<string, unknown>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, String(v)])))).toEqual(csv);
    expect(doc.domains).toEqual([expect.objectContaining({ domain: "example.com", accounts: 4, byState: { not_started: 1, done: 1, partial: 1, failed: 1 }, messagesCopied: 7 })]);
  });

  test("--output writes the file whole (no part file left) and says how many accounts", async () => {
    const file = join(h.home, "report.html");
    const r = await report("--format", "html", "--output", file);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`report: 4 accounts written to ${file}`);
    expect(readFileSync(file, "utf8")).toStartWith("<!doctype html>");
    expect(readdirSync(h.home).filter((f) => f.includes(".part-"))).toEqual([]);
    const nowhere = await report("--format", "csv", "--output", join(h.home, "no-such-dir", "r.csv"));
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain("cannot write the report next to");
    expect(nowhere.stderr).toContain("ENOENT");
  });

  test("HTML in a real browser: its numbers equal the CSV's, every column sorts, the state filter filters, phone width readable", async () => {
    const csv = csvRows((await report("--format", "csv")).stdout);
    const file = join(h.home, "report.html");
    await runCliOk(h.home, ["report", "--format", "html", "--output", file]);
    const page = await browser!.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    // offline: a request for anything outside the file would fail the page
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(`file://${file}`);
    expect(requests.filter((u) => !u.startsWith("file://"))).toEqual([]);
    const k = (key: string) => page.$eval(`#overall [data-k="${key}"]`, (e) => e.textContent);
    const sum = (col: string) => String(csv.reduce((n, r) => n + Number(r[col]), 0));
    expect(await k("accounts")).toBe(String(csv.length));
    for (const s of ["done", "partial", "failed", "not_started"]) expect(await k(s)).toBe(String(csv.filter((r) => r.state === s).length));
    expect(await k("messagesCopied")).toBe(sum("messagesCopied"));
    expect(await k("oldMessages")).toBe(sum("oldMessages"));
    expect(await page.$eval('#overall [data-k="oldBytes"]', (e) => e.getAttribute("data-v"))).toBe(sum("oldBytes"));
    expect(await k("messagesSkipped")).toBe(sum("messagesSkipped"));
    expect(await page.$eval('#overall [data-k="bytesCopied"]', (e) => e.getAttribute("data-v"))).toBe(sum("bytesCopied"));
    expect(await page.$eval('#domains tr[data-domain="example.com"] [data-k="accounts"]', (e) => e.textContent)).toBe("4");
    // the table: the CSV's users in its order, every cell's value the CSV's
    const cells = () => page.$$eval("#accounts tbody tr:not([hidden])", (rows) => rows.map((r) => Array.from((r as unknown as { cells: ArrayLike<{ getAttribute(n: string): string | null }> }).cells, (c) => c.getAttribute("data-v") ?? "")));
    const columns = await page.$$eval("#accounts thead th", (ths) => ths.map((t) => t.getAttribute("data-col")!));
    expect(await cells()).toEqual(csv.map((r) => columns.map((c) => r[c]!)));
    // sort by messagesCopied: ascending, then descending, as numbers
    const col = columns.indexOf("messagesCopied");
    const copied = async () => (await cells()).map((r) => Number(r[col]));
    await page.click('#accounts th[data-col="messagesCopied"]');
    const asc = await copied();
    expect(asc).toEqual([...asc].sort((a, b) => a - b));
    await page.click('#accounts th[data-col="messagesCopied"]');
    const desc = await copied();
    expect(desc).toEqual([...asc].sort((a, b) => b - a));
    expect(desc[0]).toBe(6);
    // sort by user (text), every column answers a click
    for (const c of columns) await page.click(`#accounts th[data-col="${c}"]`);
    await page.click('#accounts th[data-col="user"]');
    expect((await cells()).map((r) => r[0])).toEqual(csv.map((r) => r.user).sort());
    // filter by state
    await page.select("#state", "failed");
    expect((await cells()).map((r) => r[0])).toEqual(["carol@example.com"]);
    expect(await page.$eval("#shown", (e) => e.textContent)).toBe("1");
    await page.select("#state", "");
    expect((await cells()).length).toBe(4);
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, "report-1280.png"), fullPage: true });
    // phone width: the page itself does not scroll sideways (the wide table scrolls in its box)
    await page.setViewport({ width: 390, height: 844, isMobile: true });
    await page.reload();
    expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(screenshots, "report-390.png"), fullPage: true });
    expect(existsSync(join(screenshots, "report-1280.png")) && existsSync(join(screenshots, "report-390.png"))).toBe(true);
    await page.close();
  });

  test("the old size follows later passes, and is counted whole for a folder whose state never had it (an earlier version)", async () => {
    const oldOf = async () => csvRows((await report("--format", "csv", "--state", "done")).stdout).find((r) => r.user === "alice@example.com")!;
    await seed(h.old, "alice@example.com", [], [{ folder: "INBOX", raw: makeMessage(20, { bodyBytes: 5000 }) }]);
    expect((await migrateJson(h.home, "alice@example.com")).report.messages).toBe(1);
    const after = await oldOf();
    expect(after.oldBytes).toBe(after.bytesCopied);
    // a state document written before oldBytes was kept: the next pass that opens the folder counts it from UID 1
    const file = join(h.home, "state", "accounts", "alice@example.com.json");
    const doc = JSON.parse(readFileSync(file, "utf8"));
    for (const f of Object.values(doc.folders) as { oldBytes?: number }[]) delete f.oldBytes;
    writeFileSync(file, JSON.stringify(doc));
    await seed(h.old, "alice@example.com", [], [{ folder: "INBOX", raw: makeMessage(21) }]);
    await migrateJson(h.home, "alice@example.com");
    const inbox = JSON.parse(readFileSync(file, "utf8")).folders.INBOX;
    expect(inbox.oldBytes).toBe(inbox.bytes);
  });
});
