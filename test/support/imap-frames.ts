// IMAP answers for parser tests: framed by the real framer first, as they are on the wire.
import { expect } from "bun:test";
import { ResponseFramer, type Response } from "../../src/mailstore/imap/framer.ts";
import { ParseError } from "../../src/mailstore/imap/tokens.ts";

/** Every response the framer makes of `wire` (a string is latin1: one character, one byte). */
export const frame = (wire: string | Buffer): Response[] => new ResponseFramer({ lineBytes: 1 << 20, literalBytes: 1 << 20 }).push(Buffer.isBuffer(wire) ? wire : Buffer.from(wire, "latin1"));

/** The one response `wire` holds. */
export function one(wire: string | Buffer): Response {
  const r = frame(wire);
  expect(r.length).toBe(1);
  return r[0]!;
}

/** The ParseError's message of `parse` on `wire` (which must be refused with a ParseError). */
export function refusedBy(parse: (r: Response) => unknown, wire: string): string {
  try {
    parse(one(wire));
  } catch (e) {
    expect(e).toBeInstanceOf(ParseError);
    return (e as Error).message;
  }
  throw new Error(`accepted: ${wire}`);
}
