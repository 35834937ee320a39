// The README's run command as a newcomer types it, on a clean clone: `npm start -- demo`
// installs the dependencies, builds the bundle and starts it (bin/automigrate); servers,
// daemon and console come up at 80x24, simulated logins drain through the queue, and
// quitting removes everything it started.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, shq } from "./support/harness.ts";
import { startTerm } from "./support/tmux.ts";

let clone: string;

beforeAll(() => {
  clone = join(mkdtempSync(join(tmpdir(), "automigrate-clone-")), "automigrate");
  const r = spawnSync("git", ["clone", "-q", ROOT, clone], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git clone: ${r.stderr}`);
});

afterAll(() => rmSync(join(clone, ".."), { recursive: true, force: true }));

/** How many processes have the demo's directory in their command line (servers, daemon). */
function processesNaming(dir: string): number {
  return spawnSync("ps", ["-eo", "args"], { encoding: "utf8" }).stdout.split("\n").filter((l) => l.includes(dir)).length;
}

test("demo from a clean clone: npm start -- demo builds, shows the console at 80x24, users are migrated; q stops and cleans up", async () => {
  expect(existsSync(join(clone, "dist"))).toBe(false);
  const t = startTerm(`cd ${shq(clone)} && npm start --silent -- demo; echo DEMO-EXIT $?`);
  try {
    await t.waitFor(/demo\.example\s+Migration Enabled/, 240_000);
    expect(existsSync(join(clone, "dist", "cli.js"))).toBe(true);
    await Bun.sleep(300);
    t.keys("Tab");
    await t.waitFor(/@demo\.example\s+done\s+\d+ messages/, 60_000);
    await Bun.sleep(300);
    t.keys("q");
    const s = await t.waitFor("DEMO-EXIT 0", 30_000);
    const dir = /^(\/\S+\/automigrate-demo-[A-Za-z0-9]{6})$/m.exec(s)?.[1];
    expect(dir).toMatch(/automigrate-demo-/);
    expect(existsSync(dir!)).toBe(false);
    expect(processesNaming(dir!)).toBe(0);
  } finally {
    t.kill();
  }
}, 400_000);

test("console from the same clean clone: bin/automigrate tui starts from the bundle and quits cleanly", async () => {
  const home = mkdtempSync(join(tmpdir(), "automigrate-home-"));
  const t = startTerm(`${shq(join(clone, "bin", "automigrate"))} --home ${shq(home)} tui; echo TUI-EXIT $?`);
  try {
    await t.waitFor(/automigrate — Domains/, 60_000);
    await t.waitFor("? help", 5_000);
    t.keys("q");
    await t.waitFor("TUI-EXIT 0", 10_000);
  } finally {
    t.kill();
    rmSync(home, { recursive: true, force: true });
  }
}, 120_000);

test("a hang-up (the SSH session drops, the tmux session is killed) stops the demo: its servers, its daemon and its directory go", async () => {
  const t = startTerm(`${shq(join(clone, "bin", "automigrate"))} demo`);
  let dir: string | undefined;
  try {
    // a running daemon is never shown as "not running", not even on the first screen (it says
    // "daemon …" until the daemon has answered)
    const first = await t.waitFor(/demo\.example\s+Migration Enabled/, 120_000);
    expect(first).not.toContain("not running");
    await t.waitFor("daemon running", 10_000);
    const args = spawnSync("ps", ["-eo", "args"], { encoding: "utf8" }).stdout;
    dir = /(\/\S+\/automigrate-demo-[A-Za-z0-9]{6})\/home daemon/.exec(args)?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir!)).toBe(true);
  } finally {
    t.kill();
  }
  for (let i = 0; i < 150 && (processesNaming(dir!) > 0 || existsSync(dir!)); i++) await Bun.sleep(200);
  expect(processesNaming(dir!)).toBe(0);
  expect(existsSync(dir!)).toBe(false);
}, 200_000);

test("a second signal during the clean-up (the terminal's SIGHUP, then the launcher's SIGTERM) does not cut it short", async () => {
  const t = startTerm(`${shq(join(clone, "bin", "automigrate"))} demo`);
  let dir: string | undefined;
  try {
    await t.waitFor("daemon running", 120_000);
    const args = spawnSync("ps", ["-ww", "-eo", "pid=,args="], { encoding: "utf8" }).stdout;
    dir = /(\/\S+\/automigrate-demo-[A-Za-z0-9]{6})\/home daemon/.exec(args)?.[1];
    // the console's own process (the launcher's child): ".../dist/cli.js demo" of this clone
    const demo = args.split("\n").find((l) => l.includes("/automigrate-clone-") && /\/dist\/cli\.js demo\s*$/.test(l));
    expect({ dir: Boolean(dir), demo: Boolean(demo) }).toEqual({ dir: true, demo: true });
    const pid = Number(demo!.trim().split(/\s+/)[0]);
    // what a dropped SSH session does: SIGHUP to the console, then (from the launcher) SIGTERM
    process.kill(pid, "SIGHUP");
    await Bun.sleep(50);
    try {
      process.kill(pid, "SIGTERM");
    } catch {}
    for (let i = 0; i < 150 && (processesNaming(dir!) > 0 || existsSync(dir!)); i++) await Bun.sleep(200);
    expect(processesNaming(dir!)).toBe(0);
    expect(existsSync(dir!)).toBe(false);
  } finally {
    t.kill();
  }
}, 200_000);
