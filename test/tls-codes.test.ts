// A certificate the old server shows that cannot be trusted is a TLS error (code TLS, with the
// fix), decided on the socket's error code — never on the message text. A real TLS listener on
// 127.0.0.1 with a self-signed certificate made by openssl.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";
import { AutomigrateError, tlsErrorCode } from "../src/errors.ts";
import { openStore } from "../src/mailstore/imap/store.ts";

let dir: string;
let server: Server;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "automigrate-tls-"));
  const r = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "2", "-subj", "/CN=old.example"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  server = createServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }, (s) => {
    s.on("error", () => {});
    s.write("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("TLS failures are classified by their codes", () => {
  test("a self-signed certificate: code TLS, whatever the message says", async () => {
    const e = await openStore({ role: "old", host: "127.0.0.1", port, tls: "implicit", tlsVerify: true }, { user: "u", pass: "p" }, { timeoutMs: 5000 }).then(
      () => undefined,
      (x) => x,
    );
    expect(e).toBeInstanceOf(AutomigrateError);
    expect((e as AutomigrateError).code).toBe("TLS");
    expect(tlsErrorCode((e as AutomigrateError).cause)).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  });

  test("the decision reads codes, not words", () => {
    expect(tlsErrorCode(Object.assign(new Error("certificate has expired"), { code: "CERT_HAS_EXPIRED" }))).toBe("CERT_HAS_EXPIRED");
    expect(tlsErrorCode(Object.assign(new Error("wrapped"), { cause: { code: "ERR_TLS_CERT_ALTNAME_INVALID" } }))).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    // a message that merely mentions TLS is no TLS failure
    expect(tlsErrorCode(Object.assign(new Error("connection refused while trying TLS over ssl"), { code: "ECONNREFUSED" }))).toBeUndefined();
  });
});
