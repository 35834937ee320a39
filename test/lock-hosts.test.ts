// Two mail nodes sharing one home (NFS): a run lock written on another host is never judged
// by its pid, which means nothing here. Each "node" is a real process in its own UTS
// namespace (its own hostname) and, for the second, its own PID namespace, where the first
// node's pid does not exist — exactly what a second host sees. A slow scripted old server
// keeps node A's migration running while node B tries the same user.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { accountFileName } from "../src/store/account-state.ts";
import { waitFor } from "./support/daemon.ts";
import { startDovecot, type Dovecot } from "./support/dovecot.ts";
import { fakeMessage, startFakeImap, type FakeImap } from "./support/fake-imap.ts";
import { CLI, homeWithFakeOld, migrateJson } from "./support/harness.ts";
import { digestMailbox } from "./support/mail.ts";
import { namespacesProblem } from "./support/privileges.ts";
import { describeNeeding } from "./support/requires.ts";

const U = "alice@example.com";

let target: Dovecot;
let old: FakeImap;
let home: string;
const lockPath = () => join(home, "state", "accounts", accountFileName(U).replace(/\.json$/, ".lock"));

/** `automigrate migrate U --json` as a process on "host", optionally in a PID namespace of its own. */
function onHost(host: string, ownPids: boolean) {
  const args = ["-u", ...(ownPids ? ["-p", "--fork"] : []), "sh", "-c", `hostname ${host} && exec "$0" --home "$1" migrate "$2" --json`, CLI, home, U];
  const p = spawn("unshare", args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  p.stdout.on("data", (d) => (out += d));
  p.stderr.on("data", (d) => (err += d));
  const done = new Promise<{ code: number | null; report: any; stderr: string }>((resolve) => p.on("close", (code) => resolve({ code, report: out ? JSON.parse(out) : undefined, stderr: err })));
  return { done };
}

beforeAll(async () => {
  target = await startDovecot({ label: "new", users: [{ user: U, password: "pw" }] });
  old = await startFakeImap();
  for (let i = 1; i <= 80; i++) old.add("INBOX", fakeMessage(i));
  home = await homeWithFakeOld(old, target, { prefix: "automigrate-hosts-" });
}, 60_000);

afterAll(async () => {
  await old?.stop();
  await target?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

const want = () => old.folders.get("INBOX")!.messages.map((m) => createHash("sha256").update(m.body).digest("hex")).sort();

describeNeeding("namespaces", namespacesProblem(["-u", "-p", "--fork"]))("one user's run lock across hosts sharing a home", () => {
  test("node B cannot take node A's lock although A's pid does not exist on B: refused, naming A's host; A ends exact", async () => {
    old.quirks.slowBodyMs = 40; // A runs for a few seconds
    const a = onHost("node-a", false);
    await waitFor(() => existsSync(lockPath()) && readFileSync(lockPath(), "utf8").endsWith(" node-a"), 15_000, "node A holding the lock");
    const b = await onHost("node-b", true).done;
    expect(b.code).not.toBe(0);
    expect(b.report).toMatchObject({ status: "failed", errors: [expect.objectContaining({ code: "LOCKED", message: expect.stringMatching(/locked by another automigrate process \(pid \d+ on node-a\)/) })] });
    old.quirks.slowBodyMs = undefined;
    const ra = await a.done;
    expect({ code: ra.code, status: ra.report.status, messages: ra.report.messages }).toEqual({ code: 0, status: "done", messages: 80 });
    expect((await digestMailbox(target, U)).get("INBOX")!.map((m) => m.sha256).sort()).toEqual(want());
  });

  test("a lock from another host: refused while its heartbeat is fresh, taken over once older than the lease", async () => {
    writeFileSync(lockPath(), "4242 deadbeef node-gone");
    const fresh = await migrateJson(home, U);
    expect(fresh.report.errors).toEqual([expect.objectContaining({ code: "LOCKED", message: expect.stringContaining("(pid 4242 on node-gone)") })]);
    const old10min = new Date(Date.now() - 10 * 60_000);
    utimesSync(lockPath(), old10min, old10min);
    const r = await migrateJson(home, U);
    expect({ code: r.code, status: r.report.status, messages: r.report.messages }).toEqual({ code: 0, status: "done", messages: 0 });
    expect(existsSync(lockPath())).toBe(false); // released after the run
  });
});
