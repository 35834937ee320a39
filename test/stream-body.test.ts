// A large message read whole and handed on piece by piece (ImapReader.streamBody, what a
// spool file is written from), against a scripted server on a real socket: the bytes arrive
// in the socket's chunks and exactly as sent, with the message's flags and date; a literal
// announced above the read's limit is refused before a byte is handed on; an answer that
// carries the body twice (a broken proxy) or none is never taken for the message.
import { afterEach, describe, expect, test } from "bun:test";
import { classify } from "../src/errors.ts";
import { ImapReader } from "../src/mailstore/imap/reader.ts";
import { startFakeImap, type FakeImap, type Quirks } from "./support/fake-imap.ts";

const servers: FakeImap[] = [];
const readers: ImapReader[] = [];
afterEach(async () => {
  for (const r of readers.splice(0)) await r.close();
  for (const s of servers.splice(0)) await s.stop();
});

/** A 6 MB message whose every 64 kB block differs (a piece out of place would show). */
function largeBody(): Buffer {
  const head = Buffer.from("From: a@example.org\r\nSubject: large\r\n\r\n");
  const blocks = Array.from({ length: 96 }, (_, i) => Buffer.alloc(65536, `block ${i} `));
  return Buffer.concat([head, ...blocks, Buffer.from("\r\nend\r\n")]);
}

async function open(quirks: Quirks = {}) {
  const fake = await startFakeImap({ quirks });
  servers.push(fake);
  const body = largeBody();
  fake.add("INBOX", "From: b@example.org\r\nSubject: small\r\n\r\nsmall\r\n");
  fake.add("INBOX", body, ["\\Seen", "$Label1"], new Date("2021-06-01T08:30:00Z"));
  fake.add("INBOX", "From: c@example.org\r\nSubject: after\r\n\r\nafter\r\n");
  const reader = await ImapReader.open({ host: fake.host, port: fake.port, tls: "none", tlsVerify: false, user: "ada@example.com", pass: "pw", label: "old server" });
  readers.push(reader);
  await reader.examine("INBOX");
  return { fake, reader, body };
}

/** Collects what streamBody hands on (copies: a piece is valid during the call only). */
function collector() {
  const pieces: Buffer[] = [];
  return { pieces, sink: (piece: Buffer) => void pieces.push(Buffer.from(piece)) };
}

describe("a large message streamed from the old server", () => {
  test("its bytes arrive whole, in order and in pieces, with its flags and date; the connection goes on", async () => {
    const { reader, body, fake } = await open();
    const c = collector();
    const got = await reader.streamBody(2, c.sink, { expectedBytes: body.length, maxLiteralBytes: body.length * 2 });
    expect(got).toEqual({ size: body.length, flags: ["\\Seen", "$Label1"], internalDate: new Date("2021-06-01T08:30:00Z") });
    expect(Buffer.concat(c.pieces).equals(body)).toBe(true);
    // handed on as the socket delivered it, never gathered whole first
    expect(c.pieces.length).toBeGreaterThan(1);
    expect(Math.max(...c.pieces.map((p) => p.length))).toBeLessThan(body.length);
    // one FETCH of the whole message, not a read in parts
    expect(fake.commands.filter((x) => /FETCH/i.test(x))).toEqual(["UID FETCH 2 (UID FLAGS INTERNALDATE BODY.PEEK[])"]);
    const next = await reader.bodies("3", { expectedBytes: 60, maxLiteralBytes: 1 << 20 });
    expect(next.messages.map((m) => m.source?.toString())).toEqual(["From: c@example.org\r\nSubject: after\r\n\r\nafter\r\n"]);
    next.release();
  });

  test("a literal announced above the read's limit is refused as announced: nothing handed on, OVERSIZED", async () => {
    const { reader } = await open({ inflateLiteral: { uid: 2, bytes: 300_000_000 } });
    const c = collector();
    const e = await reader.streamBody(2, c.sink, { expectedBytes: 6_300_000, maxLiteralBytes: 12_600_000 }).catch((x: unknown) => x);
    expect(classify(e).code).toBe("OVERSIZED");
    expect(c.pieces).toEqual([]);
  });

  test("an answer that carries the body twice is a broken connection, not a message twice as long", async () => {
    const { reader, body } = await open({ doubleBody: 2 });
    const c = collector();
    const e = await reader.streamBody(2, c.sink, { expectedBytes: body.length, maxLiteralBytes: body.length * 2 }).catch((x: unknown) => x);
    expect(classify(e).code).toBe("CONNECT");
    expect(String((e as Error).message)).toContain("did not carry the message as one literal");
    // the second copy was never handed on
    expect(Buffer.concat(c.pieces).length).toBeLessThanOrEqual(body.length);
  });

  test("an answer without a body item: no message, nothing handed on", async () => {
    const { reader } = await open({ bodyless: new Set([2]) });
    const c = collector();
    expect(await reader.streamBody(2, c.sink, { expectedBytes: 6_300_000 })).toBeUndefined();
    expect(c.pieces).toEqual([]);
  });
});
