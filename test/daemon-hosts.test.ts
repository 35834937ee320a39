// Mail nodes sharing one home (NFS) each run a daemon: each serves its own control socket
// (control.<hostname>.sock), each node's CLI reaches its own daemon, and stopping one never
// takes the other's socket away. Each "node" is a real daemon process in its own UTS
// namespace (its own hostname), as in test/lock-hosts.test.ts.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "./support/daemon.ts";
import { CLI, startHarness, type Harness } from "./support/harness.ts";
import { namespacesProblem } from "./support/privileges.ts";
import { describeNeeding } from "./support/requires.ts";


let h: Harness;
const procs: ChildProcess[] = [];

/** `automigrate <args>` as a process on `host`. */
function onHost(host: string, args: string[]): ChildProcess {
  const p = spawn("unshare", ["-u", "sh", "-c", `hostname ${host} && home="$1" && shift && exec "$0" --home "$home" "$@"`, CLI, h.home, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  procs.push(p);
  return p;
}

async function run(host: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = onHost(host, args);
  let stdout = "";
  let stderr = "";
  p.stdout!.on("data", (d) => (stdout += d));
  p.stderr!.on("data", (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => p.on("close", resolve));
  return { code, stdout, stderr };
}

const socketOf = (host: string) => join(h.home, `control.${host}.sock`);

async function startNode(host: string): Promise<ChildProcess> {
  const p = onHost(host, ["daemon"]);
  let err = "";
  p.stderr!.on("data", (d) => (err += d));
  await waitFor(async () => {
    if (p.exitCode !== null) throw new Error(`the daemon on ${host} exited ${p.exitCode}: ${err}`);
    return existsSync(socketOf(host)) && (await run(host, ["status", "--json"])).code === 0;
  }, 20_000, `the daemon on ${host}`);
  return p;
}

beforeAll(async () => {
  h = await startHarness();
}, 60_000);

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
  await h?.stop();
});

describeNeeding("namespaces", namespacesProblem(["-u"]))("daemons of several nodes on one shared home", () => {
  test("each node's daemon serves its own control socket; each node's status reaches its own; stopping one leaves the other", async () => {
    const a = await startNode("node-a");
    const b = await startNode("node-b");
    const statusA = JSON.parse((await run("node-a", ["status", "--json"])).stdout);
    const statusB = JSON.parse((await run("node-b", ["status", "--json"])).stdout);
    expect([statusA.daemon, statusA.pid]).toEqual(["running", a.pid]);
    expect([statusB.daemon, statusB.pid]).toEqual(["running", b.pid]);
    b.kill("SIGTERM");
    expect(await new Promise((resolve) => b.on("close", resolve))).toBe(0);
    expect(existsSync(socketOf("node-b"))).toBe(false);
    // A's socket is untouched and answers
    expect(JSON.parse((await run("node-a", ["status", "--json"])).stdout).pid).toBe(a.pid);
    // node B without its daemon: no live status there, and nothing claimed from A's
    const none = JSON.parse((await run("node-b", ["status", "--json"])).stdout);
    expect(none.daemon).toBe("not running");
  });

  test("a second daemon for the same home on the same node is refused, naming the running one", async () => {
    const second = await run("node-a", ["daemon"]);
    expect(second.code).not.toBe(0);
    expect(second.stdout + second.stderr).toContain(`another automigrate daemon is running (it answers on ${socketOf("node-a")})`);
  });
});
