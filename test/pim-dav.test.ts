// The worked example examples/pim-dav/migrate-dav.ts as automigrate's external application:
// a real migration (two Dovecots) runs it, and it copies the user's calendars and address
// books from one real Radicale to another.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Vault } from "../src/accounts/vault.ts";
import { startRadicale, type Radicale } from "./support/radicale.ts";
import { BUN, migrateJson, runCliOk, startHarness, type Harness } from "./support/harness.ts";

const EXAMPLE = join(import.meta.dir, "..", "examples", "pim-dav", "migrate-dav.ts");
const PW = "user-pw"; // the harness's password for every user
const ANN = "ann@example.com";
const BOB = "bob@example.com";

let h: Harness;
let oldDav: Radicale;
let newDav: Radicale;

const ev = (uid: string, summary: string, kind = "VEVENT") =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//automigrate test//EN\r\nBEGIN:${kind}\r\nUID:${uid}\r\nDTSTAMP:20260101T000000Z\r\n${kind === "VEVENT" ? "DTSTART:20260102T100000Z\r\n" : ""}SUMMARY:${summary}\r\nEND:${kind}\r\nEND:VCALENDAR\r\n`;
const card = (uid: string, name: string) => `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:${name}\r\nN:${name};;;;\r\nEMAIL:${uid}@example.com\r\nEND:VCARD\r\n`;

async function ok(r: Promise<Response>): Promise<void> {
  const res = await r;
  if (res.status !== 201 && res.status !== 204) throw new Error(`${res.status} ${res.statusText}: ${await res.text()}`);
}

const home = (u: string) => `/${encodeURIComponent(u)}/`;
const ITEMS: [string, string, string][] = [
  ["work/", "ev1.ics", ev("ev1", "Réunion d'équipe")],
  ["work/", "todo%201.ics", ev("todo1", "File the report", "VTODO")],
  ["work/", "ev2.ics", ev("ev2", "Lunch")],
  ["contacts/", "c1.vcf", card("c1", "Zoë Example")],
  ["contacts/", "c2.vcf", card("c2", "Bob Builder")],
];

async function seedOld(user: string): Promise<void> {
  const dav = (m: string, p: string, body?: string, hd?: Record<string, string>) => oldDav.dav(user, PW, m, home(user) + p, body, hd);
  await ok(dav("MKCALENDAR", "work/", `<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:i="http://apple.com/ns/ical/"><d:set><d:prop><d:displayname>Work &amp; Ünits</d:displayname><i:calendar-color>#ff8800</i:calendar-color><c:calendar-description>team dates</c:calendar-description><c:supported-calendar-component-set><c:comp name="VEVENT"/><c:comp name="VTODO"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>`));
  await ok(dav("MKCOL", "contacts/", `<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><card:addressbook/></d:resourcetype><d:displayname>Contacts</d:displayname></d:prop></d:set></d:mkcol>`));
  for (const [col, name, body] of ITEMS) await ok(dav("PUT", col + name, body, { "Content-Type": col === "work/" ? "text/calendar" : "text/vcard" }));
}

async function get(server: Radicale, user: string, path: string): Promise<{ status: number; body: string }> {
  const r = await server.dav(user, PW, "GET", home(user) + path);
  return { status: r.status, body: await r.text() };
}

beforeAll(async () => {
  h = await startHarness({ users: [ANN, BOB] });
  oldDav = await startRadicale([{ user: ANN, password: PW }, { user: BOB, password: PW }]);
  // bob's account on the new DAV server has another password: his run must fail, visibly
  newDav = await startRadicale([{ user: ANN, password: PW }, { user: BOB, password: "other" }]);
  await seedOld(ANN);
  await seedOld(BOB);
  await runCliOk(h.home, ["domain", "set", "example.com", 'migration.old.auth={"mode":"csv"}', "migration.pim.mode=command", `migration.pim.command=${JSON.stringify([BUN, EXAMPLE, "--old", oldDav.url, "--new", newDav.url, "{user}"])}`, "migration.pim.everyPass=true"]);
  for (const u of [ANN, BOB]) new Vault(h.home).put(u, PW);
}, 120_000);

afterAll(async () => {
  await Promise.all([h?.stop(), oldDav?.stop(), newDav?.stop()]);
});

describe("CardDAV/CalDAV example as the external application", () => {
  test("calendars and address books arrive with their items and collection properties", async () => {
    const r = await migrateJson(h.home, ANN);
    expect(r.report).toMatchObject({ status: "done", pim: { status: "done", exitCode: 0 } });
    for (const [col, name] of ITEMS) {
      const [a, b] = [await get(oldDav, ANN, col + name), await get(newDav, ANN, col + name)];
      expect({ name, status: b.status }).toEqual({ name, status: 200 });
      expect(b.body).toBe(a.body); // what each server serves, identical
    }
    const props = await newDav.dav(ANN, PW, "PROPFIND", home(ANN) + "work/", undefined, { Depth: "0" });
    const xml = await props.text();
    expect(xml).toContain("<displayname>Work &amp; Ünits</displayname>");
    expect(xml).toMatch(/calendar-color>#ff8800</);
    expect(xml).toMatch(/calendar-description>team dates</);
    expect(xml).toMatch(/<C:comp name="VEVENT" \/><C:comp name="VTODO" \/>/);
    const book = await (await newDav.dav(ANN, PW, "PROPFIND", home(ANN) + "contacts/", undefined, { Depth: "0" })).text();
    expect(book).toMatch(/<CR:addressbook \/>/);
  });

  test("a later pass copies only what is new and leaves copied items alone", async () => {
    await ok(oldDav.dav(ANN, PW, "PUT", home(ANN) + "work/ev3.ics", ev("ev3", "Added later"), { "Content-Type": "text/calendar" }));
    // an item the user already changed on the new server is not overwritten
    await ok(newDav.dav(ANN, PW, "PUT", home(ANN) + "work/ev2.ics", ev("ev2", "Lunch moved"), { "Content-Type": "text/calendar" }));
    const r = await migrateJson(h.home, ANN);
    expect(r.report.pim).toMatchObject({ status: "done" });
    expect((await get(newDav, ANN, "work/ev3.ics")).body).toBe((await get(oldDav, ANN, "work/ev3.ics")).body);
    expect((await get(newDav, ANN, "work/ev2.ics")).body).toContain("SUMMARY:Lunch moved");
    const out = Bun.spawnSync([BUN, EXAMPLE, "--old", oldDav.url, "--new", newDav.url, ANN], { stdin: Buffer.from(`${PW}\n`) });
    expect(out.exitCode).toBe(0);
    expect(out.stdout.toString()).toContain("calendar work (Work & Ünits): exists, 0 copied, 4 already there");
    expect(out.stdout.toString()).toContain("addressbook contacts (Contacts): exists, 0 copied, 2 already there");
  });

  test("a refused login on the new DAV server makes the run partial and says which server", async () => {
    const r = await migrateJson(h.home, BOB);
    expect(r.code).toBe(3);
    expect(r.report).toMatchObject({ status: "partial", pim: { status: "failed", exitCode: 1 } });
    expect(r.report.pim.stderrTail).toContain(`migrate-dav: ${BOB}: new server ${newDav.url.replace(/\/$/, "")}: login refused (401)`);
    expect(r.report.errors[0].message).toContain("the external application failed (exit 1)");
  });

  test("without a password on stdin it says which setting gives one", () => {
    const out = Bun.spawnSync([BUN, EXAMPLE, "--old", oldDav.url, "--new", newDav.url, ANN], { stdin: Buffer.from("") });
    expect(out.exitCode).toBe(2);
    expect(out.stderr.toString()).toContain("migration.old.auth.mode");
  });
});
