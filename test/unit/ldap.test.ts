import { describe, expect, test } from "bun:test";
import { userFilter } from "../../src/accounts/ldap-auth.ts";
import { creatableUser } from "../../src/config/rules.ts";
import { configSchema, ldapSchema } from "../../src/config/schema.ts";

describe("userFilter", () => {
  test("placeholders are replaced", () => {
    expect(userFilter("(&(objectClass=inetOrgPerson)(mail={user}))", "ann@example.com")).toBe("(&(objectClass=inetOrgPerson)(mail=ann@example.com))");
    expect(userFilter("(&(uid={localpart})(o={domain}))", "ann@example.com")).toBe("(&(uid=ann)(o=example.com))");
  });
  test("filter syntax in a login name is escaped (RFC 4515), so it cannot widen the search", () => {
    // "*" never reaches a filter: no login carries it (the master-user separator); other
    // filter syntax is escaped (RFC 4515)
    expect(() => userFilter("(mail={user})", "a*b@example.com")).toThrow(/not a valid user address/);
    expect(userFilter("(uid={localpart})", "o'neil@example.com")).toBe("(uid=o'neil)");
    // parentheses and backslashes are no address at all: refused before any filter is built
    expect(() => userFilter("(mail={user})", "*)(uid=*@example.com")).toThrow(/not a valid user address/);
    expect(() => userFilter("(uid={localpart})", "a\\b*@example.com")).toThrow(/not a valid user address/);
  });
});

describe("ldap settings", () => {
  test("defaults: certificate checks on, a mail filter", () => {
    const s = ldapSchema.parse({});
    expect(s).toMatchObject({ sync: false, authCreate: false, tlsVerify: true, startTls: false, filter: "(&(objectClass=inetOrgPerson)(mail={user}))" });
  });
  test("each missing or contradictory field is named by its path", () => {
    const paths = (v: unknown) => (ldapSchema.safeParse(v).error?.issues ?? []).map((i) => i.path.join("."));
    expect(paths({ authCreate: true })).toEqual(["url", "baseDn"]);
    expect(paths({ bindDn: "cn=x" })).toEqual(["bindPasswordFile"]);
    expect(paths({ url: "ldaps://l.example", startTls: true })).toEqual(["startTls"]);
    expect(paths({ filter: "(mail=ann)" })).toEqual(["filter"]);
    expect(paths({ url: "http://l.example" })).toEqual(["url"]);
  });
});

describe("creatableUser", () => {
  const ldap = { authCreate: true, url: "ldap://l.example", baseDn: "dc=example,dc=com" };
  const old = { host: "old.example.com", auth: { mode: "master", user: "admin", passwordFile: "/x" } };
  const config = configSchema.parse({
    domains: {
      "mig.example": { migration: { enabled: true, old } },
      "ldapmig.example": { migration: { enabled: true, old }, ldap },
      "ldaponly.example": { ldap, classes: { staff: { quota: "1G" } }, migration: { accountClass: "staff" } },
      "off.example": { migration: { old } },
    },
  });
  test("migrating domains check the old server unless LDAP creates their accounts", () => {
    expect(creatableUser(config, "a@mig.example")).toMatchObject({ ok: true, check: "old-server", migrate: true });
    expect(creatableUser(config, "a@ldapmig.example")).toMatchObject({ ok: true, check: "ldap", migrate: true });
  });
  test("LDAP creates accounts without migration, with the domain's class", () => {
    expect(creatableUser(config, "a@ldaponly.example")).toEqual({ ok: true, domain: "ldaponly.example", className: "staff", quota: "1G", check: "ldap", migrate: false });
  });
  test("neither: refused with the reason", () => {
    expect(creatableUser(config, "a@off.example")).toEqual({ ok: false, reason: "migration is disabled for off.example" });
    expect(creatableUser(config, "a@nowhere.example")).toEqual({ ok: false, reason: "domain nowhere.example is not configured" });
  });
});
