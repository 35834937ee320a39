// The console never leaves a broken terminal: killed with SIGTERM (its own clean-up), with
// SIGKILL (the launcher restores the terminal), or with SIGTERM sent to the launcher (passed
// on). Checked in a real terminal (tmux): after the console ends, the shell's terminal is
// in line mode with echo, on the main screen, with the cursor shown.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "./support/daemon.ts";
import { CLI, runCliOk, shq } from "./support/harness.ts";
import { startTerm, type Term } from "./support/tmux.ts";

let home: string;
const terms: Term[] = [];

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "automigrate-tui-signals-"));
  await runCliOk(home, ["domain", "add", "example.com"]);
});

afterAll(() => {
  for (const t of terms) t.kill();
  rmSync(home, { recursive: true, force: true });
});

/** The console's own process (Bun running the bundle), and its launcher (sh). */
function pids(): { console: number; launcher: number } {
  const find = (pattern: string) => Number(spawnSync("pgrep", ["-f", "-n", pattern], { encoding: "utf8" }).stdout.trim());
  return { console: find(`dist/cli.js --home ${home} tui`), launcher: find(`sh ${CLI} --home ${home} tui`) };
}

async function consoleThenKill(kill: (p: { console: number; launcher: number }) => void): Promise<{ after: string; modes: string; flags: string }> {
  // after the console: the exit status and the terminal's modes, printed by the shell
  const t = startTerm(`${shq(CLI)} --home ${shq(home)} tui; echo EXIT=$?; echo MODES $(stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo|isig)$' | tr '\\n' ' ')`);
  terms.push(t);
  await t.waitFor(/automigrate — Domains/);
  // it reads the terminal (not /dev/null): a key is answered
  t.keys("?");
  await t.waitFor("Lists: PgUp/PgDn");
  await waitFor(() => pids().console > 0, 5000, "the console's process");
  kill(pids());
  const after = await t.waitFor(/MODES .*\n/);
  const modes = /MODES (.*)/.exec(after)![1]!.trim();
  const flags = spawnSync("tmux", ["display-message", "-p", "-t", t.name, "#{alternate_on}#{cursor_flag}"], { encoding: "utf8" }).stdout.trim();
  return { after, modes, flags };
}

describe("the terminal after the console is killed", () => {
  test("SIGTERM to the console: it cleans up itself; line mode, main screen, cursor", async () => {
    const r = await consoleThenKill((p) => process.kill(p.console, "SIGTERM"));
    expect(r.after).toContain("EXIT=143");
    expect(r.modes).toBe("isig icanon echo");
    expect(r.flags).toBe("01"); // alternate screen off, cursor on
  });

  test("SIGKILL to the console: the launcher restores the terminal and says so", async () => {
    const r = await consoleThenKill((p) => process.kill(p.console, "SIGKILL"));
    expect(r.after).toContain("the console ended by signal 9; terminal restored");
    expect(r.after).toContain("EXIT=137");
    expect(r.modes).toBe("isig icanon echo");
    expect(r.flags).toBe("01");
  });

  test("SIGTERM to the launcher is passed on to the console", async () => {
    const r = await consoleThenKill((p) => process.kill(p.launcher, "SIGTERM"));
    expect(r.after).toContain("EXIT=143");
    expect(r.modes).toBe("isig icanon echo");
    expect(r.flags).toBe("01");
    await waitFor(() => !(pids().console > 0), 5000, "no console process left");
  });

  test("Ctrl-C while the demo is still starting: its servers and files are removed, exit 130", async () => {
    const demoDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith("automigrate-demo-")).sort();
    const before = demoDirs();
    // this file's own temporary directory (a tmux session gets the server's environment, not
    // ours): the demo's servers are told apart from those of a demo another test file runs
    const t = startTerm(`TMPDIR=${shq(tmpdir())} ${shq(CLI)} demo; echo EXIT=$?`);
    terms.push(t);
    await t.waitFor("automigrate demo: generating mailboxes", 30_000);
    t.keys("C-c");
    const after = await t.waitFor(/EXIT=\d+/, 30_000);
    expect(after).toContain("stopped while starting; cleaning up");
    expect(after).toContain("EXIT=130");
    expect(demoDirs()).toEqual(before);
    expect(spawnSync("pgrep", ["-f", `${tmpdir()}/automigrate-dovecot-demo`]).status).toBe(1); // no Dovecot left
    expect(spawnSync("pgrep", ["-f", `${tmpdir()}/automigrate-demo-.*daemon`]).status).toBe(1); // nor its daemon
  });
});
