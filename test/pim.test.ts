// The external (PIM) application per user: its contract, failure and timeout, against a
// real migration.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Vault } from "../src/accounts/vault.ts";
import { migrateJson, runCli, runCliOk, startHarness, type Harness } from "./support/harness.ts";
import { makeMessage, seed } from "./support/mail.ts";

let h: Harness;
let out: string;
const USERS = ["alice@example.com", "bob@example.com", "carl@example.com", "dora@example.com"];

function script(name: string, body: string): string {
  const p = join(h.home, `${name}.sh`);
  writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
}

beforeAll(async () => {
  h = await startHarness({ users: USERS });
  for (const u of USERS) await seed(h.old, u, [], [{ folder: "INBOX", raw: makeMessage(1) }, { folder: "INBOX", raw: makeMessage(2) }]);
  out = join(h.home, "pim-out");
  mkdirSync(out);
  const recorder = script("record", `{ echo "argv:$*"; echo "cwd:$(pwd)"; env | grep -E '^(AUTOMIGRATE_|PASS)' | sort; echo "stdin:$(cat)"; } > "${out}/$1.txt"; date +%s%N >> "${out}/$1.count"`);
  await runCliOk(h.home, ["domain", "set", "example.com", "migration.pim.mode=command", `migration.pim.command=["${recorder}","{user}","{localpart}","{domain}"]`, "migration.old.smtpHost=smtp.old.example"]);
});
afterAll(() => h.stop());

describe("external application per user", () => {
  test("runs after the mail with placeholders, environment, its own directory, and no password in master mode", async () => {
    const U = "alice@example.com";
    const r = await migrateJson(h.home, U);
    expect(r.code).toBe(0);
    expect(r.report.messages).toBe(2);
    expect(r.report.pim).toMatchObject({ status: "done", exitCode: 0 });
    const rec = readFileSync(join(out, `${U}.txt`), "utf8");
    expect(rec).toContain(`argv:${U} alice example.com`);
    const cwd = join(h.home, "state", "pim", U);
    expect(rec).toContain(`cwd:${cwd}`);
    expect(statSync(cwd).mode & 0o777).toBe(0o700);
    expect(rec).toContain(`AUTOMIGRATE_OLD_HOST=${h.old.host}`);
    expect(rec).toContain(`AUTOMIGRATE_OLD_IMAP_PORT=${h.old.port}`);
    expect(rec).toContain("AUTOMIGRATE_OLD_SMTP_HOST=smtp.old.example");
    expect(rec).toContain("AUTOMIGRATE_CLASS=domain-default");
    expect(rec).toContain(`AUTOMIGRATE_HOME=${cwd}`);
    expect(rec).toContain("stdin:\n");
    // done once: a later pass does not run it again (migration.pim.everyPass is off)
    await migrateJson(h.home, U);
    expect(readFileSync(join(out, `${U}.count`), "utf8").trim().split("\n")).toHaveLength(1);
    expect((await runCli(h.home, ["status", U])).stdout).toMatch(/external application: done at .* \(exit 0\)/);
  });

  test("the user's password (imported or captured) comes on stdin only", async () => {
    const U = "bob@example.com";
    // a different credentials mode is set as a whole object (the master fields do not belong to it)
    await runCliOk(h.home, ["domain", "set", "example.com", 'migration.old.auth={"mode":"csv"}']);
    try {
      new Vault(h.home).put(U, "user-pw");
      const r = await migrateJson(h.home, U);
      expect(r.report.status).toBe("done");
      const rec = readFileSync(join(out, `${U}.txt`), "utf8");
      expect(rec).toContain("stdin:user-pw");
      expect(rec.split("\n").filter((l) => !l.startsWith("stdin:")).join("\n")).not.toContain("user-pw");
    } finally {
      await runCliOk(h.home, ["domain", "set", "example.com", "migration.old.auth.mode=master", "migration.old.auth.user=admin", `migration.old.auth.passwordFile=${join(h.home, "old-master.pw")}`, "migration.old.auth.method=separator"]);
    }
  });

  test("a failing application makes the run partial with its stderr; the mail is there; the next run retries it", async () => {
    const U = "carl@example.com";
    const failing = script("failing", `echo "contacts: connecting to the old CardDAV server" >&2\necho "contacts: 401 Unauthorized for $1" >&2\nexit 3`);
    await runCliOk(h.home, ["domain", "set", "example.com", `migration.pim.command=["${failing}","{user}"]`]);
    const r = await migrateJson(h.home, U);
    expect(r.code).toBe(3);
    expect(r.report).toMatchObject({ status: "partial", messages: 2, pim: { status: "failed", exitCode: 3 } });
    expect(r.report.errors[0].message).toBe("the external application failed (exit 3): contacts: connecting to the old CardDAV server\ncontacts: 401 Unauthorized for carl@example.com");
    expect(r.report.errors[0].transient).toBe(true);
    const again = await migrateJson(h.home, U);
    expect(again.report.pim?.status).toBe("failed"); // not done yet, so it ran again
  });

  test("a timeout kills the application and everything it started", async () => {
    const U = "dora@example.com";
    const slow = script("slow", `sleep 300 & echo $! > "${out}/child.pid"\nsleep 300`);
    await runCliOk(h.home, ["domain", "set", "example.com", `migration.pim.command=["${slow}"]`, "migration.pim.timeoutSec=1"]);
    const t0 = Date.now();
    const r = await migrateJson(h.home, U);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.report.pim).toMatchObject({ status: "failed", exitCode: null });
    expect(r.report.pim.stderrTail).toBe("killed after 1s (timeout)");
    const child = Number(readFileSync(join(out, "child.pid"), "utf8"));
    // killed: gone, or a zombie until this container's init reaps it
    const state = () => (existsSync(`/proc/${child}/stat`) ? readFileSync(`/proc/${child}/stat`, "utf8").split(") ")[1]?.[0] : "gone");
    await Bun.sleep(300);
    expect(["gone", "Z"]).toContain(state() ?? "unknown");
  });
});
