// Every external command the tests run is installed by scripts/ensure-servers.sh or is part
// of a minimal Debian 12 (debootstrap --variant=minbase, plus the nodejs, npm and git a
// newcomer installs): a test that starts using a new command fails here until the table below
// (and, for a package minbase lacks, ensure-servers.sh) says where it comes from. The README's
// "Tests" section lists the same commands.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

/** command → the Debian package that brings it ("minbase": there already). */
export const TEST_COMMANDS: Record<string, string> = {
  sh: "minbase", true: "minbase", id: "minbase", cp: "minbase", chmod: "minbase", chown: "minbase", grep: "minbase", wc: "minbase", printf: "minbase", test: "minbase",
  useradd: "minbase", setpriv: "minbase", unshare: "minbase", script: "minbase", hostname: "minbase", dpkg: "minbase", "dpkg-deb": "minbase", "dpkg-query": "minbase", perl: "minbase",
  node: "nodejs", git: "git",
  // the installed package's own command (the package test installs it)
  automigrate: "automigrate",
  ps: "procps", pgrep: "procps", pkill: "procps",
  tmux: "tmux",
  // launched by puppeteer-core for the HTML report test (test/report.test.ts)
  chromium: "chromium",
  psql: "postgresql-client", initdb: "postgresql", postgres: "postgresql",
  dovecot: "dovecot-imapd", doveadm: "dovecot-imapd",
  postmap: "postfix", postfix: "postfix", postqueue: "postfix", postconf: "postfix",
  lmtp: "dovecot-lmtpd",
  slapd: "slapd", slapadd: "slapd", ldapsearch: "ldap-utils", openssl: "openssl",
  radicale: "radicale",
  "systemd-analyze": "systemd", adduser: "adduser",
  saslpasswd2: "sasl2-bin", "cyrus master": "cyrus-common",
  makeuserdb: "courier-authlib-userdb", userdbpw: "courier-authlib-userdb", authdaemond: "courier-authdaemon", couriertcpd: "courier-base", "maildirmake.courier": "courier-base",
};

function sources(dir: string): string[] {
  const glob = new Bun.Glob("**/*.ts");
  return [...glob.scanSync({ cwd: join(ROOT, dir), absolute: true })];
}

/** The literal commands of spawn calls (spawn, spawnSync, Bun.spawn[Sync], spawnServer, and the package test's run/ok helpers). */
export function spawnedCommands(text: string): string[] {
  const out = new Set<string>();
  const patterns = [/\b(?:spawnSync|spawn|Bun\.spawnSync|Bun\.spawn)\(\s*\[?\s*"([^"]+)"/g, /\bspawnServer\([^,]+,\s*"([^"]+)"/g, /\b(?:run|ok)\(\[\s*"([^"]+)"/g];
  for (const re of patterns) for (const m of text.matchAll(re)) out.add(m[1]!.replace(/^\/usr\/s?bin\//, "").replace(/^\/usr\/lib\/[^ ]*\//, ""));
  return [...out];
}

describe("the commands the tests run", () => {
  // the tests, their support, the demo's servers (tui/servers) and the harness the tests share with the benchmarks
  const files = [...sources("test"), ...sources("tui/servers"), ...sources("bench/support")];
  const used = new Map<string, string[]>();
  for (const f of files) for (const c of spawnedCommands(readFileSync(f, "utf8"))) used.set(c, [...(used.get(c) ?? []), f.slice(ROOT.length + 1)]);

  test("the scan finds them (it is not blind)", () => {
    expect([...used.keys()]).toEqual(expect.arrayContaining(["tmux", "pgrep", "postmap", "doveadm", "setpriv", "radicale", "slapd"]));
  });

  test("each is in the table of where it comes from", () => {
    const unknown = [...used.entries()].filter(([c]) => !(c in TEST_COMMANDS)).map(([c, where]) => `${c} (${where.join(", ")})`);
    expect(unknown).toEqual([]);
  });

  test("each package minbase lacks is installed by scripts/ensure-servers.sh", () => {
    const script = readFileSync(join(ROOT, "scripts", "ensure-servers.sh"), "utf8");
    const given = new Set(["minbase", "nodejs", "automigrate"]);
    const missing = [...new Set(Object.values(TEST_COMMANDS))].filter((p) => !given.has(p) && !new RegExp(`need="\\$need ${p.replace(/[.+]/g, "\\$&")}"`).test(script));
    expect(missing).toEqual([]);
  });

  test("the scan reads spawn calls of each shape", () => {
    expect(spawnedCommands(`spawnSync("pgrep", ["-f"]); Bun.spawn(["/usr/sbin/slapd", "-f"]); spawnServer(\`x\`, "radicale", []); ok(["dpkg", "-i"]);`).sort()).toEqual(["dpkg", "pgrep", "radicale", "slapd"]);
  });
});
