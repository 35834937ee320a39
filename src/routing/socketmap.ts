// The socketmap protocol (Postfix socketmap_table(5), Sendmail's socket map): each request
// and each reply is one netstring "<length>:<bytes>,". Requests are "<name> <key>"; replies
// "OK <data>", "NOTFOUND ", "TEMP <reason>", "TIMEOUT <reason>" or "PERM <reason>". Pure.

import { netstring, oneLine } from "../netstring.ts";

export { MAX_REQUEST, netstring, takeNetstring, type Parsed } from "../netstring.ts";

/** "transport alice@example.com" → { name, key }. */
export function splitRequest(request: string): { name: string; key: string } | undefined {
  const sp = request.indexOf(" ");
  if (sp <= 0) return undefined;
  return { name: request.slice(0, sp), key: request.slice(sp + 1) };
}

export function reply(answer: { kind: "found"; transport: string } | { kind: "notfound" } | { kind: "temp"; why: string } | { kind: "perm"; why: string }): Buffer {
  // a reply (not counting the netstring) must stay under 100,000 bytes; reasons are short
  const text = oneLine;
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
