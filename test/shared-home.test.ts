// A home that other hosts use too (NFS): the daemon says so at start, names them, and points
// at cluster mode; a home of its own gets no such warning.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { homePaths } from "../src/home.ts";
import { otherHostsIn } from "../src/storage/shared-home.ts";
import { startDaemon, waitFor } from "./support/daemon.ts";

const root = mkdtempSync(join(tmpdir(), "automigrate-shared-home-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

test("another host's control socket or lock in the home: named, with cluster mode as the way", async () => {
  const home = join(root, "shared");
  const paths = homePaths(home);
  mkdirSync(paths.accounts, { recursive: true, mode: 0o700 });
  writeFileSync(join(home, "control.mx2.example.sock"), "");
  writeFileSync(join(paths.accounts, "bob%40example.com.lock"), "4242 0123abcd mx3.example\n");
  writeFileSync(join(paths.accounts, "carol@example.com.lock"), `${process.pid} 0123abcd\n`); // this host's (no host: here)
  expect(otherHostsIn(home)).toEqual(["mx2.example", "mx3.example"]);

  const d = await startDaemon(home);
  try {
    await waitFor(() => d.output().includes("daemon started"), 10_000, "the daemon");
    const warning = d.output().split("\n").find((l) => l.includes("this home is used from other hosts too"));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: "warn", hosts: ["mx2.example", "mx3.example"] });
    expect(warning).toContain("storage.driver=postgres");
  } finally {
    expect(await d.stop()).toBe(0);
  }
});

test("a home of its own: no warning", async () => {
  const home = join(root, "own");
  const d = await startDaemon(home);
  try {
    await waitFor(() => d.output().includes("daemon started"), 10_000, "the daemon");
    expect(otherHostsIn(home)).toEqual([]);
    expect(d.output()).not.toContain("used from other hosts");
  } finally {
    expect(await d.stop()).toBe(0);
  }
});
