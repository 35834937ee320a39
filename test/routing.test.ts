// Coexistence mail routing against Debian's real Postfix tools: the daemon's socketmap
// server answers `postmap -q <address> socketmap:unix:<socket>:transport` before and after a
// user's first login on the new server creates the account, and `routing export` writes a
// table that `postmap -q ... texthash:<file>` reads.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, userLogin, waitFor, type DaemonProc } from "./support/daemon.ts";
import type { Dovecot } from "./support/dovecot.ts";
import { startFirstLoginLab, type FirstLoginLab } from "./support/first-login-lab.ts";
import { runCli, runCliOk } from "./support/harness.ts";

const LOCAL = "lmtp:unix:private/dovecot-lmtp";
const pw = (u: string) => `old-pw-${u.split("@")[0]}-Rt4`;
const OLD_USERS = ["ann@example.com", "bob@example.com"];

let lab: FirstLoginLab;
let root: string;
let home: string;
let sock: string;
let old: Dovecot;
let target: Dovecot;
let d: DaemonProc;

/** Postfix's own client: { code, out } (postmap exits 1 with no output for "not found"). */
function postmap(key: string, table: string): { code: number; out: string; err: string } {
  // its own (empty) main.cf: Debian's package installed "No configuration" has none
  const r = Bun.spawnSync(["postmap", "-c", join(root, "postfix"), "-q", key, table], { stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString().trim(), err: r.stderr.toString().trim() };
}
const viaSocket = (key: string) => postmap(key, `socketmap:unix:${sock}:transport`);

beforeAll(async () => {
  sock = join(tmpdir(), `automigrate-routing-${process.pid}.sock`);
  lab = await startFirstLoginLab("routing", OLD_USERS.map((user) => ({ user, password: pw(user) })), [`routing.socket=${sock}`, `routing.localTransport=${LOCAL}`]);
  ({ root, home, old, target } = lab);
  mkdirSync(join(root, "postfix"));
  writeFileSync(join(root, "postfix", "main.cf"), "");
  await runCliOk(home, ["domain", "add", "example.com", `migration.old.host=${old.host}`, `migration.old.imapPort=${old.port}`, "migration.old.imapTls=none", "migration.old.auth.mode=captured", "migration.old.smtpHost=127.0.0.1", "migration.old.smtpPort=2525"]);
  await runCliOk(home, ["domain", "enable", "example.com"]);
  // a domain automigrate knows but does not migrate
  await runCliOk(home, ["domain", "add", "quiet.example", "migration.old.host=127.0.0.1", "migration.old.smtpHost=127.0.0.1"]);
  d = await startDaemon(home);
  // the control socket answers a moment before the routing socket is up
  await waitFor(async () => Boolean((await d.status()).routing), 10_000, "the routing socket");
}, 120_000);

afterAll(async () => {
  if (d?.proc.exitCode === null) await d.stop();
  await lab?.stop();
});

describe("Postfix socketmap served by the daemon", () => {
  test("the socket is there with the configured mode", () => {
    const st = statSync(sock);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
  });

  test("before the first login the old server receives the user's mail; after it, local delivery", async () => {
    expect(viaSocket("ann@example.com")).toMatchObject({ code: 0, out: "smtp:[127.0.0.1]:2525" });
    await userLogin(target, "ann@example.com", pw("ann@example.com")); // creates the account
    expect(viaSocket("ann@example.com")).toMatchObject({ code: 0, out: LOCAL });
    expect(viaSocket("Ann@Example.COM")).toMatchObject({ code: 0, out: LOCAL });
    // Postfix asks a socketmap for the full address only: the extension is ours to strip
    expect(viaSocket("ann+lists@example.com")).toMatchObject({ code: 0, out: LOCAL });
    // bob has not logged in yet
    expect(viaSocket("bob@example.com")).toMatchObject({ code: 0, out: "smtp:[127.0.0.1]:2525" });
  });

  test("a migration that fails before reaching the new server leaves the user's mail on the old server", async () => {
    // bob exists only on the old server: a manual migration (CLI and daemon) fails there
    const r = await runCli(home, ["migrate", "bob@example.com", "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).status).toBe("failed");
    await d.post("/migrate", { user: "bob@example.com" });
    await waitFor(async () => {
      const s = await d.status();
      return s.failed.some((j: { user: string }) => j.user === "bob@example.com") || s.jobs.some((j: { user: string; attempts?: number }) => j.user === "bob@example.com" && (j.attempts ?? 0) > 0);
    }, 20_000, "bob's job attempted");
    expect(viaSocket("bob@example.com")).toMatchObject({ code: 0, out: "smtp:[127.0.0.1]:2525" });
    expect((await runCli(home, ["routing", "export"])).stdout).not.toContain("bob@example.com");
  });

  test("an account the admin put in the new server's passwd-file is local too, from the next lookup", () => {
    expect(viaSocket("pat@example.com").out).toBe("smtp:[127.0.0.1]:2525");
    appendFileSync(target.passwdPath, "pat@example.com:{PLAIN}pat-pw::::::\n");
    expect(viaSocket("pat@example.com")).toMatchObject({ code: 0, out: LOCAL });
  });

  test("anything else is not found: other domains, domains that do not migrate, bare domains", () => {
    for (const key of ["carol@elsewhere.org", "bob@quiet.example", "example.com"]) {
      const r = viaSocket(key);
      expect({ key, ...r }).toEqual({ key, code: 1, out: "", err: "" });
    }
  });

  test("a settings change is live at the next lookup", async () => {
    await runCliOk(home, ["domain", "set", "example.com", "migration.old.smtpPort=2526"]);
    await waitFor(() => viaSocket("bob@example.com").out === "smtp:[127.0.0.1]:2526", 5000, "the new SMTP port in the answer");
    await runCliOk(home, ["domain", "disable", "example.com"]);
    await waitFor(() => viaSocket("bob@example.com").code === 1, 5000, "bob not found once migration is off");
    // an account on the new server keeps local delivery whatever the migration switch says
    expect(viaSocket("ann@example.com")).toMatchObject({ code: 0, out: LOCAL });
    await runCliOk(home, ["domain", "enable", "example.com"]);
    await runCliOk(home, ["domain", "set", "example.com", "migration.old.smtpPort=2525"]);
    await waitFor(() => viaSocket("bob@example.com").out === "smtp:[127.0.0.1]:2525", 5000, "the old port back");
  });

  test("one connection, as Postfix keeps it: requests split across writes and two in one write", async () => {
    const got: string[] = [];
    const conn = await Bun.connect({ unix: sock, socket: { data: (_s, b) => void got.push(Buffer.from(b).toString()) } });
    const ns = (s: string) => `${Buffer.byteLength(s)}:${s},`;
    const first = ns("transport ann+x@example.com");
    conn.write(first.slice(0, 20));
    await Bun.sleep(50);
    conn.write(first.slice(20));
    conn.write(ns("transport bob@example.com") + ns("transport nobody@else.org"));
    const want = ns(`OK ${LOCAL}`) + ns("OK smtp:[127.0.0.1]:2525") + ns("NOTFOUND ");
    await waitFor(() => got.join("") === want, 3000, `three replies (got ${JSON.stringify(got.join(""))})`);
    conn.end();
  });

  test("garbage on a connection gets one PERM answer and the connection is closed", async () => {
    const got: string[] = [];
    let closed = false;
    const conn = await Bun.connect({ unix: sock, socket: { data: (_s, b) => void got.push(Buffer.from(b).toString()), close: () => void (closed = true) } });
    conn.write("HELO there, this is not a netstring\r\n12:transport a@b,");
    await waitFor(() => closed, 3000, "the connection closed");
    expect(got.join("")).toMatch(/^\d+:PERM bad netstring length "HELO there, "?,$/);
    // the server goes on answering others
    expect(viaSocket("ann@example.com")).toMatchObject({ code: 0, out: LOCAL });
  });

  test("a wrong table name is refused with the right one named", () => {
    const r = postmap("ann@example.com", `socketmap:unix:${sock}:virtual`);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(`unknown table "virtual"`);
    expect(r.err).toContain(":transport");
  });

  test("status shows the socket and counts its lookups", async () => {
    const s = await d.status();
    expect(s.routing.socket).toBe(sock);
    expect(s.routing.lookups).toBeGreaterThanOrEqual(8);
    expect((await runCli(home, ["status"])).stdout).toContain(`mail routing: socketmap:unix:${sock}:transport, `);
  });
});

describe("routing export and lookup", () => {
  test("the exported file answers like the socket in postmap texthash:", async () => {
    const file = join(root, "transport");
    const r = await runCli(home, ["routing", "export", "--format", "postfix", "--output", file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("wrote 3 routing entries"); // ann, pat, and the domain
    expect(statSync(file).mode & 0o777).toBe(0o644);
    const table = `texthash:${file}`;
    expect(postmap("ann@example.com", table)).toMatchObject({ code: 0, out: LOCAL });
    expect(postmap("pat@example.com", table)).toMatchObject({ code: 0, out: LOCAL });
    // transport(5) falls back from user@domain to the domain for users not listed
    expect(postmap("bob@example.com", table).code).toBe(1);
    expect(postmap("example.com", table)).toMatchObject({ code: 0, out: "smtp:[127.0.0.1]:2525" });
    expect(postmap("quiet.example", table).code).toBe(1);
    expect(readFileSync(file, "utf8")).not.toContain(pw("ann@example.com"));
  });

  test("without a local transport the export says what is left out and how to set it", async () => {
    const other = join(root, "home2");
    await runCliOk(other, ["domain", "add", "example.com", "migration.old.host=127.0.0.1", "migration.old.auth.mode=captured"]);
    await runCliOk(other, ["domain", "enable", "example.com"]);
    // an account that exists on the new server (provisioning driver none: created elsewhere)
    writeFileSync(join(root, "users.csv"), "dave@example.com;dave-pw\n");
    await runCliOk(other, ["import-users", join(root, "users.csv")]);
    const r = await runCli(other, ["routing", "export"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("routing.localTransport is not set: 1 account(s) on the new server left out");
    expect(r.stdout).toContain("# automigrate coexistence routing");
    // no migration.old.smtpHost: the old IMAP host, port 25
    expect(r.stdout).toContain("\nexample.com smtp:[127.0.0.1]:25\n");
    expect(r.stdout).not.toContain("dave@example.com ");
    // the socketmap would defer dave's mail rather than guess
    const l = await runCli(other, ["routing", "lookup", "dave@example.com", "--json"]);
    expect(JSON.parse(l.stdout)).toMatchObject({ kind: "temp" });
  });

  test("routing lookup explains an answer", async () => {
    const r = await runCli(home, ["routing", "lookup", "bob@example.com", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ address: "bob@example.com", kind: "found", transport: "smtp:[127.0.0.1]:2525" });
    const text = await runCli(home, ["routing", "lookup", "ann@example.com"]);
    expect(text.stdout).toContain(`ann@example.com → ${LOCAL}  (ann@example.com exists on the new server)`);
  });

  test("a bad local transport is refused at the boundary with its path", async () => {
    const r = await runCli(home, ["config", "set", "routing.localTransport=dovecot lmtp"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("routing.localTransport");
    expect(r.stderr).toContain("is not a Postfix transport");
  });
});

describe("daemon restart and shutdown", () => {
  test("after kill -9 the socket a restarted daemon finds is replaced; a second daemon does not steal it", async () => {
    await d.kill9();
    expect(statSync(sock).isSocket()).toBe(true); // left behind
    d = await startDaemon(home);
    await waitFor(() => viaSocket("ann@example.com").out === LOCAL, 5000, "the restarted daemon's answer");
    const other = join(root, "home-other");
    await runCliOk(other, ["config", "set", `routing.socket=${sock}`]);
    const second = await startDaemon(other);
    await waitFor(() => second.output().includes("another process answers on routing.socket"), 5000, "the second daemon's refusal");
    expect(await second.stop()).toBe(0);
    expect(viaSocket("ann@example.com")).toMatchObject({ code: 0, out: LOCAL });
  });

  test("SIGTERM removes the socket", async () => {
    expect(existsSync(sock)).toBe(true);
    expect(await d.stop()).toBe(0);
    expect(existsSync(sock)).toBe(false);
  });
});
