// The tests' harness: the shared one (bench/support/harness.ts), and a home migrating from the
// scripted old server.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Dovecot } from "./dovecot.ts";
import { runCliOk } from "../../bench/support/harness.ts";

export * from "../../bench/support/harness.ts";

/**
 * A fresh home migrating from a scripted old server (test/support/fake-imap.ts: a master
 * identity with the "*" separator, no TLS) into a real Dovecot: the password files, the
 * target, `config` (given the home, e.g. a login log inside it) and each of `domains`.
 */
export async function homeWithFakeOld(old: { host: string; port: number }, target: Dovecot, opts: { prefix?: string; domains?: string[]; config?: (home: string) => string[] } = {}): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), opts.prefix ?? "automigrate-home-"));
  writeFileSync(join(home, "old.pw"), "secret\n", { mode: 0o600 });
  writeFileSync(join(home, "new.pw"), target.master.password + "\n", { mode: 0o600 });
  await runCliOk(home, ["config", "set", `target.host=${target.host}`, `target.port=${target.port}`, "target.tls=none", "target.auth.mode=master", `target.auth.user=${target.master.user}`, `target.auth.passwordFile=${join(home, "new.pw")}`, ...(opts.config?.(home) ?? [])]);
  const oldSettings = [`migration.old.host=${old.host}`, `migration.old.imapPort=${old.port}`, "migration.old.imapTls=none", "migration.old.auth.mode=master", "migration.old.auth.user=admin", `migration.old.auth.passwordFile=${join(home, "old.pw")}`, "migration.old.auth.method=separator"];
  for (const domain of opts.domains ?? ["example.com"]) await runCliOk(home, ["domain", "add", domain, ...oldSettings]);
  return home;
}
