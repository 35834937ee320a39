// Vault, licence tiers and the command provisioner, without servers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chooseTier } from "../src/accounts/license.ts";
import { Vault } from "../src/accounts/vault.ts";
import { runCli, runCliOk } from "./support/harness.ts";

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "automigrate-accounts-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("vault", () => {
  test("AES-256-GCM records: round trip, fresh nonce each time, key 0600, no clear text", () => {
    const home = join(root, "v1");
    const v = new Vault(home);
    v.put("alice@example.com", "Secret-1");
    const first = readFileSync(join(home, "vault", "alice@example.com.json"), "utf8");
    v.put("alice@example.com", "Secret-1");
    const second = readFileSync(join(home, "vault", "alice@example.com.json"), "utf8");
    expect(first).not.toBe(second); // new nonce
    expect(first).not.toContain("Secret-1");
    expect(new Vault(home).get("alice@example.com")).toBe("Secret-1");
    expect(statSync(join(home, "vault", "key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "vault")).mode & 0o777).toBe(0o700);
    expect(v.get("nobody@example.com")).toBeUndefined();
  });

  test("a record moved to another user, or tampered with, does not decrypt", () => {
    const home = join(root, "v2");
    const v = new Vault(home);
    v.put("alice@example.com", "Secret-2");
    const rec = readFileSync(join(home, "vault", "alice@example.com.json"), "utf8");
    writeFileSync(join(home, "vault", "mallory@example.com.json"), rec);
    expect(() => v.get("mallory@example.com")).toThrow(/cannot be decrypted/);
    const r = JSON.parse(rec);
    // one bit flipped (replacing a byte with a fixed one left it unchanged once in 256 runs)
    const ct = Buffer.from(r.ct, "base64");
    ct[0] = ct[0]! ^ 1;
    r.ct = ct.toString("base64");
    writeFileSync(join(home, "vault", "alice@example.com.json"), JSON.stringify(r));
    expect(() => v.get("alice@example.com")).toThrow(/cannot be decrypted/);
  });

  test("domain disable wipes the domain's captured passwords, and only those", async () => {
    const home = join(root, "v3");
    await runCliOk(home, ["domain", "add", "example.com", "migration.old.host=old.example.com", "migration.old.auth.mode=captured"]);
    await runCliOk(home, ["domain", "enable", "example.com"]);
    const v = new Vault(home);
    v.put("a@example.com", "x");
    v.put("b@example.com", "y");
    v.put("c@other.example", "z");
    expect(await runCliOk(home, ["domain", "disable", "example.com"])).toBe("example.com: Migration Disabled (2 captured passwords wiped)\n");
    expect(existsSync(join(home, "vault", "a@example.com.json"))).toBe(false);
    expect(v.get("c@other.example")).toBe("z");
  });

  test("the same rule through domain set migration.enabled=false (one rule for every door)", async () => {
    const home = join(root, "v4");
    await runCliOk(home, ["domain", "add", "example.com", "migration.old.host=old.example.com", "migration.old.auth.mode=captured"]);
    await runCliOk(home, ["domain", "enable", "example.com"]);
    new Vault(home).put("a@example.com", "x");
    expect(await runCliOk(home, ["domain", "set", "example.com", "migration.enabled=false"])).toBe("example.com: migration.enabled: true → false\nexample.com: migration switched off (1 captured password wiped)\n");
    expect(existsSync(join(home, "vault", "a@example.com.json"))).toBe(false);
    // a change that leaves migration off wipes nothing more (and says only what changed)
    new Vault(home).put("b@example.com", "y");
    expect(await runCliOk(home, ["domain", "set", "example.com", "migration.continuous=true"])).toBe("example.com: migration.continuous: false → true\n");
    expect(new Vault(home).get("b@example.com")).toBe("y");
  });
});

describe("licence", () => {
  test("premium while seats remain and the domain asks for it; basic otherwise", () => {
    expect(chooseTier(true, 2, 1)).toBe("premium");
    expect(chooseTier(true, 2, 2)).toBe("basic");
    expect(chooseTier(false, 2, 0)).toBe("basic");
  });
});

describe("command provisioner", () => {
  test("JSON on stdin with the class, tier and a strong hash; the exit code decides", async () => {
    const home = join(root, "cmd");
    const seen = join(root, "seen.jsonl");
    const script = join(root, "create-account.sh");
    writeFileSync(script, `#!/bin/sh\ninput=$(cat)\necho "$input" >> ${seen}\ncase "$input" in *deny@*) echo "mailbox quota service down" >&2; echo "account refused by policy" >&2; exit 3;; esac\nexit 0\n`, { mode: 0o755 });
    await runCliOk(home, ["config", "set", "provisioning.driver=command", `provisioning.command=["${script}"]`, "license.premiumSeats=1"]);
    await runCliOk(home, ["domain", "add", "example.com", "migration.old.host=old.example.com", "migration.old.auth.mode=csv", "migration.premiumByLicense=true"]);
    await runCliOk(home, ["domain", "enable", "example.com"]);
    const csv = join(root, "cmd.csv");
    writeFileSync(csv, "first@example.com;Pw-First-1\nsecond@example.com;Pw-Second-2\ndeny@example.com;Pw-Deny-3\n");
    const r = await runCli(home, ["import-users", csv, "--json"]);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout);
    expect(rows.slice(0, 2)).toEqual([
      // no daemon runs here: the line says the migration is not queued (never "queued" unchecked)
      { line: 1, user: "first@example.com", result: "created", tier: "premium", reason: "its migration is not queued: the daemon is not running (start it, or run: automigrate migrate first@example.com)" },
      { line: 2, user: "second@example.com", result: "created", tier: "basic", reason: "its migration is not queued: the daemon is not running (start it, or run: automigrate migrate second@example.com)" },
    ]);
    expect(rows[2]).toEqual({ line: 3, user: "deny@example.com", result: "refused", reason: "the provisioning command refused deny@example.com (exit 3): mailbox quota service down | account refused by policy" });
    const inputs = readFileSync(seen, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(inputs[0]).toMatchObject({ user: "first@example.com", domain: "example.com", class: "domain-default", tier: "premium" });
    expect(inputs[0].passwordHash).toMatch(/^\{ARGON2ID\}\$argon2id\$/);
    expect(readFileSync(seen, "utf8")).not.toContain("Pw-First-1");
    // a refused creation gives its seat back: "deny" would have been basic anyway, so refuse a premium one
    await runCliOk(home, ["config", "set", "license.premiumSeats=2"]);
    writeFileSync(csv, "late.deny@example.com;Pw-Deny-4\n");
    expect((await runCli(home, ["import-users", csv])).code).toBe(1);
    expect(JSON.parse((await runCli(home, ["license", "--json"])).stdout)).toEqual({ seats: 2, used: 1, available: 1 });
    // csv mode keeps the imported password for the migration's own logins
    expect(new Vault(home).get("second@example.com")).toBe("Pw-Second-2");
  });
});
