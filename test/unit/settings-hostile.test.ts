// Settings are hostile input at every door: no key reaches an object's prototype, and no text
// holds a control character, whichever setting it is (checked over the whole schema: a new
// setting is covered the day it is added).
import { describe, expect, test } from "bun:test";
import type { z } from "zod";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyAssignments, parseAssignment } from "../../src/config/dotted.ts";
import { controlCharacter, controlCharacterProblems } from "../../src/config/plain-text.ts";
import { domainSchema, globalsSchema } from "../../src/config/schema.ts";
import { settingsOf } from "../../src/config/settings-help.ts";
import { loadLocalConfig } from "../../src/config/store.ts";
import { AutomigrateError } from "../../src/errors.ts";

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AutomigrateError);
    return (e as Error).message;
  }
  throw new Error("not refused");
}

const polluted = () => ({}) as Record<string, unknown>;

describe("no setting reaches a prototype", () => {
  test.each(["__proto__.polluted=1", "constructor.prototype.polluted=1", "migration.__proto__.polluted=1", "migration.folders.rename.__proto__=x", "classes.prototype.quota=1G"])("%s is refused by name", (pair) => {
    expect(refusal(() => applyAssignments(domainSchema, {}, [parseAssignment(pair)]))).toMatch(/"(__proto__|constructor|prototype)" is not a setting name/);
    expect(polluted().polluted).toBeUndefined();
  });

  test("nor inside a JSON value", () => {
    for (const pair of ['migration.folders.rename={"__proto__":{"polluted":1}}', 'migration.folders.rename={"a":"b","constructor":"x"}', 'migration.pim.command=[{"__proto__":1}]']) {
      expect(refusal(() => applyAssignments(domainSchema, {}, [parseAssignment(pair)]))).toMatch(/is not a setting name/);
    }
    expect(polluted().polluted).toBeUndefined();
  });

  test("nor in a hand-edited config.json: refused with its path, never dropped in silence", () => {
    const home = mkdtempSync(join(tmpdir(), "am-hostile-"));
    try {
      for (const [json, at] of [
        ['{"__proto__": {"polluted": 1}}', "__proto__"],
        ['{"domains": {"example.com": {"classes": {"__proto__": {}}}}}', "domains.example.com.classes.__proto__"],
        ['{"domains": {"example.com": {"migration": {"folders": {"rename": {"constructor": "x"}}}}}}', "domains.example.com.migration.folders.rename.constructor"],
      ] as const) {
        writeFileSync(join(home, "config.json"), json);
        expect(refusal(() => loadLocalConfig(home))).toContain(`${at}: "${at.split(".").pop()}" is not a setting name`);
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
    expect(polluted().polluted).toBeUndefined();
  });
});

describe("no control characters in any text setting", () => {
  test("named as an admin reads them", () => {
    expect(["a\rb", "a\nb", "a\tb", "a\0b", "a\x7fb", "a\u0085b", "ok"].map(controlCharacter)).toEqual(["CR", "LF", "TAB", "NUL", "DEL", "U+0085", undefined]);
    expect(controlCharacterProblems({ a: ["x", "y\nz"], "b\rc": "d" })).toEqual([
      { path: ["a", 1], message: expect.stringContaining("(LF)") },
      { path: ["b\rc"], message: expect.stringContaining('the name "b\\rc" holds a control character (CR)') },
    ]);
  });

  // complete settings around the one under test, so that the only problem is the one injected
  const domainBase = ["migration.old.auth.mode=master", "migration.old.auth.user=admin", "migration.old.auth.passwordFile=/etc/old.pw", "migration.pim.mode=command", 'migration.pim.command=["/bin/true"]', "ldap.bindDn=cn=x", "ldap.bindPasswordFile=/etc/ldap.pw"];
  const globalBase = ["target.auth.mode=master", "target.auth.user=admin", "target.auth.passwordFile=/etc/new.pw", "logins.0.path=/var/log/mail.log", "provisioning.driver=command", 'provisioning.command=["/bin/true"]'];
  // the settings of the oauth2 auth mode are tried with that mode (with master they do not apply)
  const OAUTH2_KEY = /^(.*\.auth)\.(provider|tenant|clientId|clientSecretFile|certificateFile|keyFile|serviceAccountKeyFile|scope|tokenUrl|command|timeoutSec)$/;
  const baseFor = (key: string, base: readonly string[]) => {
    const m = OAUTH2_KEY.exec(key);
    return m ? [...base.filter((b) => !b.startsWith(`${m[1]}.`)), `${m[1]}.mode=oauth2`, `${m[1]}.provider=command`, `${m[1]}.command=["/bin/true"]`] : base;
  };
  const concrete = (key: string) => key.replace("<class>", "staff").replace("<n>", "0").replace("<name>", "x");
  const hostile = (values: string) => (values === "JSON list" ? '["a\\nb"]' : values === "JSON object" ? '{"a\\r\\nb":"c"}' : "a\r\nb");

  for (const [label, schema, base, skip] of [
    ["per domain", domainSchema, domainBase, []],
    ["global", globalsSchema, globalBase, ["version"]],
  ] as const) {
    test(`${label}: every text setting refuses a control character, naming the key`, () => {
      const texts = settingsOf(schema, "", [...skip]).filter((s) => ["text", "JSON list", "JSON object"].includes(s.values) || s.values.includes("text"));
      expect(texts.length).toBeGreaterThan(label === "global" ? 8 : 15);
      for (const s of texts) {
        const key = concrete(s.key);
        const message = refusal(() => applyAssignments(schema as z.ZodType<unknown>, {}, [...baseFor(key, base).filter((b) => !b.startsWith(`${key}=`)), `${key}=${hostile(s.values)}`].map(parseAssignment)));
        expect({ key, message }).toEqual({ key, message: expect.stringContaining(key) });
      }
    });
  }

  test("the findings of the hostile round: rename with CR/LF, a newline as separator replacement, an auth user, a separator, a passwd-file", () => {
    expect(refusal(() => applyAssignments(domainSchema, {}, [parseAssignment('migration.folders.rename={"INBOX.Old":"Archive\\r\\nOld"}')]))).toContain("migration.folders.rename.INBOX.Old: holds a control character (CR)");
    expect(refusal(() => applyAssignments(domainSchema, {}, [parseAssignment('migration.folders.separatorReplacement="\\n"')]))).toContain("migration.folders.separatorReplacement: holds a control character (LF)");
    expect(refusal(() => applyAssignments(domainSchema, {}, domainBase.slice(0, 3).concat(['migration.old.auth.user="ad\\nmin"']).map(parseAssignment)))).toContain("migration.old.auth.user: holds a control character (LF)");
    expect(refusal(() => applyAssignments(domainSchema, {}, domainBase.slice(0, 3).concat(['migration.old.auth.separator="\\t"']).map(parseAssignment)))).toContain("migration.old.auth.separator: holds a control character (TAB)");
    expect(refusal(() => applyAssignments(globalsSchema, {}, ["provisioning.driver=passwd-file", 'provisioning.passwdFile="/etc/x\\nroot::0:0"'].map(parseAssignment)))).toContain("provisioning.passwdFile: holds a control character (LF)");
  });
});
