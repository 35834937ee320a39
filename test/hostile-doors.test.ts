// The daemon's doors under hostile clients, through the built entry: a client that trickles a
// request byte by byte cannot hold a connection slot (the deadline counts from the request's
// first byte), a full routing socket answers TEMP (Postfix defers, never bounces), a
// world-accessible first-login socket is refused in the settings, and the control socket
// answers a wrong-typed body or a malformed URL with a typed 400/404, never internal text.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { homePaths } from "../src/home.ts";
import { startDaemon, waitFor, type DaemonProc } from "./support/daemon.ts";
import { runCli, runCliOk } from "./support/harness.ts";

let root: string;
let home: string;
let d: DaemonProc;
const authSock = () => join(root, "auth.sock");
const routeSock = () => join(root, "routing.sock");

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automigrate-doors-"));
  chmodSync(root, 0o755);
  home = join(root, "home");
  await runCliOk(home, ["config", "set", `firstLogin.socket=${authSock()}`, `routing.socket=${routeSock()}`, "routing.localTransport=lmtp:unix:private/dovecot-lmtp"]);
  await runCliOk(home, ["domain", "add", "example.com", "migration.old.host=127.0.0.1", "migration.old.smtpHost=127.0.0.1"]);
  d = await startDaemon(home);
  await waitFor(async () => Boolean((await d.status()).routing && (await d.status()).firstLogin), 10_000, "both sockets");
}, 60_000);

afterAll(async () => {
  if (d?.proc.exitCode === null) await d.stop();
  rmSync(root, { recursive: true, force: true });
});

const ns = (s: string) => `${Buffer.byteLength(s)}:${s},`;

/** A connection that sends `first`, then one more byte every `everyMs`; resolves when the daemon closes it (ms after the first byte). */
function trickle(path: string, first: string, everyMs: number, giveUpMs: number): Promise<number | "still open"> {
  return new Promise(async (resolve) => {
    const started = Date.now();
    let open = true;
    const conn = await Bun.connect({ unix: path, socket: { data: () => {}, close: () => void (open = false) } });
    conn.write(first);
    const timer = setInterval(() => {
      if (!open) {
        clearInterval(timer);
        return resolve(Date.now() - started);
      }
      if (Date.now() - started > giveUpMs) {
        clearInterval(timer);
        conn.end();
        return resolve("still open");
      }
      conn.write("x");
    }, everyMs);
  });
}

describe("hostile clients at the daemon's doors", () => {
  test("a request trickled a byte every 4 s is cut 10 s after its first byte, on both sockets", async () => {
    const [auth, route] = await Promise.all([trickle(authSock(), "500:check", 4000, 25_000), trickle(routeSock(), "500:transport", 4000, 25_000)]);
    expect(auth).not.toBe("still open");
    expect(route).not.toBe("still open");
    expect(auth as number).toBeLessThan(14_000);
    expect(route as number).toBeLessThan(14_000);
    expect(d.output()).toContain("not complete within 10 s of its first byte");
  }, 60_000);

  test("a full routing socket answers TEMP (Postfix defers), never PERM; then it answers again", async () => {
    const idle = await Promise.all(Array.from({ length: 505 }, () => Bun.connect({ unix: routeSock(), socket: { data: () => {} } })));
    let reply = "";
    const over = await Bun.connect({ unix: routeSock(), socket: { data: (_s, b) => void (reply += Buffer.from(b).toString()) } });
    over.write(ns("transport a@example.com"));
    await waitFor(() => reply.length > 0, 5000, "an answer");
    expect(reply).toBe(ns("TEMP too many connections (500)"));
    for (const c of idle) c.end();
    over.end();
    await Bun.sleep(300);
    let again = "";
    const c = await Bun.connect({ unix: routeSock(), socket: { data: (_s, b) => void (again += Buffer.from(b).toString()) } });
    c.write(ns("transport a@example.com"));
    await waitFor(() => again.length > 0, 5000, "an answer");
    expect(again).toBe(ns("NOTFOUND ")); // (the domain's migration is off: Postfix's own routing)
    c.end();
  });

  test("a first-login socket every local user could reach is refused, naming the key and the fix", async () => {
    const r = await runCli(home, ["config", "set", "firstLogin.socketMode=0666"]);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('firstLogin.socketMode: "0666" lets every local user connect, and so test passwords against the old server: use 0660 with firstLogin.socketGroup=dovecot')]);
    expect((await runCli(home, ["config", "set", "firstLogin.socketMode=0660"])).code).toBe(0);
  });

  test("the control socket: a wrong-typed body, bad JSON, a malformed URL, an unknown route: typed answers, never internal text", async () => {
    const call = async (path: string, body?: string) => {
      const r = await fetch(`http://automigrate${path}`, { method: body === undefined ? "GET" : "POST", body, unix: homePaths(home).controlSocket } as RequestInit);
      return { status: r.status, body: (await r.json()) as { code?: string; error?: string } };
    };
    expect(await call("/migrate", JSON.stringify({ user: 42 }))).toEqual({ status: 400, body: { code: "INPUT", error: "user must be a string user@domain" } });
    expect(await call("/migrate", JSON.stringify({ user: "../etc@example.com" }))).toEqual({ status: 400, body: { code: "INPUT", error: expect.stringContaining("is not a valid user address") } });
    expect(await call("/cancel", JSON.stringify({ state: "sleeping" }))).toEqual({ status: 400, body: { code: "INPUT", error: 'state "sleeping" is not one of queued, scheduled, waiting, running, failed' } });
    expect(await call("/retry", JSON.stringify({ user: "a@example.com", extra: 1 }))).toEqual({ status: 400, body: { code: "INPUT", error: expect.stringContaining('unknown setting "extra"') } });
    expect(await call("/pause", "{not json")).toEqual({ status: 400, body: { code: "INPUT", error: "the request body is not JSON" } });
    expect(await call("/accounts/%E0%A4%A")).toEqual({ status: 400, body: { code: "INPUT", error: expect.stringContaining("malformed escape") } });
    expect(await call("/nowhere")).toEqual({ status: 404, body: { code: "NOT_FOUND", error: "no such endpoint: GET /nowhere" } });
    expect(await call("/migrate", JSON.stringify({ user: "a@unknown.example" }))).toEqual({ status: 404, body: { code: "NOT_FOUND", error: expect.stringContaining("domain unknown.example is not configured") } });
    expect(d.output()).not.toMatch(/is not a function|TypeError/);
    expect(d.proc.exitCode).toBeNull();
  });
});
