import { describe, expect, test } from "bun:test";
import { settingsOf } from "../../src/config/settings-help.ts";
import { domainSchema } from "../../src/config/schema.ts";
import { expectedText, FORM, FORM_FIELDS, formLines, formRows, itemsOf, mapItem, splitMapItem, valueFromItems, valueText } from "../../tui/settings-form.ts";

describe("the Configure form", () => {
  test("the sections an admin reads, every field a real setting, none twice", () => {
    expect(FORM.map((s) => s.title)).toEqual(["Migration", "Old server", "Accounts", "Folders", "External application", "LDAP"]);
    const known = new Set(settingsOf(domainSchema).map((h) => h.key));
    for (const f of FORM_FIELDS) expect(known.has(f.key)).toBe(true);
    expect(new Set(FORM_FIELDS.map((f) => f.key)).size).toBe(FORM_FIELDS.length);
  });

  test("lists and folder maps as items, and back as the JSON the schema takes", () => {
    expect(itemsOf(["Spam*", "Trash"], "list")).toEqual(["Spam*", "Trash"]);
    expect(itemsOf({ "Sent Items": "Sent", Junk: "Spam" }, "map")).toEqual(["Sent Items → Sent", "Junk → Spam"]);
    expect(valueFromItems(["Spam*", "Trash"], "list")).toBe('["Spam*","Trash"]');
    expect(valueFromItems([mapItem("Sent Items", "Sent")], "map")).toBe('{"Sent Items":"Sent"}');
    expect(splitMapItem("a → b → c")).toEqual(["a", "b → c"]);
    expect(valueText(["a", "b"], "list")).toBe("a, b");
    expect(valueText([], "list")).toBe("(none)");
    expect(valueText(undefined, "text")).toBe("(not set)");
  });

  test("the accepted values in words", () => {
    expect(expectedText("number")).toBe("a number");
    expect(expectedText("true|false")).toBe("true or false");
    expect(expectedText("none|starttls|implicit")).toBe("one of none, starttls, implicit");
    expect(expectedText("text")).toBe("");
  });

  test("rows fit the width: label, value, and the key when there is room; long values cut with …", () => {
    const values: Record<string, unknown> = { "migration.old.host": "old.example.com", "migration.old.auth.mode": "master", "migration.old.auth.passwordFile": "/a/very/long/path/".repeat(4) };
    for (const width of [76, 116]) {
      const lines = formLines((k) => values[k], width);
      const plain = lines.map((l) => l.replace(/\{\/?[a-z-]+\}/g, ""));
      for (const l of plain) expect(l.length).toBeLessThanOrEqual(width);
      expect(plain.find((l) => l.includes("IMAP host"))).toMatch(/^ {2}IMAP host\s+old\.example\.com\s+migration\.old\.host$/);
      expect(plain.find((l) => l.includes("Master password file"))).toMatch(/…/);
    }
    expect(formLines(() => undefined, 76)[0]).toContain("── Migration");
  });
});

describe("the settings of one auth mode", () => {
  const shown = (values: Record<string, unknown>) => formRows((k) => values[k]).flatMap((r) => ("field" in r && r.field.key.startsWith("migration.old.auth.") ? [r.field.key.slice(19)] : []));
  test("master shows the master user's; oauth2 its provider's; captured none but the mode", () => {
    expect(shown({ "migration.old.auth.mode": "master" })).toEqual(["mode", "user", "passwordFile", "method", "separator"]);
    expect(shown({ "migration.old.auth.mode": "captured" })).toEqual(["mode"]);
    expect(shown({ "migration.old.auth.mode": "oauth2" })).toEqual(["mode", "provider", "scope", "tokenUrl", "timeoutSec"]);
    expect(shown({ "migration.old.auth.mode": "oauth2", "migration.old.auth.provider": "microsoft" })).toEqual(["mode", "provider", "tenant", "clientId", "clientSecretFile", "certificateFile", "keyFile", "scope", "tokenUrl", "timeoutSec"]);
    expect(shown({ "migration.old.auth.mode": "oauth2", "migration.old.auth.provider": "google" })).toEqual(["mode", "provider", "serviceAccountKeyFile", "scope", "tokenUrl", "timeoutSec"]);
    expect(shown({ "migration.old.auth.mode": "oauth2", "migration.old.auth.provider": "command" })).toEqual(["mode", "provider", "command", "scope", "tokenUrl", "timeoutSec"]);
    // the lines drawn are the rows shown
    expect(formLines((k) => ({ "migration.old.auth.mode": "captured" })[k], 116).length).toBe(formRows((k) => ({ "migration.old.auth.mode": "captured" })[k]).length);
  });
});
