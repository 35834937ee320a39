import { describe, expect, test } from "bun:test";
import { domainProblems, ENABLE_REFUSED, enableBlockers, LDAP_SYNC_REFUSED, migratableDomains, refuseChange, whyNobodyMigrates } from "../../src/config/rules.ts";
import { configSchema, domainSchema } from "../../src/config/schema.ts";

const ready = domainSchema.parse({ migration: { old: { host: "old.example.com", auth: { mode: "master", user: "admin", passwordFile: "/x" } } } });

describe("settings rules", () => {
  test("enabling a complete domain is allowed", () => {
    expect(refuseChange("example.com", ready, { ...ready, migration: { ...ready.migration, enabled: true } })).toBeUndefined();
  });
  test("enabling an LDAP-synced domain is refused with the headline and the reason", () => {
    const synced = { ...ready, ldap: { ...ready.ldap, sync: true } };
    const r = refuseChange("example.com", synced, { ...synced, migration: { ...synced.migration, enabled: true } });
    expect(r?.headline).toBe("Domain migration couldn't be enabled!");
    expect(r?.reasons[0]).toContain("LDAP synchronisation is on for example.com");
  });
  test("enabling without an old server or credentials says what is missing", () => {
    const bare = domainSchema.parse({});
    expect(enableBlockers("example.com", bare)).toEqual([
      "no old server is set (automigrate domain set example.com migration.old.host=<host>)",
      "no credentials for the old server (migration.old.auth.mode=master with .user and .passwordFile, or oauth2 with its provider)",
    ]);
  });
  test("turning LDAP sync on for a migrating domain is refused likewise", () => {
    const on = { ...ready, migration: { ...ready.migration, enabled: true } };
    const r = refuseChange("example.com", on, { ...on, ldap: { ...ready.ldap, sync: true } });
    expect(r?.headline).toBe(LDAP_SYNC_REFUSED);
  });
  test("a hand-edited domain with both on is a problem and is not migratable", () => {
    const both = { ...ready, migration: { ...ready.migration, enabled: true }, ldap: { ...ready.ldap, sync: true } };
    expect(domainProblems("a.example", both)[0]).toStartWith(ENABLE_REFUSED);
    const config = configSchema.parse({ domains: { "a.example": both, "b.example": { ...ready, migration: { ...ready.migration, enabled: true } } } });
    expect(migratableDomains(config)).toEqual(["b.example"]);
  });
  test("the account class must exist", () => {
    const bad = { ...ready, migration: { ...ready.migration, accountClass: "staff" } };
    expect(domainProblems("example.com", bad)).toEqual(['migration.accountClass: no class "staff" in example.com (classes: domain-default)']);
    expect(refuseChange("example.com", ready, bad)?.reasons).toHaveLength(1);
    const ok = { ...bad, classes: { staff: { autoMigration: true } } };
    expect(domainProblems("example.com", ok)).toEqual([]);
  });
});

describe("whyNobodyMigrates", () => {
  const on = (patch: (d: typeof ready) => void) => {
    const d = structuredClone({ ...ready, migration: { ...ready.migration, enabled: true } });
    patch(d);
    return d;
  };
  test("a complete enabled domain: no reason; a disabled one: none either (its status says it)", () => {
    expect(whyNobodyMigrates("example.com", on(() => {}))).toBeUndefined();
    expect(whyNobodyMigrates("example.com", ready)).toBeUndefined();
  });
  test("the class of new accounts without automatic migration is named, with the fix", () => {
    expect(whyNobodyMigrates("example.com", on((d) => (d.accountDefaults.autoMigration = false)))).toBe('class "domain-default" (new accounts) has automatic migration off: logins are not migrated (automigrate class set example.com domain-default autoMigration=true)');
  });
  test("a hand-edited file without old server or credentials", () => {
    expect(whyNobodyMigrates("example.com", on((d) => (d.migration.old.host = undefined)))).toBe("no old server: set migration.old.host");
    expect(whyNobodyMigrates("example.com", on((d) => (d.migration.old.auth = undefined)))).toBe("no credentials for the old server: set migration.old.auth.mode");
  });
});
