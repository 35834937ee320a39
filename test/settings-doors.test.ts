// One rule, one place: a domain's settings change through the same core function whichever
// door they come through. The CLI (`domain set`) and the daemon's control socket
// (POST /domains/<domain>) are driven here side by side and must end the same: switching
// migration off wipes the domain's captured passwords and says how many; enabling an
// LDAP-synced domain is refused with the product's text and nothing changes; a bad value is
// refused with its key. (The console's door is driven in test/tui.test.ts.)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Vault } from "../src/accounts/vault.ts";
import { homePaths } from "../src/home.ts";
import { startDaemon, waitFor, type DaemonProc } from "./support/daemon.ts";
import { runCli, runCliOk, startHarness, type Harness } from "./support/harness.ts";

let h: Harness;
let d: DaemonProc;
const cfg = () => JSON.parse(readFileSync(join(h.home, "config.json"), "utf8"));

beforeAll(async () => {
  h = await startHarness();
  const old = [`migration.old.host=${h.old.host}`, `migration.old.imapPort=${h.old.port}`, "migration.old.imapTls=none", "migration.old.auth.mode=master", "migration.old.auth.user=admin", `migration.old.auth.passwordFile=${join(h.home, "old-master.pw")}`];
  await runCliOk(h.home, ["domain", "add", "ldap.example", ...old, "ldap.sync=true"]);
  await runCliOk(h.home, ["domain", "enable", "example.com"]);
  d = await startDaemon(h.home);
}, 60_000);

afterAll(async () => {
  await d?.stop();
  await h?.stop();
});

/** Two captured passwords of example.com and one of another domain, in the vault. */
function capture(): void {
  const v = new Vault(h.home);
  v.put("a@example.com", "pw-a");
  v.put("b@example.com", "pw-b");
  v.put("c@ldap.example", "pw-c");
}

describe("a domain's settings through every door", () => {
  test("switching migration off wipes the domain's captured passwords: the CLI and the control socket alike", async () => {
    capture();
    const cli = await runCli(h.home, ["domain", "set", "example.com", "migration.enabled=false"]);
    expect([cli.code, cli.stdout]).toEqual([0, "example.com: migration.enabled: true → false\nexample.com: migration switched off (2 captured passwords wiped)\n"]);
    const wipedByCli = { enabled: cfg().domains["example.com"].migration.enabled, a: new Vault(h.home).get("a@example.com"), c: new Vault(h.home).get("c@ldap.example") };

    await runCliOk(h.home, ["domain", "enable", "example.com"]);
    capture();
    const socket = await d.post("/domains/example.com", { set: ["migration.enabled=false"] });
    expect(socket).toEqual({ domain: "example.com", changes: [{ key: "migration.enabled", before: true, after: false }], wiped: 2 });
    const wipedBySocket = { enabled: cfg().domains["example.com"].migration.enabled, a: new Vault(h.home).get("a@example.com"), c: new Vault(h.home).get("c@ldap.example") };
    expect(wipedBySocket).toEqual(wipedByCli);
    expect(wipedByCli).toEqual({ enabled: false, a: undefined, c: "pw-c" });
    await runCliOk(h.home, ["domain", "enable", "example.com"]);
  });

  test("an LDAP-synced domain cannot enable migration, by either door; nothing changes", async () => {
    const cli = await runCli(h.home, ["domain", "set", "ldap.example", "migration.enabled=true"]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain("Domain migration couldn't be enabled!");
    const r = await fetch("http://automigrate/domains/ldap.example", { method: "POST", body: JSON.stringify({ set: ["migration.enabled=true"] }), unix: homePaths(h.home).controlSocket } as RequestInit);
    expect(r.status).toBe(409);
    const body = (await r.json()) as { error: string };
    expect(body.error).toContain("Domain migration couldn't be enabled!");
    expect(body.error).toContain("reason: LDAP synchronisation is on for ldap.example");
    expect(cfg().domains["ldap.example"].migration.enabled).toBe(false);
  });

  test("a bad value or an unknown key is refused with its key by either door; a password never goes through it", async () => {
    const cli = await runCli(h.home, ["domain", "set", "example.com", "migration.parallelFolders=many"]);
    expect([cli.code, cli.stderr]).toEqual([2, expect.stringContaining('migration.parallelFolders: "many" is not a number')]);
    expect(await d.post("/domains/example.com", { set: ["migration.parallelFolders=many"] })).toEqual({ code: "INPUT", error: expect.stringContaining('migration.parallelFolders: "many" is not a number') });
    expect(await d.post("/domains/example.com", { set: ["migration.old.imapport=993"] })).toEqual({ code: "INPUT", error: expect.stringContaining('unknown setting "imapport"') });
    expect(await d.post("/domains/example.com", { set: ["migration.old.auth.password=x"] })).toEqual({ code: "INPUT", error: expect.stringContaining("never given on the command line") });
    expect(await d.post("/domains/example.com", { set: "migration.enabled=false" })).toEqual({ code: "INPUT", error: expect.stringContaining("set is required") });
    expect(await d.post("/domains/nowhere.example", { set: ["migration.enabled=false"] })).toEqual({ code: "NOT_FOUND", error: expect.stringContaining("domain nowhere.example is not configured") });
    expect(cfg().domains["example.com"].migration).toMatchObject({ enabled: true, parallelFolders: 2 });
  });

  test("no key reaches a prototype by any door: the CLI, the control socket, a hand-edited file; the running daemon still acts on a later change", async () => {
    for (const pair of ["__proto__.polluted=1", "constructor.prototype.polluted=1", 'migration.folders.rename={"__proto__":{"polluted":1}}']) {
      const cli = await runCli(h.home, ["domain", "set", "example.com", pair]);
      expect([cli.code, cli.stderr]).toEqual([2, expect.stringMatching(/"(__proto__|constructor)" is not a setting name/)]);
      const r = await fetch("http://automigrate/domains/example.com", { method: "POST", body: JSON.stringify({ set: [pair] }), unix: homePaths(h.home).controlSocket } as RequestInit);
      expect([r.status, ((await r.json()) as { error: string }).error]).toEqual([400, expect.stringMatching(/is not a setting name/)]);
    }
    const classAdd = await runCli(h.home, ["class", "add", "example.com", "constructor"]);
    expect([classAdd.code, classAdd.stderr]).toEqual([2, expect.stringContaining('"constructor" is reserved')]);
    // the daemon's settings were never poisoned: a later change by the CLI is picked up as usual
    const mark = d.output().length;
    await runCliOk(h.home, ["domain", "set", "example.com", "migration.parallelFolders=3"]);
    await waitFor(() => d.output().slice(mark).includes("settings reloaded"), 10_000, "the daemon reloading its settings");
    expect(d.output()).not.toContain("settings not reloaded");
    // a hand-edited file with such a key is refused by name, and the daemon keeps its settings
    const good = readFileSync(join(h.home, "config.json"), "utf8");
    const bad = JSON.parse(good);
    bad.domains["example.com"].classes = JSON.parse('{"__proto__": {"quota": "1G"}}');
    writeFileSync(join(h.home, "config.json"), JSON.stringify(bad));
    const list = await runCli(h.home, ["domain", "list"]);
    expect([list.code, list.stderr]).toEqual([1, expect.stringContaining('domains.example.com.classes.__proto__: "__proto__" is not a setting name')]);
    await waitFor(() => d.output().includes("settings not reloaded: keeping the previous ones"), 10_000, "the daemon refusing the file");
    writeFileSync(join(h.home, "config.json"), good);
    expect(d.proc.exitCode).toBeNull();
  });

  test("removing a domain whose migration is on wipes its captured passwords, as switching it off does", async () => {
    await runCliOk(h.home, ["domain", "add", "gone.example", `migration.old.host=${h.old.host}`, "migration.old.auth.mode=captured"]);
    await runCliOk(h.home, ["domain", "enable", "gone.example"]);
    const v = new Vault(h.home);
    v.put("a@gone.example", "pw-a");
    v.put("b@gone.example", "pw-b");
    v.put("keep@example.com", "pw-k");
    const refused = await runCli(h.home, ["domain", "remove", "gone.example"]);
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining("migration is enabled for gone.example")]);
    expect(new Vault(h.home).get("a@gone.example")).toBe("pw-a");
    const r = await runCli(h.home, ["domain", "remove", "gone.example", "--yes"]);
    expect([r.code, r.stdout]).toEqual([0, "removed gone.example (2 captured passwords wiped)\n"]);
    expect([new Vault(h.home).get("a@gone.example"), new Vault(h.home).get("b@gone.example"), new Vault(h.home).get("keep@example.com")]).toEqual([undefined, undefined, "pw-k"]);
    expect(cfg().domains["gone.example"]).toBeUndefined();
  });
});
