// The Debian package, as a mail admin uses it: `npm run package` builds it, `dpkg -i`
// installs it (system user, groups, 0700 home, unit checked by systemd-analyze), the
// installed /usr/bin/automigrate answers --help and `domain list`, the unit's own ExecStart
// runs as the unit's User= against real Dovecots and migrates a login, `dpkg -r` keeps the
// settings, a reinstall finds them, `dpkg -P` removes the state.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expectSameMail } from "./support/compare.ts";
import { userLogin, waitFor } from "./support/daemon.ts";
import { startDovecot, type Dovecot } from "./support/dovecot.ts";
import { ROOT } from "./support/harness.ts";
import { digestMailbox, makeMessage, seed } from "./support/mail.ts";
import { rootProblem } from "./support/privileges.ts";
import { describeNeeding } from "./support/requires.ts";

const HAS_DPKG = spawnSync("sh", ["-c", "command -v dpkg-deb && command -v dpkg"]).status === 0;
const INSTALLED_BEFORE = HAS_DPKG && spawnSync("dpkg-query", ["-W", "-f=${Status}", "automigrate"], { encoding: "utf8" }).stdout.includes("installed");
const STATE = "/var/lib/automigrate";

function run(argv: string[], opts: { input?: string } = {}) {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", cwd: "/", input: opts.input });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
function ok(argv: string[]): string {
  const r = run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}:\n${r.out}\n${r.err}`);
  return r.out;
}

const packageProblem =
  rootProblem("the package test installs and purges the .deb with dpkg") ??
  (!HAS_DPKG ? "dpkg-deb and dpkg are missing (apt-get install -y dpkg)" : INSTALLED_BEFORE ? "automigrate is installed on this machine, and the test installs and purges it (dpkg -P automigrate first)" : undefined);
describeNeeding("package", packageProblem)("the Debian package", () => {
  let deb: string;
  let old: Dovecot;
  let target: Dovecot;
  let daemon: ReturnType<typeof Bun.spawn> | undefined;
  let daemonOut = "";

  beforeAll(async () => {
    const built = run(["sh", join(ROOT, "scripts", "package-deb.sh")]);
    if (built.code !== 0) throw new Error(`npm run package failed:\n${built.err}`);
    deb = built.out.trim().split("\n").pop()!;
    [old, target] = await Promise.all([startDovecot({ label: "pkg-old", users: [{ user: "pat@example.com", password: "old-pw" }] }), startDovecot({ label: "pkg-new", users: [{ user: "pat@example.com", password: "new-pw" }] })]);
    await seed(old, "pat@example.com", [{ path: "Projects" }], Array.from({ length: 5 }, (_, i) => ({ folder: i % 2 ? "INBOX" : "Projects", raw: makeMessage(i) })));
  }, 240_000);

  afterAll(async () => {
    daemon?.kill("SIGKILL");
    spawnSync("dpkg", ["-P", "automigrate"]);
    await Promise.all([old?.stop(), target?.stop()]);
  });

  test("builds, installs: the system user in adm and dovecot, a 0700 home, a unit systemd-analyze accepts", () => {
    expect(deb).toMatch(/automigrate_[\d.]+_\w+\.deb$/);
    expect(ok(["dpkg-deb", "-f", deb, "Package", "Depends"])).toContain("Depends: perl-base, adduser");
    ok(["dpkg", "-i", deb]);
    const groups = ok(["id", "-nG", "automigrate"]).trim().split(" ");
    expect(groups).toEqual(expect.arrayContaining(["automigrate", "adm", "dovecot"]));
    const st = statSync(STATE);
    expect((st.mode & 0o777).toString(8)).toBe("700");
    expect(st.uid).toBe(Number(ok(["id", "-u", "automigrate"])));
    for (const f of ["/usr/bin/automigrate", "/usr/bin/automigrate-checkpassword", "/lib/systemd/system/automigrate.service", "/usr/share/automigrate/automigrate-passdb.lua"]) expect({ f, exists: existsSync(f) }).toEqual({ f, exists: true });
    // (systemd-analyze comes with Debian's systemd package: ensure-servers.sh installs it)
    const v = run(["systemd-analyze", "verify", "/lib/systemd/system/automigrate.service"]);
    expect({ code: v.code, out: v.out + v.err }).toEqual({ code: 0, out: "" });
  });

  test("the installed command: --help, domain list, settings written as the daemon's user", () => {
    expect(ok(["automigrate", "--help"])).toContain("Usage: automigrate");
    expect(ok(["automigrate", "domain", "list"])).toContain("no domains yet");
    const pw = join(STATE, "old.pw");
    writeFileSync(pw, old.master.password, { mode: 0o600 });
    chownSync(pw, statSync(STATE).uid, statSync(STATE).gid);
    const newPw = join(STATE, "new.pw");
    writeFileSync(newPw, target.master.password, { mode: 0o600 });
    chownSync(newPw, statSync(STATE).uid, statSync(STATE).gid);
    // the mail log is root:adm 0640 on Debian; the daemon reads it through adm
    chownSync(target.logPath, 0, 4);
    spawnSync("chmod", ["0640", target.logPath]);
    ok(["automigrate", "config", "set", `target.host=${target.host}`, `target.port=${target.port}`, "target.tls=none", "target.auth.mode=master", "target.auth.user=admin", `target.auth.passwordFile=${newPw}`, `logins.0.path=${target.logPath}`]);
    ok(["automigrate", "domain", "add", "example.com", `migration.old.host=${old.host}`, `migration.old.imapPort=${old.port}`, "migration.old.imapTls=none", "migration.old.auth.mode=master", "migration.old.auth.user=admin", `migration.old.auth.passwordFile=${pw}`, "migration.old.auth.method=separator"]);
    ok(["automigrate", "domain", "enable", "example.com"]);
    expect(statSync(join(STATE, "config.json")).uid).toBe(statSync(STATE).uid);
  });

  test("the unit's ExecStart as the unit's User= migrates a login", async () => {
    const unit = readFileSync("/lib/systemd/system/automigrate.service", "utf8");
    const user = /^User=(.+)$/m.exec(unit)![1]!;
    const exec = /^ExecStart=(.+)$/m.exec(unit)![1]!.split(" ");
    daemon = Bun.spawn(["setpriv", `--reuid=${user}`, `--regid=${user}`, "--init-groups", "--inh-caps=-all", "--", ...exec], { stdout: "pipe", stderr: "pipe", cwd: "/" });
    void (async () => {
      for await (const c of daemon!.stdout as ReadableStream<Uint8Array>) daemonOut += new TextDecoder().decode(c);
    })();
    await waitFor(() => daemonOut.includes("daemon started") || daemon!.exitCode !== null, 20_000, "the packaged daemon");
    expect(daemon.exitCode).toBeNull();
    await userLogin(target, "pat@example.com", "new-pw");
    const state = () => {
      const f = join(STATE, "state", "accounts", "pat@example.com.json");
      return existsSync(f) ? JSON.parse(readFileSync(f, "utf8")) : undefined;
    };
    await waitFor(() => state()?.lastRun?.status === "done", 30_000, "pat migrated").catch((e) => {
      throw new Error(`${(e as Error).message}\n${daemonOut}`);
    });
    expectSameMail(await digestMailbox(old, "pat@example.com"), await digestMailbox(target, "pat@example.com"));
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  });

  test("remove keeps the settings, a reinstall finds them, purge removes the state", () => {
    ok(["dpkg", "-r", "automigrate"]);
    expect(existsSync("/usr/bin/automigrate")).toBe(false);
    expect(existsSync(join(STATE, "config.json"))).toBe(true);
    ok(["dpkg", "-i", deb]);
    expect(ok(["automigrate", "domain", "list"])).toContain("example.com");
    ok(["dpkg", "-P", "automigrate"]);
    expect(existsSync(STATE)).toBe(false);
    expect(existsSync("/usr/lib/automigrate")).toBe(false);
  });
});
