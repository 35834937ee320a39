// `automigrate demo` in a real terminal: servers, daemon and console come up, simulated
// logins drain through the queue, and quitting removes everything it started.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { BUN, CLI } from "./support/harness.ts";
import { startTerm } from "./support/tmux.ts";

test("demo: users are migrated before your eyes; q stops and cleans up", async () => {
  const t = startTerm(`${BUN} ${CLI} demo; echo DEMO-EXIT $?`);
  try {
    await t.waitFor(/demo\.example\s+Migration Enabled/, 60_000);
    await Bun.sleep(300);
    t.keys("Tab");
    await t.waitFor(/@demo\.example\s+done\s+\d+ messages/, 60_000);
    await Bun.sleep(300);
    t.keys("q");
    const s = await t.waitFor("DEMO-EXIT 0", 30_000);
    const dir = /^(\/\S+\/automigrate-demo-[A-Za-z0-9]{6})$/m.exec(s)?.[1];
    expect(dir).toMatch(/automigrate-demo-/);
    expect(existsSync(dir!)).toBe(false);
    const left = spawnSync("sh", ["-c", `ps -eo args | grep -F "${dir}" | grep -v grep | wc -l`], { encoding: "utf8" }).stdout.trim();
    expect(left).toBe("0");
  } finally {
    t.kill();
  }
}, 180_000);
