#!/usr/bin/env bun
// Worked example of automigrate's external application (migration.pim): copies a user's
// address books and calendars from a CardDAV/CalDAV old server to a CardDAV/CalDAV new one.
//
//   bun examples/pim-dav/migrate-dav.ts --old <url> --new <url> <login>
//
// - <url>: where each server's DAV service answers (e.g. https://dav.old.example/ or
//   https://cloud.example/remote.php/dav/); the user's principal and their calendar and
//   address book homes are discovered from it (RFC 4791, RFC 6352, RFC 5397).
// - <login>: the DAV login on both servers ({user} or {localpart} in the hook's argv).
// - The password comes on stdin, as automigrate gives it (credentials mode captured or csv);
//   it is sent only to the two servers, as HTTP Basic authentication (use https).
// - Each collection is created on the new server if missing (same name, display name,
//   description, colour, component set), then every item is copied byte for byte with
//   If-None-Match: * — an item already there is left alone, so a rerun (a later login with
//   migration.pim.everyPass) fetches and copies only what is new. Changed items are not
//   updated.
// - Exit 0 when everything was copied; 1 when an item or a collection failed (each failure
//   on stderr: which collection, which item, which server, the HTTP status); 2 bad usage.
import { parseArgs } from "node:util";
import { XMLParser } from "fast-xml-parser";

const NS = 'xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:ical="http://apple.com/ns/ical/"';
const parser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: false, attributeNamePrefix: "@", isArray: (name) => ["response", "propstat", "comp", "href"].includes(name), parseTagValue: false });

type Props = Record<string, unknown>;
interface Entry {
  href: string;
  props: Props;
}

class DavError extends Error {}

class Dav {
  constructor(
    readonly label: "old" | "new",
    readonly base: URL,
    private readonly auth: string,
  ) {}

  async request(method: string, url: URL, body?: string | Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
    try {
      return await fetch(url, { method, body, headers: { Authorization: this.auth, ...headers }, redirect: "follow" });
    } catch (e) {
      throw new DavError(`${this.label} server ${url.origin}: ${(e as Error).message}`);
    }
  }

  async propfind(url: URL, depth: 0 | 1, props: string): Promise<Entry[]> {
    const r = await this.request("PROPFIND", url, `<?xml version="1.0" encoding="utf-8"?><d:propfind ${NS}><d:prop>${props}</d:prop></d:propfind>`, { Depth: String(depth), "Content-Type": "application/xml; charset=utf-8" });
    if (r.status === 401) throw new DavError(`${this.label} server ${url.origin}: login refused (401): check the user's password and the login name`);
    if (r.status !== 207) throw new DavError(`${this.label} server: PROPFIND ${url.pathname} answered ${r.status} ${r.statusText}`);
    const doc = parser.parse(await r.text());
    const responses: any[] = doc?.multistatus?.response ?? [];
    return responses.map((res) => {
      const props: Props = {};
      for (const ps of res.propstat ?? []) if (/ 200 /.test(String(ps.status))) Object.assign(props, ps.prop ?? {});
      return { href: String(res.href?.[0] ?? ""), props };
    });
  }

  /** A property that holds one <href>, resolved against the server. */
  async hrefProp(url: URL, prop: string, propXml: string): Promise<URL | undefined> {
    const [e] = await this.propfind(url, 0, propXml);
    const v = e?.props[prop] as { href?: string[] } | undefined;
    return v?.href?.[0] ? new URL(v.href[0], url) : undefined;
  }

  /** The user's calendar and address book homes (either may be missing). */
  async homes(): Promise<{ calendars?: URL; addressbooks?: URL }> {
    const principal = await this.hrefProp(this.base, "current-user-principal", "<d:current-user-principal/>");
    if (!principal) throw new DavError(`${this.label} server ${this.base.href}: no current-user-principal (is this the DAV service's URL?)`);
    const [e] = await this.propfind(principal, 0, "<c:calendar-home-set/><card:addressbook-home-set/>");
    const href = (p: unknown) => ((p as { href?: string[] } | undefined)?.href?.[0] ? new URL((p as { href: string[] }).href[0]!, principal) : undefined);
    return { calendars: href(e?.props["calendar-home-set"]), addressbooks: href(e?.props["addressbook-home-set"]) };
  }
}

interface Collection {
  kind: "calendar" | "addressbook";
  url: URL;
  name: string;
  displayName?: string;
  description?: string;
  color?: string;
  components: string[];
}

const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The calendars (or address books) in a home; one home may hold both kinds (Radicale). */
async function collections(dav: Dav, home: URL, want: Collection["kind"]): Promise<Collection[]> {
  const entries = await dav.propfind(home, 1, "<d:resourcetype/><d:displayname/><c:calendar-description/><card:addressbook-description/><ical:calendar-color/><c:supported-calendar-component-set/>");
  const out: Collection[] = [];
  for (const e of entries) {
    const url = new URL(e.href, home);
    const rt = e.props.resourcetype;
    const types = rt && typeof rt === "object" ? Object.keys(rt) : [];
    const kind = types.includes("calendar") ? "calendar" : types.includes("addressbook") ? "addressbook" : undefined;
    if (kind !== want || url.pathname === home.pathname) continue;
    const comps = ((e.props["supported-calendar-component-set"] as { comp?: { "@name": string }[] } | undefined)?.comp ?? []).map((c) => c["@name"]);
    out.push({
      kind,
      url,
      name: url.pathname.replace(/\/$/, "").split("/").pop()!,
      displayName: text(e.props.displayname),
      description: text(e.props["calendar-description"]) ?? text(e.props["addressbook-description"]),
      color: text(e.props["calendar-color"]),
      components: comps,
    });
  }
  return out;
}

async function ensureCollection(dav: Dav, c: Collection, url: URL): Promise<"created" | "exists"> {
  const head = await dav.request("PROPFIND", url, undefined, { Depth: "0" });
  if (head.status === 207) return "exists";
  const set = [c.displayName && `<d:displayname>${xmlEscape(c.displayName)}</d:displayname>`, c.color && `<ical:calendar-color>${xmlEscape(c.color)}</ical:calendar-color>`];
  let r: Response;
  if (c.kind === "calendar") {
    const comps = c.components.length ? `<c:supported-calendar-component-set>${c.components.map((n) => `<c:comp name="${xmlEscape(n)}"/>`).join("")}</c:supported-calendar-component-set>` : "";
    const body = `<?xml version="1.0" encoding="utf-8"?><c:mkcalendar ${NS}><d:set><d:prop>${set.filter(Boolean).join("")}${c.description ? `<c:calendar-description>${xmlEscape(c.description)}</c:calendar-description>` : ""}${comps}</d:prop></d:set></c:mkcalendar>`;
    r = await dav.request("MKCALENDAR", url, body, { "Content-Type": "application/xml; charset=utf-8" });
  } else {
    // extended MKCOL (RFC 5689): an address book in one request
    const body = `<?xml version="1.0" encoding="utf-8"?><d:mkcol ${NS}><d:set><d:prop><d:resourcetype><d:collection/><card:addressbook/></d:resourcetype>${c.displayName ? set[0] : ""}${c.description ? `<card:addressbook-description>${xmlEscape(c.description)}</card:addressbook-description>` : ""}</d:prop></d:set></d:mkcol>`;
    r = await dav.request("MKCOL", url, body, { "Content-Type": "application/xml; charset=utf-8" });
  }
  if (r.status !== 201) throw new DavError(`new server: could not create ${c.kind} ${c.name} at ${url.pathname}: ${r.status} ${r.statusText} ${(await r.text()).slice(0, 200)}`);
  return "created";
}

/** The item names (last path segments, as sent) in a collection. */
async function itemNames(dav: Dav, collection: URL): Promise<Map<string, URL>> {
  const names = new Map<string, URL>();
  for (const e of await dav.propfind(collection, 1, "<d:getetag/>")) {
    const url = new URL(e.href, collection);
    if (url.pathname !== collection.pathname) names.set(url.pathname.split("/").pop()!, url);
  }
  return names;
}

async function copyItems(from: Dav, to: Dav, c: Collection, target: URL): Promise<{ copied: number; present: number; failed: string[] }> {
  const res = { copied: 0, present: 0, failed: [] as string[] };
  // names already on the new server are not fetched again (a later pass reads only what is new)
  const there = await itemNames(to, target);
  for (const [name, src] of await itemNames(from, c.url)) {
    if (there.has(name)) {
      res.present++;
      continue;
    }
    const get = await from.request("GET", src);
    if (get.status !== 200) {
      res.failed.push(`${c.kind} ${c.name}, item ${decodeURIComponent(name)}: old server answered GET with ${get.status} ${get.statusText}`);
      continue;
    }
    const body = new Uint8Array(await get.arrayBuffer());
    const type = get.headers.get("content-type") ?? (c.kind === "calendar" ? "text/calendar; charset=utf-8" : "text/vcard; charset=utf-8");
    const put = await to.request("PUT", new URL(name, target), body, { "Content-Type": type, "If-None-Match": "*" });
    if (put.status === 201 || put.status === 204) res.copied++;
    else if (put.status === 412) res.present++;
    else res.failed.push(`${c.kind} ${c.name}, item ${decodeURIComponent(name)}: new server answered PUT with ${put.status} ${put.statusText} ${(await put.text()).slice(0, 200).trim()}`);
  }
  return res;
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ options: { old: { type: "string" }, new: { type: "string" }, help: { type: "boolean", short: "h" } }, allowPositionals: true });
  } catch (e) {
    process.stderr.write(`migrate-dav: ${(e as Error).message}\n`);
    return 2;
  }
  const login = args.positionals[0];
  if (args.values.help || !args.values.old || !args.values.new || !login || args.positionals.length !== 1) {
    process.stderr.write("usage: migrate-dav --old <dav url> --new <dav url> <login>   (password on stdin)\n");
    return args.values.help ? 0 : 2;
  }
  const password = (await Bun.stdin.text()).replace(/\r?\n$/, "");
  if (!password) {
    process.stderr.write("migrate-dav: no password on stdin: automigrate passes it when the domain's credentials mode is captured or csv (migration.old.auth.mode)\n");
    return 2;
  }
  const auth = `Basic ${Buffer.from(`${login}:${password}`).toString("base64")}`;
  let olds: Dav, news: Dav;
  try {
    olds = new Dav("old", new URL(args.values.old), auth);
    news = new Dav("new", new URL(args.values.new), auth);
  } catch {
    process.stderr.write(`migrate-dav: --old and --new must be URLs (e.g. https://dav.old.example/)\n`);
    return 2;
  }
  const failures: string[] = [];
  try {
    const [oh, nh] = await Promise.all([olds.homes(), news.homes()]);
    for (const kind of ["calendars", "addressbooks"] as const) {
      if (!oh[kind]) continue;
      if (!nh[kind]) {
        failures.push(`the new server has no ${kind} home for ${login}`);
        continue;
      }
      for (const c of await collections(olds, oh[kind]!, kind === "calendars" ? "calendar" : "addressbook")) {
        const target = new URL(`${c.name}/`, nh[kind]!);
        try {
          const state = await ensureCollection(news, c, target);
          const r = await copyItems(olds, news, c, target);
          failures.push(...r.failed);
          process.stdout.write(`${c.kind} ${c.name}${c.displayName ? ` (${c.displayName})` : ""}: ${state}, ${r.copied} copied, ${r.present} already there${r.failed.length ? `, ${r.failed.length} failed` : ""}\n`);
        } catch (e) {
          if (!(e instanceof DavError)) throw e;
          failures.push(e.message);
        }
      }
    }
  } catch (e) {
    if (!(e instanceof DavError)) throw e;
    failures.push(e.message);
  }
  for (const f of failures) process.stderr.write(`migrate-dav: ${login}: ${f}\n`);
  return failures.length ? 1 : 0;
}

process.exit(await main());
