// The test runner's rule for which processes a test file left behind (scripts/test-runner).
import { describe, expect, test } from "bun:test";
import { belongsTo, parseStat, type ProcessInfo } from "../../scripts/test-runner/leftovers.ts";

const owner = { sid: 500, tag: "77-3", dir: "/tmp/amt-x/3" };
const proc = (p: Partial<ProcessInfo>): ProcessInfo => ({ pid: 1000, ppid: 1, sid: 1000, state: "S", args: "", environ: "", cwd: "/", ...p });

describe("what a test file left behind", () => {
  test("its session, its tag, or its directory in the command line or as cwd", () => {
    expect(belongsTo(proc({ sid: 500 }), owner)).toBe(true);
    expect(belongsTo(proc({ environ: "PATH=/bin\0AUTOMIGRATE_TEST_TAG=77-3\0" }), owner)).toBe(true);
    // Dovecot rewrites its environment for its process title, but names its config file
    expect(belongsTo(proc({ args: "/usr/sbin/dovecot -F -c /tmp/amt-x/3/automigrate-dovecot-old-a/dovecot.conf" }), owner)).toBe(true);
    expect(belongsTo(proc({ cwd: "/tmp/amt-x/3/automigrate-dovecot-old-a/run" }), owner)).toBe(true);
  });

  test("not another file's (a longer directory name, another tag), not a zombie", () => {
    expect(belongsTo(proc({ args: "dovecot -c /tmp/amt-x/33/x.conf", cwd: "/tmp/amt-x/33" }), owner)).toBe(false);
    expect(belongsTo(proc({ environ: "AUTOMIGRATE_TEST_TAG=77-33\0" }), owner)).toBe(false);
    expect(belongsTo(proc({ sid: 500, state: "Z" }), owner)).toBe(false);
  });

  test("/proc/<pid>/stat with spaces and parentheses in the command name", () => {
    expect(parseStat("123 (dovecot (auth) x) S 45 123 67 0 -1 4194560")).toEqual({ state: "S", ppid: 45, sid: 67 });
    expect(parseStat("garbage")).toBeUndefined();
  });
});
