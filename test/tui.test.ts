// The console in a real terminal (tmux, 80x24) against a real daemon and real Dovecots.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { Vault } from "../src/accounts/vault.ts";
import { join } from "node:path";
import { generateMaildir } from "../bench/mailgen.ts";
import { startDaemon, userLogin, waitFor, type DaemonProc } from "./support/daemon.ts";
import { CLI, runCliOk, shq, startHarness, type Harness } from "./support/harness.ts";
import { makeMessage, seed } from "./support/mail.ts";
import { startTerm, type Term } from "./support/tmux.ts";

const CAROL = "carol@example.com";
const IVAN = "ivan@other.example";
let h: Harness;
let d: DaemonProc;
let t: Term;
const cfg = () => JSON.parse(readFileSync(join(h.home, "config.json"), "utf8"));

/** In a Configure form: moves down from the top until the meaning line names `key`. */
async function toField(key: string): Promise<void> {
  // the first row is the first section's title
  t.keys("Home");
  await t.waitFor(/^Migration — Enter or Space on a setting edits it/m);
  const named = new RegExp(`^${key.replace(/\./g, "\\.")}: `, "m");
  for (let i = 0; i < 60; i++) {
    try {
      await t.waitFor(named, 150);
      return;
    } catch {
      t.keys("Down");
    }
  }
  throw new Error(`no field ${key} in the form`);
}

beforeAll(async () => {
  h = await startHarness({ users: ["alice@example.com", CAROL, IVAN] });
  await seed(h.old, "alice@example.com", [], [{ folder: "INBOX", raw: makeMessage(1) }]);
  generateMaildir(h.old.maildir(CAROL), { folders: ["INBOX"], messages: 4000, size: () => 6000 }, process.getuid?.() === 0 ? { uid: 8, gid: 8 } : undefined);
  const old = [`migration.old.host=${h.old.host}`, `migration.old.imapPort=${h.old.port}`, "migration.old.imapTls=none", "migration.old.auth.mode=master", "migration.old.auth.user=admin"];
  writeFileSync(join(h.home, "wrong.pw"), "wrong\n");
  await runCliOk(h.home, ["config", "set", `logins.0.path=${h.target.logPath}`, "workers.retryBaseSec=1"]);
  await runCliOk(h.home, ["domain", "enable", "example.com"]);
  await runCliOk(h.home, ["domain", "add", "zeta.example", ...old, `migration.old.auth.passwordFile=${join(h.home, "old-master.pw")}`]);
  await runCliOk(h.home, ["domain", "add", "ldap.example", ...old, `migration.old.auth.passwordFile=${join(h.home, "old-master.pw")}`, "ldap.sync=true"]);
  await runCliOk(h.home, ["domain", "add", "other.example", ...old, `migration.old.auth.passwordFile=${join(h.home, "wrong.pw")}`]);
  await runCliOk(h.home, ["domain", "enable", "other.example"]);
  d = await startDaemon(h.home);
  t = startTerm(`${shq(CLI)} --home ${shq(h.home)} tui`);
  await t.waitFor(/automigrate — Domains — row 1\/\d+ — daemon running/);
}, 120_000);

afterAll(async () => {
  t?.kill();
  if (d?.proc.exitCode === null) await d.stop();
  await h.stop();
});

describe("console", () => {
  test("domains in alphabetical order with their status, and a key-help bar", async () => {
    const s = await t.waitFor("zeta.example");
    const rows = s.split("\n").filter((l) => /Migration (En|Dis)abled/.test(l));
    expect(rows.map((r) => r.replace(/[│|]/g, "").trim().split(/\s+/).slice(0, 3).join(" "))).toEqual([
      "example.com Migration Enabled",
      "ldap.example Migration Disabled",
      "other.example Migration Enabled",
      "zeta.example Migration Disabled",
    ]);
    // at 80 columns every key of the view and ? help / q quit are visible
    expect(s).toMatch(/Enter edit  e on\/off  c classes  a add  \/ filter  Tab queue +\? help  q quit/);
  });

  test("a search filter narrows the list as you type (any case); Esc clears it; an empty one shows all again; no match says so", async () => {
    t.keys("/");
    await t.waitFor("Filter domains");
    t.keys("O"); // example.com and other.example; not ldap.example nor zeta.example
    const live = await t.waitFor(/\(filter: o\)[\s\S]*Filter domains: O▌/);
    expect([live.includes("example.com"), live.includes("other.example"), live.includes("ldap.example"), live.includes("zeta.example")]).toEqual([true, true, false, false]);
    t.keys("t");
    const narrower = await t.waitFor(/\(filter: ot\)/);
    expect([narrower.includes("│example.com"), narrower.includes("other.example")]).toEqual([false, true]);
    t.keys("Escape"); // cleared, all back
    await t.waitFor("ldap.example");
    expect(t.screen()).not.toContain("(filter:");
    t.keys("/");
    await t.waitFor("Filter domains");
    t.keys("zeta", "Enter");
    const s = await t.waitFor("(filter: zeta)");
    expect(s).not.toContain("ldap.example");
    t.keys("/");
    await t.waitFor("Filter domains");
    t.keys("Enter");
    await t.waitFor("ldap.example");
    // nothing matches: the list says so, and how to get the domains back
    t.keys("/");
    await t.waitFor("Filter domains");
    t.keys("nomatch");
    const none = await t.waitFor('(no domains match "nomatch": Esc clears the filter)');
    expect(none).not.toContain("example.com");
    t.keys("Escape");
    await t.waitFor("ldap.example");
  });

  test("enable/disable on a key changes the settings file; disabling wipes captured passwords as the CLI does", async () => {
    new Vault(h.home).put("kept-for-a-while@example.com", "captured-pw");
    // disabling asks first and says what it wipes; anything but y changes nothing
    t.keys("e");
    const ask = await t.waitFor(/Disable migration for example\.com\?[\s\S]*confirm/);
    expect(ask.replace(/[│\s]+/g, " ")).toContain("Logins are no longer migrated, and 1 captured password is wiped. Type y to confirm:");
    t.keys("n", "Enter");
    await t.waitFor("example.com: not changed");
    expect(cfg().domains["example.com"].migration.enabled).toBe(true);
    t.keys("e");
    await t.waitFor(/Disable migration for example\.com\?/);
    t.keys("y", "Enter");
    await t.waitFor("example.com: Migration Disabled (1 captured password wiped)");
    expect(cfg().domains["example.com"].migration.enabled).toBe(false);
    expect(existsSync(join(h.home, "vault", "kept-for-a-while@example.com.json"))).toBe(false);
    t.keys("e");
    await t.waitFor("example.com: Migration Enabled");
    expect(cfg().domains["example.com"].migration.enabled).toBe(true);
  });

  test("an LDAP-synced domain is refused with the text and the reason; nothing changes", async () => {
    t.keys("Down", "e");
    const s = await t.waitFor("Domain migration couldn't be enabled!");
    expect(s).toContain("reason: LDAP synchronisation is on for ldap.example");
    expect(cfg().domains["ldap.example"].migration.enabled).toBe(false);
    t.keys("Up");
  });

  test("configure: in sections, in plain words; an invalid port is refused inline with its format and does not block saving a valid change", async () => {
    const before = cfg().domains["example.com"].migration.old.imapPort;
    t.keys("Enter");
    // in sections, each setting in plain words with its key small beside it
    const form = await t.waitFor("Configure example.com");
    expect(form).toMatch(/── Migration ─+[\s\S]*Migrate at login\s+true\s+migration\.enabled[\s\S]*── Old server ─+[\s\S]*IMAP port\s/);
    await toField("migration.old.imapPort");
    // the highlighted setting's meaning, from the schema, with its format in words
    await t.waitFor(/migration\.old\.imapPort: its IMAP port \(default 143, or 993 with[\s\S]*\(a number\)/);
    t.keys("Enter");
    await t.waitFor("IMAP port — migration.old.imapPort (now:");
    t.keys("C-u", "70000", "Enter");
    await t.waitFor(/migration\.old\.imapPort: 70000 is not a port \(1-65535\) — not changed;\s+expected\s+a\s+number/);
    expect(t.screen()).not.toContain("MODIFIED");
    // the refused value never entered the form: it does not block saving the rest.
    // Space edits as Enter does: toggle continuous migration and save
    await toField("migration.continuous");
    t.keys("Space");
    await t.waitFor(/Continuous \(every later login\)\s+true/);
    t.keys("s");
    await t.waitFor("example.com: saved");
    expect(cfg().domains["example.com"].migration.continuous).toBe(true);
    expect(cfg().domains["example.com"].migration.old.imapPort).toBe(before);
  });

  test("configure: the old server's login switched to OAuth2 field by field; saving waits until the provider's settings are complete", async () => {
    t.keys("Enter");
    await t.waitFor("Configure example.com");
    await toField("migration.old.auth.mode");
    // master → captured → csv → oauth2: a new mode starts its settings afresh
    for (const mode of ["captured", "csv"]) {
      t.keys("Enter");
      await t.waitFor(new RegExp(`Log in with\\s+${mode}\\s`));
    }
    t.keys("Enter");
    await t.waitFor(/Log in with\s+oauth2\s/);
    await t.waitFor(/still needed before saving: migration\.old\.auth\.provider:\s+required/);
    t.keys("s");
    await t.waitFor("nothing was saved");
    expect(cfg().domains["example.com"].migration.old.auth.mode).toBe("master");
    await toField("migration.old.auth.provider");
    t.keys("Enter");
    await t.waitFor(/OAuth2 provider\s+microsoft\s/);
    await t.waitFor(/still needed before saving: migration\.old\.auth\.tenant: provider microsoft\s+needs\s+tenant/);
    t.keys("Enter");
    await t.waitFor(/OAuth2 provider\s+google\s/);
    await t.waitFor(/still needed before saving: migration\.old\.auth\.serviceAccountKeyFile:\s+provider\s+google\s+needs\s+serviceAccountKeyFile/);
    await toField("migration.old.auth.serviceAccountKeyFile");
    t.keys("Enter");
    await t.waitFor("Google service account key file — migration.old.auth.serviceA");
    t.keys("/etc/automigrate/sa.json", "Enter");
    await t.waitFor(/Google service account key file\s+\/etc\/automigrate\/sa\.json/);
    t.keys("s");
    await t.waitFor("example.com: saved");
    expect(cfg().domains["example.com"].migration.old.auth).toEqual({ mode: "oauth2", provider: "google", serviceAccountKeyFile: "/etc/automigrate/sa.json", timeoutSec: 30 });
    // back to the master user the other tests use
    await runCliOk(h.home, ["domain", "set", "example.com", "migration.old.auth.mode=master", `migration.old.auth.user=${h.old.master.user}`, `migration.old.auth.passwordFile=${join(h.home, "old-master.pw")}`, "migration.old.auth.method=separator"]);
  }, 60_000);

  test("configure: unsaved edits are marked; Esc and q ask before dropping them", async () => {
    const before = cfg().domains["example.com"].migration.continuous;
    t.keys("Enter");
    await t.waitFor("Configure example.com");
    await toField("migration.continuous");
    t.keys("Enter");
    await t.waitFor("MODIFIED, not saved");
    t.keys("Escape");
    await t.waitFor("unsaved changes — Esc again discards them");
    expect(t.screen()).toContain("Configure example.com");
    t.keys("q");
    await t.waitFor("unsaved changes — q again quits");
    expect(t.screen()).toContain("Configure example.com");
    await Bun.sleep(200);
    t.keys("Escape");
    await Bun.sleep(200);
    t.keys("Escape");
    await t.waitFor("example.com: changes discarded");
    expect(cfg().domains["example.com"].migration.continuous).toBe(before);
  });

  test("configure: Test connection shows each check's result, for the form's values", async () => {
    t.keys("Enter");
    await t.waitFor("Configure example.com");
    // an unsaved wrong port is what t tests (what s would save)
    await toField("migration.old.imapPort");
    t.keys("Enter");
    await t.waitFor("migration.old.imapPort (now:");
    t.keys("C-u", "1", "Enter");
    await t.waitFor(/IMAP port\s+1\s/);
    t.keys("t");
    await t.waitFor(/FAIL old-imap: [^\n]*ECONNREFUSED/);
    t.keys("Escape"); // closes the results
    await Bun.sleep(300);
    t.keys("Escape");
    await t.waitFor("unsaved changes — Esc again discards them");
    t.keys("Escape");
    await t.waitFor("automigrate — Domains");
    t.keys("Enter");
    await t.waitFor("Configure example.com");
    t.keys("t");
    const s = await t.waitFor(/ok   new-imap: greeting/);
    expect(s).toMatch(/ok   old-imap: greeting "Dovecot \(Debian\) ready\."/);
    expect(s).toMatch(/FAIL old-smtp: /); // this old server has no SMTP
    expect(s).toContain("SKIP old-imap-login: no user to log in as");
    t.keys("Escape"); // closes the results
    await Bun.sleep(300);
    t.keys("Escape"); // leaves the form
    await t.waitFor("automigrate — Domains");
  });

  test("configure: lists are edited as lists (add, edit, delete), folder renames as pairs; a refused value says the format", async () => {
    t.keys("Enter");
    await t.waitFor("Configure example.com");
    await toField("migration.folders.exclude");
    t.keys("Enter");
    await t.waitFor("(none: a adds one)");
    for (const [i, name] of ["Spam*", "Trash", "Junk"].entries()) {
      t.keys("a");
      await t.waitFor("Folders not copied: a folder name or pattern");
      t.keys(name, "Enter");
      await t.waitFor(`Folders not copied: ${i + 1} item${i ? "s" : ""} in the form`);
    }
    // edit the first one (pre-filled), delete the second
    t.keys("Home", "Enter");
    await t.waitFor(/Folders not copied: a folder name or pattern[\s\S]*Spam\*/);
    t.keys("C-u", "Spam", "Enter");
    await t.waitFor(/│Spam\s/);
    t.keys("Down", "d");
    await t.waitFor("2 items in the form");
    t.keys("Escape");
    await t.waitFor(/Folders not copied\s+Spam, Junk/);
    await t.waitFor("MODIFIED, not saved");
    // a folder rename: the old name, then the new one
    await toField("migration.folders.rename");
    t.keys("Enter");
    await t.waitFor("(none: a adds one)");
    t.keys("a");
    await t.waitFor("Folders renamed: the folder on the old server");
    t.keys("Sent Items", "Enter");
    await t.waitFor("Folders renamed: its name on the new server");
    t.keys("Sent", "Enter");
    await t.waitFor("Sent Items → Sent");
    t.keys("Escape");
    await t.waitFor(/Folders renamed\s+Sent Items → Sent/);
    // a number refused: the reason and the format in words
    await toField("migration.parallelFolders");
    t.keys("Enter");
    await t.waitFor("migration.parallelFolders (now:");
    t.keys("C-u", "many", "Enter");
    await t.waitFor('migration.parallelFolders: "many" is not a number — not changed');
    await toField("migration.parallelFolders");
    t.keys("Enter");
    await t.waitFor("migration.parallelFolders (now:");
    t.keys("C-u", "3", "Enter");
    await t.waitFor(/Folders copied in parallel\s+3/);
    t.keys("s");
    await t.waitFor("example.com: saved");
    const f = cfg().domains["example.com"].migration;
    expect([f.folders.exclude, f.folders.rename, f.parallelFolders]).toEqual([["Spam", "Junk"], { "Sent Items": "Sent" }, 3]);
    // back as they were, for the tests after this one
    t.keys("Enter");
    await t.waitFor("Configure example.com");
    for (const key of ["migration.folders.exclude", "migration.folders.rename"]) {
      await toField(key);
      t.keys("Enter", "d", "d");
      await t.waitFor("(none: a adds one)");
      t.keys("Escape");
    }
    await toField("migration.parallelFolders");
    t.keys("Enter");
    await t.waitFor("migration.parallelFolders (now:");
    t.keys("C-u", "2", "Enter");
    t.keys("s");
    await t.waitFor("example.com: saved");
    expect(cfg().domains["example.com"].migration.folders).toMatchObject({ exclude: [], rename: {} });
  });

  test("account classes: the automatic-migration checkbox", async () => {
    t.keys("c");
    await t.waitFor("[x] enable automatic migration   domain-default");
    // a form like Configure: Space toggles in the form, s saves
    t.keys("Space");
    await t.waitFor(/\[ \] enable automatic migration   domain-default.*\*/);
    await t.waitFor("MODIFIED, not saved");
    expect(cfg().domains["example.com"].accountDefaults.autoMigration).toBe(true);
    t.keys("s");
    await t.waitFor("example.com: class domain-default: automatic migration off — saved");
    expect(cfg().domains["example.com"].accountDefaults.autoMigration).toBe(false);
    // the Domains screen says why this enabled domain now migrates nobody
    t.keys("Escape");
    await t.waitFor(/example\.com\s+Migration Enabled\s+! class "domain-defaul…│/);
    // the whole reason for the selected domain, below the list
    await t.waitFor(/example\.com: class "domain-default" \(new accounts\) has automatic migration off/);
    t.keys("c");
    await t.waitFor("[ ] enable automatic migration   domain-default");
    t.keys("Space", "s");
    await t.waitFor("automatic migration on — saved");
    await t.waitFor("[x] enable automatic migration   domain-default");
    expect(cfg().domains["example.com"].accountDefaults.autoMigration).toBe(true);
    t.keys("Escape");
    await t.waitFor("automigrate — Domains");
    // the daemon has the class back on before the next test's login: a reload it does after
    // the last write (SIGHUP) reads the file as it is now
    const reloads = d.output().split('"why":"SIGHUP"').length;
    d.proc.kill("SIGHUP");
    await waitFor(() => d.output().split('"why":"SIGHUP"').length > reloads, 10_000, "the daemon's reload");
  });

  test("the queue live from the daemon: a user runs with progress, then is done", async () => {
    t.keys("Tab");
    await t.waitFor("Migration queue");
    await userLogin(h.target, CAROL);
    await t.waitFor(/carol@example\.com\s+running\s+\[#*\.*\] \d+\/4000/, 20_000);
    // the account's detail while it runs: a bar for messages and one for bytes
    t.keys("Enter");
    const detail = await t.waitFor(/messages \[#*\.*\] \d+\/4000/, 10_000);
    expect(detail).toMatch(/bytes {4}\[#*\.*\] [\d.]+ [KM]?B\/[\d.]+ MB {2}\d+ msg\/s/);
    t.keys("Escape");
    await t.waitFor(/carol@example\.com\s+done\s+4000 messages/, 30_000);
  });

  test("queue actions: migrate now by hand, pause and resume", async () => {
    t.keys("p");
    await t.waitFor("Migration queue — PAUSED");
    t.keys("m");
    await t.waitFor("Migrate now, before logins and bulk work (user@domain)");
    // an address the daemon refuses is said to be refused, not "queued" (Ctrl-U clears the
    // selected user the prompt offers)
    t.keys("C-u", "nobody", "Enter");
    await t.waitFor("refused by the daemon:");
    expect(t.screen()).not.toContain("nobody: queued");
    // an address the old server does not know: said before anything is queued
    t.keys("m");
    await t.waitFor("Migrate now, before logins and bulk work (user@domain)");
    t.keys("C-u", "nosuchuser@example.com", "Enter");
    await t.waitFor(/nosuchuser@example\.com: the old server's login fails[\s\S]*anyway\?/);
    t.keys("n", "Enter");
    await t.waitFor("nosuchuser@example.com: not queued");
    expect((await d.status()).jobs.some((j: { user: string }) => j.user === "nosuchuser@example.com")).toBe(false);
    t.keys("m");
    await t.waitFor("Migrate now, before logins and bulk work (user@domain)");
    t.keys("C-u", "alice@example.com", "Enter");
    await t.waitFor("alice@example.com: queued — the queue is PAUSED");
    await t.waitFor(/alice@example\.com\s+queued/);
    await Bun.sleep(1500);
    expect(t.screen()).toMatch(/alice@example\.com\s+queued/); // paused: it waits
    t.keys("p");
    await t.waitFor(/alice@example\.com\s+done\s+1 message\b/, 20_000);
  });

  test("a resized terminal is redrawn", async () => {
    spawnSync("tmux", ["resize-window", "-t", t.name, "-x", "100", "-y", "30"]);
    await t.waitFor(/Migration queue[^\n]{60,}┐/);
    spawnSync("tmux", ["resize-window", "-t", t.name, "-x", "80", "-y", "24"]);
    await t.waitFor("Migration queue");
  });

  test("migrate now starts from the selected user; cancel asks first and acts on the selected row", async () => {
    t.keys("p");
    await t.waitFor("Migration queue — PAUSED");
    t.keys("f");
    await t.waitFor("Filter by domain");
    t.keys("alice", "Enter");
    await t.waitFor(/filter: alice[^\n]*\n[^\n]*alice@example\.com\s+done/);
    t.keys("m");
    await t.waitFor(/Migrate now, before logins and bulk work[\s\S]*alice@example\.com/);
    t.keys("Enter"); // the selected user, as offered
    await t.waitFor("alice@example.com: queued — the queue is PAUSED");
    await t.waitFor(/alice@example\.com\s+queued/);
    t.keys("x");
    // the prompt wraps at 80 columns: its parts
    const ask = await t.waitFor(/Cancel alice@example\.com \(queued\)\?[\s\S]*confirm/);
    expect(ask.replace(/[│\s]+/g, " ")).toContain("it leaves the queue. Type y to confirm:");
    t.keys("n", "Enter");
    await t.waitFor("alice@example.com: not cancelled");
    expect(t.screen()).toMatch(/alice@example\.com\s+queued/);
    t.keys("x");
    await t.waitFor(/Cancel alice@example\.com[\s\S]*confirm/);
    t.keys("y", "Enter");
    await t.waitFor("alice@example.com: cancelled");
    await t.waitFor(/alice@example\.com\s+done/); // back to its last outcome: no job left
    expect((await d.status()).jobs.some((j: { user: string }) => j.user === "alice@example.com")).toBe(false);
    t.keys("p");
    await t.waitFor(/Migration queue — (?!PAUSED)/);
    t.keys("f");
    await t.waitFor("Filter by domain");
    t.keys("Enter");
    await t.waitFor(/Migration queue — queued/);
  });

  test("a failed user is shown with the reason and can be retried; details on Enter", async () => {
    await userLogin(h.target, IVAN);
    await t.waitFor(/ivan@other\.example\s+failed\s+login refused/, 20_000);
    t.keys("f");
    await t.waitFor("Filter by domain");
    t.keys("ivan", "Enter");
    await t.waitFor("filter: ivan");
    t.keys("r");
    await t.waitFor("ivan@other.example: retried");
    t.keys("f");
    await t.waitFor("Filter by domain");
    t.keys("carol", "Enter");
    await t.waitFor("filter: carol");
    // carol is done: retry has nothing to do, and the console says so (not "retried")
    t.keys("r");
    await t.waitFor("carol@example.com: nothing to retry");
    t.keys("Enter");
    // the state file says done a moment before the daemon logs "migration finished": the
    // screen (refreshed every second) shows both in turn
    const s = await t.waitFor(/info migration finished status=done messages=4000/);
    expect(s).toContain("last run: done");
    expect(s).toMatch(/INBOX → INBOX: 4000 messages, up to UID 4000/);
    expect(s).toContain("recent log lines:");
    expect(s).toMatch(/info migration finished status=done messages=4000/);
    t.keys("Escape");
    await t.waitFor("Migration queue");
    // any user by address, in the list or not
    t.keys("u");
    await t.waitFor("Look up a user (user@domain):");
    t.keys("alice@example.com", "Enter");
    await t.waitFor(/┌─ alice@example\.com /);
    await t.waitFor("last run: done");
    t.keys("Escape");
    await t.waitFor("Migration queue");
    t.keys("f");
    await t.waitFor("Filter by domain");
    t.keys("C-u", "Enter");
    await t.waitFor(/ivan@other\.example\s+failed/, 20_000);
    // P pauses the selected row's domain only; R retries every failed job after a y
    t.keys("g", "P");
    await t.waitFor("other.example: paused (other domains go on)");
    expect((await d.status()).paused).toEqual({ all: false, domains: ["other.example"] });
    t.keys("P");
    await t.waitFor("other.example: resumed");
    t.keys("R");
    await t.waitFor(/Retry every failed job and end[\s\S]*y to[\s\S]*confirm:/);
    t.keys("y", "Enter");
    await t.waitFor(/retried 1 job\b/);
    // the account's history: every run this daemon saw, newest first. The queue may show
    // the failure from before R for up to a refresh, so the third run's end (the first, r,
    // R) is awaited from the daemon itself, not from the row.
    await waitFor(async () => {
      const st = await d.status();
      const runs = (st.recent as { user: string }[]).filter((r) => r.user === "ivan@other.example").length;
      return runs >= 3 && (st.failed as { user: string }[]).some((j) => j.user === "ivan@other.example");
    }, 20_000, "ivan's third run to fail");
    t.keys("u");
    await t.waitFor("Look up a user (user@domain):");
    t.keys("ivan@other.example", "Enter");
    const detail = await t.waitFor(/job failed: \[LOGIN_REFUSED\][\s\S]*history:[\s\S]*│ {4}\S+ failed 0 new — login refused[\s\S]*│ {4}\S+ failed 0 new — login refused/);
    expect(detail).toContain("ivan@other.example: job failed: [LOGIN_REFUSED] login refused");
    t.keys("Escape");
    await t.waitFor("Migration queue");
  });

  test("long lists: PgDn/PgUp, End/G and Home/g move by pages and to the ends; the header says which row", async () => {
    const c = cfg();
    for (let i = 0; i < 60; i++) c.domains[`zz-${String(i).padStart(2, "0")}.example`] = structuredClone(c.domains["other.example"] ?? c.domains["example.com"]);
    for (const d of Object.keys(c.domains)) if (d.startsWith("zz-")) c.domains[d].migration.enabled = false;
    writeFileSync(join(h.home, "config.json"), JSON.stringify(c, null, 2));
    const n = Object.keys(c.domains).length;
    t.keys("Escape");
    await t.waitFor("automigrate — Domains");
    // per-domain progress from the daemon: accounts by their latest run
    await t.waitFor(/example\.com\s+Migration Enabled\s+2\/2 done/);
    expect(t.screen()).toMatch(/other\.example\s+Migration Enabled\s+0\/1 done \(0%\), 1 failed/);
    t.keys("/");
    await t.waitFor("Filter domains");
    t.keys("Enter"); // refresh with the new list
    await t.waitFor(`row 1/${n}`);
    t.keys("G");
    await t.waitFor(`row ${n}/${n}`);
    expect(t.screen()).toContain("zz-59.example");
    t.keys("g");
    await t.waitFor(`row 1/${n}`);
    t.keys("PageDown");
    const s = await t.waitFor(/row (?!1\/)\d+\//);
    expect(Number(/row (\d+)\//.exec(s)![1])).toBeGreaterThan(5);
    t.keys("End");
    await t.waitFor(`row ${n}/${n}`);
    t.keys("PageUp");
    await t.waitFor(new RegExp(`row (?!${n}/)\\d+/${n}`));
    t.keys("Home");
    await t.waitFor(`row 1/${n}`);
    t.keys("Down");
    await t.waitFor(`row 2/${n}`);
  });

  test("config.json broken while the console is open: the console says so and stays; fixed, it goes on", async () => {
    const file = join(h.home, "config.json");
    const good = readFileSync(file, "utf8");
    t.keys("Escape");
    await t.waitFor("automigrate — Domains");
    writeFileSync(file, "{ not json");
    t.keys("/"); // the list is read again for the filter: the broken file is named
    await t.waitFor(/config\.json is corrupt/);
    expect(t.screen()).toContain("automigrate — Domains");
    writeFileSync(file, good);
    t.keys("/");
    await t.waitFor("Filter domains");
    t.keys("Enter");
    await t.waitFor("example.com");
    t.keys("Tab");
    await t.waitFor("Migration queue");
  });

  test("without the daemon it says live status is unavailable; ? shows help; q quits", async () => {
    await d.stop();
    await t.waitFor("daemon not running: live status is unavailable", 10_000);
    t.keys("?");
    await t.waitFor("m migrate now (first in line), r retry, x cancel (asks), p pause/resume,");
    // typed like a person: Escape then q in one burst is Alt-q to a terminal
    t.keys("Escape");
    await t.waitFor(/automigrate — Queue/);
    await Bun.sleep(200);
    t.keys("Escape");
    await t.waitFor("automigrate — Domains");
    await Bun.sleep(200);
    t.keys("q");
    await Bun.sleep(800);
    expect(t.screen()).not.toContain("automigrate —");
  });
});

describe("console on a new home", () => {
  test("no domains yet: the list says how to add one; a adds it", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const home = mkdtempSync(join(tmpdir(), "automigrate-tui-empty-"));
    const e = startTerm(`${shq(CLI)} --home ${shq(home)} tui`);
    try {
      await e.waitFor("(no domains yet: a adds one)");
      e.keys("a");
      await e.waitFor("Add a domain (e.g. example.com)");
      e.keys("first.example", "Enter");
      const s = await e.waitFor("added first.example (Migration Disabled)");
      expect(s).not.toContain("(no domains yet");
      expect(s).toMatch(/first\.example\s+Migration Disabled/);
    } finally {
      e.kill();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
