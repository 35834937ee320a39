// The settings model through the CLI: enable/disable and the LDAP-sync guard, classes,
// removal, concurrent writers, schema version.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, runCliOk } from "./support/harness.ts";

let root: string;
let home: string;
const D = "example.com";
const cfg = () => JSON.parse(readFileSync(join(home, "config.json"), "utf8"));

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automigrate-settings-"));
  home = join(root, "home");
  await runCliOk(home, ["domain", "add", D]);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("enable / disable", () => {
  test("enabling an incomplete domain is refused with the reasons, exit 1, nothing changed", async () => {
    const before = readFileSync(join(home, "config.json"), "utf8");
    const r = await runCli(home, ["domain", "enable", D]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Domain migration couldn't be enabled!");
    expect(r.stderr).toContain("reason: no old server is set");
    expect(readFileSync(join(home, "config.json"), "utf8")).toBe(before);
  });

  test("a complete domain enables and disables; list shows the status", async () => {
    await runCliOk(home, ["domain", "set", D, "migration.old.host=old.example.com", "migration.old.auth.mode=master", "migration.old.auth.user=admin", "migration.old.auth.passwordFile=/etc/pw"]);
    expect(await runCliOk(home, ["domain", "enable", D])).toBe(`${D}: Migration Enabled\n`);
    expect(cfg().domains[D].migration.enabled).toBe(true);
    expect(await runCliOk(home, ["domain", "list"])).toMatch(/^example\.com\s+Migration Enabled\n$/);
    expect(await runCliOk(home, ["domain", "disable", D])).toBe(`${D}: Migration Disabled\n`);
    expect(cfg().domains[D].migration.enabled).toBe(false);
  });

  test("LDAP sync on: enabling is refused with the exact headline and the reason", async () => {
    await runCliOk(home, ["domain", "set", D, "ldap.sync=true"]);
    const r = await runCli(home, ["domain", "enable", D]);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith("automigrate: Domain migration couldn't be enabled!\n  reason: LDAP synchronisation is on for example.com");
    expect(cfg().domains[D].migration.enabled).toBe(false);
    // also through `domain set migration.enabled=true`
    const s = await runCli(home, ["domain", "set", D, "migration.enabled=true"]);
    expect([s.code, s.stderr.split("\n")[0]]).toEqual([1, "automigrate: Domain migration couldn't be enabled!"]);
    await runCliOk(home, ["domain", "set", D, "ldap.sync=false"]);
  });

  test("turning LDAP sync on for a migrating domain is refused the same way", async () => {
    await runCliOk(home, ["domain", "enable", D]);
    const r = await runCli(home, ["domain", "set", D, "ldap.sync=true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("LDAP synchronisation couldn't be enabled!");
    expect(r.stderr).toContain(`automigrate domain disable ${D}`);
    expect(cfg().domains[D].ldap.sync).toBe(false);
    await runCliOk(home, ["domain", "disable", D]);
  });

  test("a hand-edited file with both on is reported and the domain is not migrated", async () => {
    const other = join(root, "hand");
    await runCliOk(other, ["domain", "add", "hand.example"]);
    const c = JSON.parse(readFileSync(join(other, "config.json"), "utf8"));
    c.domains["hand.example"].migration.enabled = true;
    c.domains["hand.example"].ldap.sync = true;
    writeFileSync(join(other, "config.json"), JSON.stringify(c));
    const list = JSON.parse(await runCliOk(other, ["domain", "list", "--json"]));
    expect(list[0].problems[0]).toStartWith("Domain migration couldn't be enabled! hand.example has both migration and LDAP synchronisation on");
    const r = await runCli(other, ["migrate", "alice@hand.example"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("hand.example cannot be migrated");
  });
});

describe("account classes", () => {
  test("domain default plus named classes, with automatic migration per class", async () => {
    await runCliOk(home, ["class", "add", D, "staff", "quota=20G"]);
    await runCliOk(home, ["class", "add", D, "interns", "autoMigration=false"]);
    await runCliOk(home, ["class", "set", D, "domain-default", "quota=5G"]);
    const rows = JSON.parse(await runCliOk(home, ["class", "list", D, "--json"]));
    expect(rows).toEqual([
      { name: "domain-default", autoMigration: true, quota: "5G", services: null, usedForNewAccounts: true },
      { name: "interns", autoMigration: false, quota: null, services: null, usedForNewAccounts: false },
      { name: "staff", autoMigration: true, quota: "20G", services: null, usedForNewAccounts: false },
    ]);
  });

  test("the class for new accounts must exist and cannot be removed while used", async () => {
    let r = await runCli(home, ["domain", "set", D, "migration.accountClass=nosuch"]);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('migration.accountClass: no class "nosuch" in example.com (classes: domain-default, interns, staff)')]);
    await runCliOk(home, ["domain", "set", D, "migration.accountClass=staff"]);
    r = await runCli(home, ["class", "remove", D, "staff"]);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('class "staff" is used for new accounts')]);
    await runCliOk(home, ["class", "remove", D, "interns"]);
    expect(Object.keys(cfg().domains[D].classes)).toEqual(["staff"]);
    r = await runCli(home, ["class", "set", D, "staff", "quota=1"]);
    expect(r.code).toBe(0);
    r = await runCli(home, ["class", "set", D, "staff", "autoMigration=maybe"]);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining("autoMigration")]);
  });
});

describe("storage", () => {
  test("concurrent writers (12 processes at once) never lose an update", async () => {
    const h = join(root, "concurrent");
    await runCliOk(h, ["domain", "add", "base.example"]);
    const results = await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => runCli(h, ["domain", "add", `d${i}.example`])),
      ...Array.from({ length: 4 }, (_, i) => runCli(h, ["class", "add", "base.example", `c${i}`])),
    ]);
    expect(results.map((r) => r.code)).toEqual(Array(12).fill(0));
    const c = JSON.parse(readFileSync(join(h, "config.json"), "utf8"));
    expect(Object.keys(c.domains).sort()).toEqual(["base.example", ...Array.from({ length: 8 }, (_, i) => `d${i}.example`)].sort());
    expect(Object.keys(c.domains["base.example"].classes).sort()).toEqual(["c0", "c1", "c2", "c3"]);
  });

  test("a file from a newer automigrate is refused by name, not rewritten", async () => {
    const h = join(root, "newer");
    await runCliOk(h, ["domain", "add", "x.example"]);
    const c = JSON.parse(readFileSync(join(h, "config.json"), "utf8"));
    c.version = 2;
    writeFileSync(join(h, "config.json"), JSON.stringify(c));
    const r = await runCli(h, ["domain", "list"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(h, "config.json")} has schema version 2; this automigrate knows up to 1`);
  });

  test("remove: refused while enabled unless --yes", async () => {
    await runCliOk(home, ["domain", "enable", D]);
    const r = await runCli(home, ["domain", "remove", D]);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining("--yes")]);
    await runCliOk(home, ["domain", "remove", D, "--yes"]);
    expect(cfg().domains).toEqual({});
  });
});
