// The socketmap protocol (Postfix socketmap_table(5), Sendmail's socket map): each request
// and each reply is one netstring "<length>:<bytes>,". Requests are "<name> <key>"; replies
// "OK <data>", "NOTFOUND ", "TEMP <reason>", "TIMEOUT <reason>" or "PERM <reason>". Pure.

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

/** "transport alice@example.com" → { name, key }. */
export function splitRequest(request: string): { name: string; key: string } | undefined {
  const sp = request.indexOf(" ");
  if (sp <= 0) return undefined;
  return { name: request.slice(0, sp), key: request.slice(sp + 1) };
}

export function reply(answer: { kind: "found"; transport: string } | { kind: "notfound" } | { kind: "temp"; why: string } | { kind: "perm"; why: string }): Buffer {
  // a reply (not counting the netstring) must stay under 100,000 bytes; reasons are short
  const text = (s: string) => s.replace(/[\r\n]+/g, " ").slice(0, 1000);
  switch (answer.kind) {
    case "found":
      return netstring(`OK ${answer.transport}`);
    case "notfound":
      return netstring("NOTFOUND ");
    case "temp":
      return netstring(`TEMP ${text(answer.why)}`);
    case "perm":
      return netstring(`PERM ${text(answer.why)}`);
  }
}
