// Small hardening rules, each a regression test of a finding: the PIM command never gets a
// user name as an option, stale spool files of dead processes are swept, the vault key
// appears whole.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pimRun } from "../../src/hooks/pim.ts";
import { sweepStaleSpool } from "../../src/migrate/spool.ts";
import { configSchema } from "../../src/config/schema.ts";

const config = (command: string[]) => configSchema.parse({ domains: { "example.com": { migration: { old: { host: "old.example.com" }, pim: { mode: "command", command } } } } });

describe("PIM command arguments", () => {
  test("a user name starting with '-' is refused as a lone argument, with the fix", () => {
    expect(() => pimRun("/h", config(["/bin/pim", "{user}"]), "-rf@example.com")).toThrow(/would get "-rf@example.com" as an option/);
    try {
      pimRun("/h", config(["/bin/pim", "{localpart}"]), "-x@example.com");
    } catch (e) {
      expect((e as { context?: { hint?: string } }).context?.hint).toContain('put "--" before the {user} argument');
    }
  });
  test("after '--', or inside an option of the command's own, it is passed as given", () => {
    expect(pimRun("/h", config(["/bin/pim", "--", "{user}"]), "-rf@example.com")!.argv).toEqual(["/bin/pim", "--", "-rf@example.com"]);
    expect(pimRun("/h", config(["/bin/pim", "--user={user}"]), "-rf@example.com")!.argv).toEqual(["/bin/pim", "--user=-rf@example.com"]);
    expect(pimRun("/h", config(["/bin/pim", "{user}"]), "ann@example.com")!.argv).toEqual(["/bin/pim", "ann@example.com"]);
  });
});

describe("spool sweep", () => {
  test("files of dead processes go, files of live ones and other files stay", () => {
    const dir = mkdtempSync(join(tmpdir(), "automigrate-spool-"));
    try {
      const dead = Bun.spawnSync(["sh", "-c", "echo $$"]).stdout.toString().trim(); // a pid that has exited
      writeFileSync(join(dir, `${dead}-1700000000000-7.eml`), "x".repeat(1000));
      writeFileSync(join(dir, `${process.pid}-1700000000000-8.eml`), "mine");
      writeFileSync(join(dir, "notes.txt"), "not a spool file");
      expect(sweepStaleSpool(dir)).toEqual({ files: 1, bytes: 1000 });
      expect(existsSync(join(dir, `${dead}-1700000000000-7.eml`))).toBe(false);
      expect(existsSync(join(dir, `${process.pid}-1700000000000-8.eml`))).toBe(true);
      expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe("not a spool file");
      expect(sweepStaleSpool(join(dir, "missing"))).toEqual({ files: 0, bytes: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("vault key", () => {
  test("processes creating the key at once all read the same complete 32 bytes", async () => {
    const home = mkdtempSync(join(tmpdir(), "automigrate-vault-"));
    mkdirSync(join(home, "vault"), { recursive: true });
    try {
      const script = `import { Vault } from ${JSON.stringify(join(import.meta.dir, "../../src/accounts/vault.ts"))};
const v = new Vault(process.argv[2]);
v.put("u" + process.pid + "@example.com", "s3cret");
console.log(v.get("u" + process.pid + "@example.com"));`;
      const file = join(home, "race.ts");
      writeFileSync(file, script);
      const procs = Array.from({ length: 8 }, () => Bun.spawn([process.execPath, file, home], { stdout: "pipe", stderr: "pipe" }));
      const outs = await Promise.all(procs.map(async (p) => [await p.exited, (await new Response(p.stdout).text()).trim(), await new Response(p.stderr).text()]));
      for (const [code, out, err] of outs) expect({ code, out, err }).toEqual({ code: 0, out: "s3cret", err: "" });
      expect(readFileSync(join(home, "vault", "key")).length).toBe(32);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("lock holders across hosts", () => {
  test("a lock names its host; one without a host is this host's", async () => {
    const { holderOf } = await import("../../src/store/lock-file.ts");
    const { hostname } = await import("node:os");
    expect(holderOf("123 abc node-a")).toEqual({ pid: 123, host: "node-a" });
    expect(holderOf("123")).toEqual({ pid: 123, host: hostname() });
    expect(holderOf(undefined)).toEqual({ pid: undefined, host: hostname() });
  });
  test("on this host by the pid; on another host by the heartbeat's age, never by the pid", async () => {
    const { holderGone } = await import("../../src/store/lock-file.ts");
    const alive = (pid: number) => pid === 7;
    expect(holderGone({ pid: 7, host: "here" }, 999_999, 1000, "here", alive)).toBe(false);
    expect(holderGone({ pid: 8, host: "here" }, 0, 1000, "here", alive)).toBe(true);
    // pid 8 is not running here, but it is another host's process: alive while fresh
    expect(holderGone({ pid: 8, host: "there" }, 500, 1000, "here", alive)).toBe(false);
    expect(holderGone({ pid: 7, host: "there" }, 1500, 1000, "here", alive)).toBe(true);
  });
  test("the holder refreshes the lock's mtime while it holds it", async () => {
    const { acquireLock } = await import("../../src/store/lock-file.ts");
    const { mkdtempSync, statSync, utimesSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "automigrate-lease-"));
    const path = join(dir, "x.lock");
    const release = acquireLock(path, { waitMs: 0, what: "the test", leaseMs: 200 });
    const past = new Date(Date.now() - 60_000);
    utimesSync(path, past, past);
    await Bun.sleep(150);
    expect(Date.now() - statSync(path).mtimeMs).toBeLessThan(1000);
    release();
    rmSync(dir, { recursive: true, force: true });
  });
});
