// The settings list for --help comes from the schema, and set commands print what changed.
import { describe, expect, test } from "bun:test";
import { configSchema, domainSchema } from "../../src/config/schema.ts";
import { keysAt } from "../../src/config/dotted.ts";
import { changeLines, diffSettings, settingsOf } from "../../src/config/settings-help.ts";

describe("settingsOf", () => {
  test("every leaf the schema knows is listed once, and every one has a description", () => {
    const list = settingsOf(domainSchema);
    const keys = list.map((s) => s.key);
    expect(new Set(keys).size).toBe(keys.length);
    // the schema's own object keys at each level are all reachable
    for (const k of keysAt(domainSchema, ["migration", "old"])) expect(keys.some((x) => x.startsWith(`migration.old.${k}`))).toBe(true);
    for (const k of keysAt(domainSchema, ["ldap"])) expect(keys).toContain(`ldap.${k}`);
    expect(list.filter((s) => !s.description).map((s) => s.key)).toEqual([]);
    const globals = settingsOf(configSchema, "", ["domains", "version"]);
    expect(globals.filter((s) => !s.description).map((s) => s.key)).toEqual([]);
    expect(globals.some((s) => s.key.startsWith("domains") || s.key === "version")).toBe(false);
  });
  test("values, defaults and union variants", () => {
    const byKey = Object.fromEntries(settingsOf(configSchema, "", ["domains"]).map((s) => [s.key, s]));
    expect(byKey["target.auth.mode"]).toMatchObject({ values: "master|captured|csv|oauth2" });
    expect(byKey["target.tls"]).toMatchObject({ values: "none|starttls|implicit", default: "starttls" });
    expect(byKey["logins.<n>.path"]).toMatchObject({ values: "text" });
    expect(byKey["routing.recipientDelimiter"]).toMatchObject({ default: "+" });
  });
});

describe("diffSettings", () => {
  test("changed, added and removed leaves as dotted keys; equal objects give nothing", () => {
    const before = { a: { b: 1, c: "x" }, list: ["a"], gone: true };
    const after = { a: { b: 2, c: "x", d: "new" }, list: ["a", "b"] };
    expect(changeLines(diffSettings(before, after))).toEqual(["a.b: 1 → 2", "a.d: (not set) → new", 'list: ["a"] → ["a","b"]', "gone: true → (not set)"]);
    expect(diffSettings(before, structuredClone(before))).toEqual([]);
  });
  test("an object that appears is listed by its leaves", () => {
    expect(changeLines(diffSettings({ auth: undefined }, { auth: { mode: "csv" } }))).toEqual(["auth.mode: (not set) → csv"]);
  });
});
