// The automigrate command as an admin uses it: settings, validation, exit codes, files.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, runCliOk } from "./support/harness.ts";

let home: string;
beforeAll(() => {
  // a home that does not exist yet: automigrate creates it (0700)
  home = join(mkdtempSync(join(tmpdir(), "automigrate-cli-")), "home");
});
afterAll(() => rmSync(join(home, ".."), { recursive: true, force: true }));

const configText = () => readFileSync(join(home, "config.json"), "utf8");

describe("settings from the command line", () => {
  test("config set writes config.json 0600 in a 0700 home; config get reads it back", async () => {
    await runCliOk(home, ["config", "set", "target.host=mail.example.net", "target.port=993", "target.tls=implicit"]);
    expect(statSync(join(home, "config.json")).mode & 0o777).toBe(0o600);
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await runCliOk(home, ["config", "get", "target"]))).toMatchObject({ host: "mail.example.net", port: 993, tls: "implicit", tlsVerify: true });
  });

  test("a bad value is refused with its path, value and what is allowed; exit 2; file untouched", async () => {
    const before = configText();
    const r = await runCli(home, ["config", "set", "target.port=70000"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("target.port: 70000 is not a port (1-65535)");
    expect(configText()).toBe(before);
  });

  test("an unknown key is refused rather than ignored", async () => {
    const r = await runCli(home, ["config", "set", "target.hots=x"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('target: unknown setting "hots" (did you mean "host"?)');
  });

  test("passwords are refused on the command line", async () => {
    const r = await runCli(home, ["config", "set", "target.auth.password=hunter2"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("passwordFile");
  });

  test("domains: add, set with dotted keys, show --json, list alphabetically", async () => {
    await runCliOk(home, ["domain", "add", "zeta.example"]);
    await runCliOk(home, ["domain", "add", "Alpha.Example"]);
    // each change is confirmed as "key: before → after"; a no-op says so
    expect(await runCliOk(home, ["domain", "set", "alpha.example", "migration.old.host=old.alpha.example", "migration.old.imapPort=993", "migration.old.imapTls=implicit", "migration.continuous=true"])).toBe(
      "alpha.example: migration.old.imapTls: starttls → implicit\nalpha.example: migration.old.host: (not set) → old.alpha.example\nalpha.example: migration.old.imapPort: (not set) → 993\nalpha.example: migration.continuous: false → true\n",
    );
    expect(await runCliOk(home, ["domain", "set", "alpha.example", "migration.continuous=true"])).toBe("alpha.example: nothing changed (the settings already had these values)\n");
    const shown = JSON.parse(await runCliOk(home, ["domain", "show", "alpha.example", "--json"]));
    expect(shown.migration).toMatchObject({ enabled: false, continuous: true, old: { host: "old.alpha.example", imapPort: 993, imapTls: "implicit", tlsVerify: true } });
    const list = JSON.parse(await runCliOk(home, ["domain", "list", "--json"]));
    expect(list.map((d: { name: string }) => d.name)).toEqual(["alpha.example", "zeta.example"]);
    expect(await runCliOk(home, ["domain", "list"])).toMatch(/^alpha\.example\s+Migration Disabled\nzeta\.example\s+Migration Disabled\n$/);
  });

  test("set --help lists every setting from the schema, with its values, default and meaning", async () => {
    const domainHelp = (await runCliOk(home, ["domain", "set", "--help"])).replace(/\s+/g, " ");
    for (const line of [
      "migration.old.login (text; default {user}) the login name on the old server: {user} (the address), {localpart}",
      "migration.old.auth.mode (master|captured|csv|oauth2)",
      "migration.old.imapTls (none|starttls|implicit; default starttls)",
      "classes.<class>.autoMigration (true|false; default true)",
      "ldap.filter (text; default (&(objectClass=inetOrgPerson)(mail={user})))",
    ]) expect(domainHelp).toContain(line);
    const globalHelp = (await runCliOk(home, ["config", "set", "--help"])).replace(/\s+/g, " ");
    for (const line of ["target.login (text; default {user})", "logins.<n>.format (dovecot|jsonl|regex; default dovecot)", "firstLogin.windowMin (number; default 15) the window of both limits, minutes", "workers.total (number; default 4) users migrated at once"]) expect(globalHelp).toContain(line);
    expect(globalHelp).not.toContain("domains.");
    expect(await runCliOk(home, ["config", "set", "workers.total=6"])).toBe("workers.total: 4 → 6\n");
  });

  test("domain errors: unknown domain, bad name, duplicate — exit 2 with the fix", async () => {
    let r = await runCli(home, ["domain", "set", "nosuch.example", "migration.continuous=true"]);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining("automigrate domain add nosuch.example")]);
    r = await runCli(home, ["domain", "add", "not a domain"]);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining("is not a domain name")]);
    r = await runCli(home, ["domain", "add", "zeta.example"]);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining("already exists")]);
    r = await runCli(home, ["domain", "set", "zeta.example", "migration.old.imapTls=ssl"]);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('migration.old.imapTls: "ssl" is not a TLS mode (none, starttls, implicit)')]);
  });

  test("migrate: bad user, unknown domain, missing old server — exit 2 with the fix", async () => {
    let r = await runCli(home, ["migrate", "alice"]);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('"alice" is not a valid user address: it is not user@domain')]);
    r = await runCli(home, ["migrate", "alice@nosuch.example"]);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining("automigrate domain add nosuch.example")]);
    r = await runCli(home, ["migrate", "bob@zeta.example"]);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining("migration.old.host=")]);
  });

  test("usage errors exit 2; --help exits 0 on every command", async () => {
    expect((await runCli(home, ["frobnicate"])).code).toBe(2);
    expect((await runCli(home, ["migrate"])).code).toBe(2);
    const commands = [
      [], ["config"], ["config", "set"], ["config", "get"],
      ["domain"], ["domain", "add"], ["domain", "set"], ["domain", "show"], ["domain", "list"], ["domain", "enable"], ["domain", "disable"], ["domain", "remove"],
      ["class"], ["class", "list"], ["class", "add"], ["class", "set"], ["class", "remove"],
      ["migrate"], ["verify"], ["pause"], ["resume"], ["retry"], ["sweep"], ["test-connection"], ["daemon"], ["status"], ["tui"], ["demo"], ["checkpassword"], ["import-users"], ["license"],
    ];
    for (const cmd of commands) {
      const r = await runCli(home, [...cmd, "--help"]);
      expect({ cmd, code: r.code }).toEqual({ cmd, code: 0 });
      expect(r.stdout).toContain("Usage: automigrate");
      // every command that does something shows how to use it
      if (cmd.length === 2 || (cmd.length === 1 && !["config", "domain", "class"].includes(cmd[0]!))) expect({ cmd, example: /Examples?:/.test(r.stdout) }).toEqual({ cmd, example: true });
    }
  });

  test("a corrupt config.json is reported by name and never replaced", async () => {
    const other = mkdtempSync(join(tmpdir(), "automigrate-corrupt-"));
    try {
      writeFileSync(join(other, "config.json"), "{ not json");
      const r = await runCli(other, ["domain", "add", "x.example"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${join(other, "config.json")} is corrupt`);
      expect(readFileSync(join(other, "config.json"), "utf8")).toBe("{ not json");
      expect(existsSync(join(other, "config.json.lock"))).toBe(false);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
