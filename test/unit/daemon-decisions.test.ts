import { describe, expect, test } from "bun:test";
import { decideLogin, insideQuietHours } from "../../src/queue/login-decision.ts";
import { configSchema } from "../../src/config/schema.ts";

const base = {
  migration: { enabled: true, continuous: true, old: { host: "old.example.com", imapTls: "implicit", auth: { mode: "master", user: "admin", passwordFile: "/x" } } },
};
const config = configSchema.parse({
  domains: {
    "example.com": base,
    "off.example": { ...base, migration: { ...base.migration, enabled: false } },
    "once.example": { ...base, migration: { ...base.migration, continuous: false } },
    "interns.example": { ...base, migration: { ...base.migration, accountClass: "interns" }, classes: { interns: { autoMigration: false } } },
  },
});
const login = (user: string, authUser?: string) => ({ user, service: "imap", authUser });

describe("decideLogin", () => {
  test("a user's own login on a migrating domain queues, keyed by the old server", () => {
    expect(decideLogin(login("a@example.com", "a@example.com"), config, () => undefined, false)).toEqual({ enqueue: true, domain: "example.com", oldServer: "old.example.com:993", continuous: true });
  });
  test("ignored, each with its reason", () => {
    expect(decideLogin(login("a@example.com", "admin"), config, () => undefined, false)).toMatchObject({ enqueue: false, reason: expect.stringContaining("master-user login") });
    expect(decideLogin(login("a@nowhere.example"), config, () => undefined, false)).toEqual({ enqueue: false, reason: "domain nowhere.example is not configured" });
    expect(decideLogin(login("a@off.example"), config, () => undefined, false)).toEqual({ enqueue: false, reason: "migration is disabled for off.example" });
    expect(decideLogin(login("a@interns.example"), config, () => undefined, false)).toEqual({ enqueue: false, reason: 'class "interns" of interns.example has automatic migration off' });
    expect(decideLogin(login("a@once.example"), config, () => "done", false)).toEqual({ enqueue: false, reason: "already migrated; continuous migration is off" });
    expect(decideLogin(login("no-at-sign"), config, () => undefined, false)).toEqual({ enqueue: false, reason: '"no-at-sign" is not a valid user address: it is not user@domain' });
  });
  test("continuous off still migrates until a run is complete", () => {
    expect(decideLogin(login("a@once.example"), config, () => "partial", false)).toMatchObject({ enqueue: true });
    expect(decideLogin(login("a@once.example"), config, () => undefined, false)).toMatchObject({ enqueue: true });
  });
});

describe("insideQuietHours", () => {
  const at = (h: number, m = 0) => new Date(2026, 0, 1, h, m);
  test("a range across midnight", () => {
    expect(insideQuietHours("22:00-06:00", at(23))).toBe(true);
    expect(insideQuietHours("22:00-06:00", at(5, 59))).toBe(true);
    expect(insideQuietHours("22:00-06:00", at(6))).toBe(false);
    expect(insideQuietHours("22:00-06:00", at(12))).toBe(false);
  });
  test("a range within a day, and no range at all", () => {
    expect(insideQuietHours("01:30-04:00", at(2))).toBe(true);
    expect(insideQuietHours("01:30-04:00", at(1, 29))).toBe(false);
    expect(insideQuietHours(undefined, at(12))).toBe(true);
  });
});

test("the account's last status is read only when the decision needs it", () => {
  let reads = 0;
  const status = () => {
    reads++;
    return "done";
  };
  decideLogin(login("a@example.com", "admin"), config, status, false); // master login: no read
  decideLogin(login("a@example.com"), config, status, false); // continuous on: no read
  expect(reads).toBe(0);
  decideLogin(login("a@once.example"), config, status, false);
  expect(reads).toBe(1);
});
