// Netstrings (D. J. Bernstein): "<length>:<bytes>,". Postfix's socketmap and automigrate's
// first-login socket frame every request and reply this way. Pure.

export const MAX_REQUEST = 10_000;

export function netstring(text: string): Buffer {
  const body = Buffer.from(text, "utf8");
  return Buffer.concat([Buffer.from(`${body.length}:`), body, Buffer.from(",")]);
}

export type Parsed = { request: string; rest: Buffer } | { incomplete: true } | { error: string };

/** Takes one netstring off the front of `buf`. */
export function takeNetstring(buf: Buffer, max = MAX_REQUEST): Parsed {
  const colon = buf.indexOf(0x3a);
  if (colon < 0) return buf.length > 10 ? { error: "no netstring length" } : { incomplete: true };
  const digits = buf.subarray(0, colon).toString("latin1");
  if (!/^\d{1,10}$/.test(digits)) return { error: `bad netstring length "${digits.slice(0, 12)}"` };
  const n = Number(digits);
  if (n > max) return { error: `request of ${n} bytes is longer than ${max}` };
  if (buf.length < colon + 1 + n + 1) return { incomplete: true };
  if (buf[colon + 1 + n] !== 0x2c) return { error: "netstring does not end with ','" };
  return { request: buf.subarray(colon + 1, colon + 1 + n).toString("utf8"), rest: buf.subarray(colon + 2 + n) };
}

/** A reason fit for one reply line: no line breaks, at most 1,000 characters. */
export function oneLine(s: string): string {
  return s.replace(/[\r\n\0]+/g, " ").slice(0, 1000);
}
