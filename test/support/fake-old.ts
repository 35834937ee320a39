// The fixture of the old-server fault tests: one real new server (Dovecot) for the test file
// and, for each test, a scripted old server and a home set up between them; each test starts
// from an empty target mailbox, and its old server and home are removed after it.
import { afterAll, afterEach, beforeAll, beforeEach } from "bun:test";
import { rmSync } from "node:fs";
import { startDovecot, type Dovecot } from "./dovecot.ts";
import { startFakeImap, type FakeImap, type Quirks } from "./fake-imap.ts";
import { homeWithFakeOld } from "./harness.ts";

export interface FakeOldFixture {
  readonly target: Dovecot;
  /** This test's scripted old server (after `start`). */
  readonly old: FakeImap;
  /** This test's home (after `start`). */
  readonly home: string;
  /** Starts the old server with `quirks`, lets `fill` give it mail, and makes the home. */
  start(quirks: Quirks, fill: (old: FakeImap) => void, home?: Parameters<typeof homeWithFakeOld>[2]): Promise<void>;
}

/** Registers the hooks (call at the top of a test file). */
export function fakeOldPerTest(user: string): FakeOldFixture {
  let target: Dovecot | undefined;
  let old: FakeImap | undefined;
  let home: string | undefined;
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`the fixture's ${what} is not started (call start() in the test)`);
    return v;
  };
  beforeAll(async () => {
    target = await startDovecot({ label: "new", users: [{ user, password: "user-pw" }] });
  });
  afterAll(async () => {
    await target?.stop();
  });
  beforeEach(() => {
    if (target) rmSync(target.maildir(user), { recursive: true, force: true });
  });
  afterEach(async () => {
    await old?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
    old = undefined;
    home = undefined;
  });
  return {
    get target() {
      return need(target, "new server");
    },
    get old() {
      return need(old, "old server");
    },
    get home() {
      return need(home, "home");
    },
    async start(quirks, fill, homeOpts) {
      old = await startFakeImap({ quirks });
      fill(old);
      home = await homeWithFakeOld(old, need(target, "new server"), homeOpts);
    },
  };
}
