// The console at 120×40 (the built entry, tmux): the room is used — every key of a view in
// the key bar, a domain's whole reason on its row, whole long addresses in the queue, and
// the list as tall as the terminal.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pausedQueue, startDaemon, type DaemonProc } from "./support/daemon.ts";
import { CLI, runCliOk, shq } from "./support/harness.ts";
import { startTerm, type Term } from "./support/tmux.ts";

const LONG = "firstname.middlename.lastname@example.com";
let home: string;
let d: DaemonProc;
let t: Term;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "automigrate-tui-wide-"));
  writeFileSync(join(home, "old.pw"), "x\n", { mode: 0o600 });
  const old = ["migration.old.host=127.0.0.1", "migration.old.imapPort=1", "migration.old.imapTls=none", "migration.old.auth.mode=master", "migration.old.auth.user=admin", `migration.old.auth.passwordFile=${join(home, "old.pw")}`];
  await runCliOk(home, ["domain", "add", "example.com", ...old]);
  await runCliOk(home, ["domain", "enable", "example.com"]);
  await runCliOk(home, ["class", "set", "example.com", "domain-default", "autoMigration=false"]);
  for (let i = 0; i < 50; i++) await runCliOk(home, ["domain", "add", `zz${String(i).padStart(2, "0")}.example`]);
  // a paused daemon with queued accounts, one with a long address
  pausedQueue(home, [LONG, "ann@example.com", "bob@example.com"]);
  d = await startDaemon(home);
  t = startTerm(`${shq(CLI)} --home ${shq(home)} tui`, undefined, { cols: 120, rows: 40 });
  await t.waitFor(/automigrate — Domains — row 1\/51 — daemon running/);
}, 60_000);

afterAll(async () => {
  t?.kill();
  if (d?.proc.exitCode === null) await d.stop();
  rmSync(home, { recursive: true, force: true });
});

describe("console at 120×40", () => {
  test("Domains: progress and more of the reason on the row, the whole reason below, the whole key bar, 33 rows", async () => {
    const s = await t.waitFor(/example\.com\s+Migration Enabled\s+0\/3 done \(0%\), 3 not started {2}PAUSED {2}! class "domain-default"/);
    // in colour: enabled green, the problem red (the screen with its escape sequences; the
    // row under the cursor is drawn inverse, so the cursor moves off it first)
    t.keys("Down");
    await t.waitFor(/row 2\/51/);
    const coloured = spawnSync("tmux", ["capture-pane", "-p", "-e", "-t", t.name], { encoding: "utf8" }).stdout;
    t.keys("Up");
    await t.waitFor(/row 1\/51/);
    expect(coloured).toMatch(/\x1b\[3[12]m(\x1b\[[0-9;]*m)*Migration Enabled/);
    expect(coloured).toMatch(/\x1b\[31m(\x1b\[[0-9;]*m)*! class "domain-default"/);
    expect(s.replace(/\s+/g, " ")).toContain('example.com: class "domain-default" (new accounts) has automatic migration off: logins are not migrated (automigrate class set example.com domain-default autoMigration=true)');
    expect(s).toMatch(/Enter edit {2}e on\/off {2}c classes {2}a add {2}\/ filter {2}Tab queue\s+\? help {2}q quit/);
    // 40 rows: header, 35 for the list (33 inside its border), 3 for messages, the key bar
    expect(s.split("\n").filter((l) => /^│(example\.com|zz\d\d\.example) /.test(l)).length).toBe(33);
  });

  test("Queue: whole long addresses, every key in the bar", async () => {
    t.keys("Tab");
    const s = await t.waitFor(new RegExp(`${LONG.replace(/\./g, "\\.")}\\s+queued`));
    expect(s).toContain("Enter details  m migrate  r retry  x cancel  p pause  f filter  u user  Esc back");
    expect(s).not.toContain("…");
    expect(s).toMatch(/Migration queue — PAUSED {2}queued 3 {2}running 0 {2}waiting 0 {2}failed 0/);
    // o orders by age: the first queued first (the long address was queued first)
    t.keys("o");
    await t.waitFor("sorted by age: the longest waiting first");
    const byAge = await t.waitFor(/PAUSED {2}by age {2}queued 3/);
    const order = byAge.split("\n").filter((l) => /^│\S+@example\.com\s+queued/.test(l)).map((l) => l.slice(1).split(/\s+/)[0]);
    expect(order).toEqual([LONG, "ann@example.com", "bob@example.com"]);
    t.keys("o", "o"); // size, then back to state
    await t.waitFor(/PAUSED {2}queued 3/);
  });

  test("a adds a domain, L sets the licence's seats, a on Classes adds a class: through the CLI's rules", async () => {
    t.keys("Escape");
    await t.waitFor("automigrate — Domains");
    t.keys("a");
    await t.waitFor("Add a domain (e.g. example.com)");
    t.keys("not a domain", "Enter");
    await t.waitFor('"not a domain" is not a domain name');
    t.keys("a");
    await t.waitFor("Add a domain (e.g. example.com)");
    t.keys("new.example", "Enter");
    await t.waitFor("added new.example (Migration Disabled): Enter configures it");
    await t.waitFor(/automigrate — Domains — row 2\/52/); // the new domain, selected
    expect(JSON.parse(readFileSync(join(home, "config.json"), "utf8")).domains["new.example"].migration.enabled).toBe(false);
    t.keys("L");
    await t.waitFor("Premium seats in the licence (now 0)");
    t.keys("C-u", "25", "Enter");
    await t.waitFor("license.premiumSeats: 0 → 25");
    expect(JSON.parse(readFileSync(join(home, "config.json"), "utf8")).license.premiumSeats).toBe(25);
    t.keys("c");
    await t.waitFor("Account classes of new.example");
    t.keys("a");
    await t.waitFor("Add an account class");
    t.keys("staff", "Enter");
    await t.waitFor("added class staff to new.example: automatic migration on");
    await t.waitFor(/\[x\] enable automatic migration {3}staff/);
    t.keys("a");
    await t.waitFor("Add an account class");
    t.keys("staff", "Enter");
    await t.waitFor('class "staff" already exists in new.example');
  });

  test("Configure: every section on one screen with each key beside its label; the meaning on two lines at most", async () => {
    t.keys("Escape");
    await t.waitFor("automigrate — Domains");
    t.keys("Home");
    await t.waitFor(/row 1\/52/);
    t.keys("Enter");
    const s = await t.waitFor("Configure example.com");
    // at 120 columns even the longest keys fit beside their values
    expect(s).toMatch(/│ {2}Log in with\s+master\s+migration\.old\.auth\.mode\s+│/);
    expect(s).toMatch(/│ {2}Master login separator\s+\*\s+migration\.old\.auth\.separator\s+│/);
    // (the path is cut with "…" when the temporary directory is long)
    expect(s).toMatch(/│ {2}Master password file\s+\S+(?:old\.pw|…)\s+migration\.old\.auth\.passwordFile\s+│/);
    for (const section of ["Migration", "Old server", "Accounts", "Folders"]) expect(s).toContain(`── ${section} ─`);
    t.keys("Down", "Down");
    await t.waitFor(/^migration\.continuous: every later login also copies what arrived on the old server since \(true or false; default false\)$/m);
    t.keys("Escape");
    await t.waitFor("automigrate — Domains");
  });
});
