// The set-up that first-login tests share: an old Dovecot with the given users, a new one
// whose passdb is its passwd-file then automigrate's checkpassword helper, and an
// automigrate home pointing at both (master login on the new server, passwd-file
// provisioning, the new server's log tailed). Domains, the daemon and the rest are the test's.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { userLogin } from "./daemon.ts";
import { startDovecot, type Dovecot } from "./dovecot.ts";
import { CLI, runCliOk } from "./harness.ts";

export interface FirstLoginLab {
  /** 0755 temp directory (Dovecot's auth process reads the helper from it). */
  root: string;
  home: string;
  old: Dovecot;
  target: Dovecot;
  /** The new server's passwd-file line of a user, if any. */
  passwdLine: (user: string) => string | undefined;
  stop: () => Promise<void>;
}

export async function startFirstLoginLab(label: string, oldUsers: { user: string; password: string }[], config: string[] = []): Promise<FirstLoginLab> {
  const root = mkdtempSync(join(tmpdir(), `automigrate-${label}-`));
  chmodSync(root, 0o755);
  const home = join(root, "home");
  const wrapper = join(root, "automigrate-checkpassword");
  writeFileSync(wrapper, `#!/bin/sh\nexec ${CLI} --home ${home} checkpassword "$@"\n`, { mode: 0o755 });
  const [old, target] = await Promise.all([startDovecot({ label: "old", users: oldUsers }), startDovecot({ label: "new", users: [], checkpassword: wrapper })]);
  writeFileSync(join(root, "new.pw"), target.master.password, { mode: 0o600 });
  await runCliOk(home, ["config", "set", `target.host=${target.host}`, `target.port=${target.port}`, "target.tls=none", "target.auth.mode=master", "target.auth.user=admin", `target.auth.passwordFile=${join(root, "new.pw")}`, "provisioning.driver=passwd-file", `provisioning.passwdFile=${target.passwdPath}`, `logins.0.path=${target.logPath}`, ...config]);
  return {
    root,
    home,
    old,
    target,
    passwdLine: (user) => readFileSync(target.passwdPath, "utf8").split("\n").find((l) => l.startsWith(`${user}:`)),
    stop: async () => {
      await Promise.all([old.stop(), target.stop()]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A login that must fail: the server's answer. */
export async function loginFails(server: Dovecot, user: string, password: string): Promise<string> {
  try {
    await userLogin(server, user, password);
  } catch (e) {
    return (e as { responseText?: string }).responseText ?? (e as Error).message;
  }
  throw new Error(`login of ${user} unexpectedly succeeded`);
}
