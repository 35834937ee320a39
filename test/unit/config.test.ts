import { describe, expect, test } from "bun:test";
import { applyAssignments, parseAssignment } from "../../src/config/dotted.ts";
import { configSchema, domainSchema } from "../../src/config/schema.ts";
import { resolveHome } from "../../src/home.ts";
import { AutomigrateError } from "../../src/errors.ts";

const assign = (...pairs: string[]) => pairs.map(parseAssignment);

function inputErrorOf(fn: () => unknown): AutomigrateError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AutomigrateError) return e;
    throw e;
  }
  throw new Error("expected an input error");
}

describe("dotted settings", () => {
  test("types follow the schema: numbers, booleans, strings", () => {
    const d = applyAssignments(domainSchema, {}, assign("migration.old.host=old.example.com", "migration.old.imapPort=993", "migration.continuous=true"));
    expect(d.migration.old.host).toBe("old.example.com");
    expect(d.migration.old.imapPort).toBe(993);
    expect(d.migration.continuous).toBe(true);
  });
  test("a value that parses as a number but must be a string stays a string", () => {
    const d = applyAssignments(domainSchema, {}, assign("migration.folders.separatorReplacement=1"));
    expect(d.migration.folders.separatorReplacement).toBe("1");
  });
  test("a bad port names the path, the value and the allowed range", () => {
    const e = inputErrorOf(() => applyAssignments(domainSchema, {}, assign("migration.old.imapPort=70000"), "domains.example.com"));
    expect(e.message).toBe("domains.example.com.migration.old.imapPort: 70000 is not a port (1-65535)");
    expect(e.exitCode).toBe(2);
  });
  test("an unknown key is refused, not silently dropped", () => {
    const e = inputErrorOf(() => applyAssignments(domainSchema, {}, assign("migration.old.imapport=993")));
    expect(e.message).toContain('unknown setting "imapport"');
  });
  test("a bad TLS mode lists the allowed ones", () => {
    const e = inputErrorOf(() => applyAssignments(domainSchema, {}, assign("migration.old.imapTls=ssl")));
    expect(e.message).toBe('migration.old.imapTls: "ssl" is not a TLS mode (none, starttls, implicit)');
  });
  test("a value of the wrong type is said in words with the value and the format, not as zod's type names", () => {
    const message = (a: string) => inputErrorOf(() => applyAssignments(domainSchema, {}, assign(a))).message;
    expect(message("migration.parallelFolders=many")).toBe('migration.parallelFolders: "many" is not a number');
    expect(message("migration.continuous=maybe")).toBe('migration.continuous: "maybe" is not true or false');
    expect(message("migration.folders.exclude=Spam")).toBe('migration.folders.exclude: "Spam" is not a JSON list, e.g. ["a","b"]');
    expect(message('migration.folders.rename=["Sent"]')).toBe('migration.folders.rename: "[\\"Sent\\"]" is not a JSON object, e.g. {"a":"b"}');
  });
  test("passwords are never accepted as arguments", () => {
    expect(() => parseAssignment("target.auth.password=hunter2")).toThrow(/never given on the command line/);
  });
  test("arrays by index", () => {
    const c = applyAssignments(configSchema, {}, assign("logins.0.path=/var/log/dovecot.log", "logins.0.format=dovecot"));
    expect(c.logins).toEqual([{ path: "/var/log/dovecot.log", format: "dovecot" }]);
  });
  test("the separator replacement may not itself be a separator", () => {
    expect(() => applyAssignments(domainSchema, {}, assign("migration.folders.separatorReplacement=/"))).toThrow(/separator/);
  });
});

describe("home directory", () => {
  test("--home, then $AUTOMIGRATE_HOME, then root's and users' defaults", () => {
    expect(resolveHome({ home: "/x", env: { AUTOMIGRATE_HOME: "/y" } })).toBe("/x");
    expect(resolveHome({ env: { AUTOMIGRATE_HOME: "/y" } })).toBe("/y");
    expect(resolveHome({ env: {}, uid: 0 })).toBe("/var/lib/automigrate");
    expect(resolveHome({ env: { XDG_STATE_HOME: "/s" }, uid: 1000 })).toBe("/s/automigrate");
    expect(resolveHome({ env: { HOME: "/home/u" }, uid: 1000 })).toBe("/home/u/.local/state/automigrate");
  });
});

describe("values that reach a passwd-file are validated (no injected lines or fields)", () => {
  test("a quota with a newline and a second passwd line is refused, naming the path", () => {
    const e = inputErrorOf(() => applyAssignments(domainSchema, {}, assign("accountDefaults.quota=1G\nroot@example.com:{PLAIN}owned::::::")));
    expect(e.message).toContain("accountDefaults.quota");
    expect(e.message).toContain("is not a quota size");
  });
  test("a quota carrying extra userdb fields is refused; real sizes pass", () => {
    expect(() => applyAssignments(domainSchema, {}, assign("classes.evil.quota=1G userdb_mail=maildir:/root/Maildir userdb_uid=0"))).toThrow(/is not a quota size/);
    for (const q of ["2G", "500M", "1024k", "1", "1.5G", "10%"]) expect(applyAssignments(domainSchema, {}, assign(`accountDefaults.quota=${q}`)).accountDefaults.quota).toBe(q);
  });
  test("class names are names: no spaces, colons or control characters", () => {
    expect(domainSchema.safeParse({ classes: { "evil x": {} } }).success).toBe(false);
    expect(domainSchema.safeParse({ classes: { "a:b": {} } }).success).toBe(false);
    expect(domainSchema.safeParse({ migration: { accountClass: "staff\nroot" } }).success).toBe(false);
    expect(domainSchema.safeParse({ classes: { "staff-2026.q1": {} } }).success).toBe(true);
  });
});

describe("a mistyped settings key", () => {
  test("is answered with the nearest known key and the keys known there", () => {
    const e = inputErrorOf(() => applyAssignments(domainSchema, {}, assign("migration.old.imaport=993")));
    expect(e.message).toBe('migration.old: unknown setting "imaport" (did you mean "imapPort"?); known here: host, imapPort, imapTls, smtpHost, smtpPort, tlsVerify, auth, login, maxBytesPerSec, dailyDownloadMB, maxConnectionsPerUser, profile');
    expect(inputErrorOf(() => applyAssignments(configSchema, {}, assign("firstlogin.socket=/run/a.sock"))).message).toContain('(did you mean "firstLogin"?)');
    expect(inputErrorOf(() => applyAssignments(domainSchema, {}, assign("classes.staff.quotaa=1G"))).message).toContain('classes.staff: unknown setting "quotaa" (did you mean "quota"?)');
    // a key of another variant is not "unknown (did you mean itself?)": it does not apply with this mode
    const other = inputErrorOf(() => applyAssignments(domainSchema, {}, assign("migration.old.auth.mode=captured", "migration.old.auth.user=admin"))).message;
    expect(other).toBe('migration.old.auth: "user" does not apply with these settings (only with another migration.old.auth.mode: mode decides which settings apply)');
    // nothing near: no guess, only the list
    expect(inputErrorOf(() => applyAssignments(domainSchema, {}, assign("zzz=1"))).message).toBe('(settings): unknown setting "zzz"; known here: migration, accountDefaults, classes, ldap');
  });
});

describe("a new auth mode", () => {
  test("starts its settings afresh: the old mode's keys are dropped, the new ones come from the same command", () => {
    const master = applyAssignments(domainSchema, {}, assign("migration.old.auth.mode=master", "migration.old.auth.user=admin", "migration.old.auth.passwordFile=/etc/am/old.pw"));
    const next = applyAssignments(domainSchema, master, assign("migration.old.auth.mode=oauth2", "migration.old.auth.provider=google", "migration.old.auth.serviceAccountKeyFile=/etc/am/sa.json"));
    expect(next.migration.old.auth).toEqual({ mode: "oauth2", provider: "google", serviceAccountKeyFile: "/etc/am/sa.json", timeoutSec: 30 });
    // the same mode again keeps what is there
    const same = applyAssignments(domainSchema, next, assign("migration.old.auth.mode=oauth2", "migration.old.auth.timeoutSec=10"));
    expect(same.migration.old.auth).toEqual({ mode: "oauth2", provider: "google", serviceAccountKeyFile: "/etc/am/sa.json", timeoutSec: 10 });
  });

  test("oauth2 names what each provider still needs, by path", () => {
    const e = inputErrorOf(() => applyAssignments(domainSchema, {}, assign("migration.old.auth.mode=oauth2", "migration.old.auth.provider=microsoft", "migration.old.auth.tenant=contoso.onmicrosoft.com")));
    expect(e.message).toContain("migration.old.auth.clientId: provider microsoft needs clientId");
    expect(e.message).toContain("migration.old.auth.clientSecretFile: provider microsoft needs clientSecretFile");
    const both = inputErrorOf(() => applyAssignments(domainSchema, {}, assign("migration.old.auth.mode=oauth2", "migration.old.auth.provider=microsoft", "migration.old.auth.tenant=t1", "migration.old.auth.clientId=c1", "migration.old.auth.clientSecretFile=/s", "migration.old.auth.certificateFile=/c", "migration.old.auth.keyFile=/k")));
    expect(both.message).toContain("set either clientSecretFile or certificateFile + keyFile, not both");
    expect(inputErrorOf(() => applyAssignments(domainSchema, {}, assign("migration.old.auth.mode=oauth2", "migration.old.auth.provider=okta"))).message).toContain('"okta" is not an OAuth2 provider (microsoft, google, command)');
    expect(inputErrorOf(() => applyAssignments(domainSchema, {}, assign("migration.old.auth.mode=oauth2", "migration.old.auth.provider=command"))).message).toContain("migration.old.auth.command: provider command needs command");
    expect(inputErrorOf(() => applyAssignments(domainSchema, {}, assign("migration.old.auth.mode=oauth2", "migration.old.auth.provider=google", "migration.old.auth.serviceAccountKeyFile=sa.json"))).message).toContain("serviceAccountKeyFile: must be an absolute file path");
  });
});
