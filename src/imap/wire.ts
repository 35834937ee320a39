// Small pieces of IMAP syntax (RFC 3501) used by the raw APPEND writer.
import iconv from "iconv-lite";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** date-time for APPEND: "02-Jan-2020 03:04:05 +0000" (always UTC; the instant is what servers keep). */
export function imapDateTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `"${p(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000"`;
}

/** A mailbox name on the wire: modified UTF-7 (RFC 3501 5.1.3) and quoted. */
export function encodeMailbox(name: string): string {
  const encoded = /[&\u0080-\uffff]/.test(name) ? iconv.encode(name, "utf-7-imap").toString("latin1") : name;
  return quoted(encoded);
}

export function quoted(s: string): string {
  if (/[\r\n\0]/.test(s)) throw new Error(`cannot quote a string with CR, LF or NUL: ${JSON.stringify(s)}`);
  return `"${s.replace(/(["\\])/g, "\\$1")}"`;
}

const ATOM_SPECIALS = /[(){ %*"\\\]\x00-\x1f\x7f]/;

/** Flags that may be given on APPEND: system flags and keywords that are valid atoms; never \Recent. */
export function appendableFlags(flags: Iterable<string>): string[] {
  const out: string[] = [];
  for (const f of flags) {
    if (/^\\recent$/i.test(f)) continue;
    const body = f.startsWith("\\") ? f.slice(1) : f;
    if (!body || ATOM_SPECIALS.test(body) || /[^\x21-\x7e]/.test(body)) continue;
    out.push(f);
  }
  return out;
}

/** Parses a uid-set as in APPENDUID ("4", "4:7", "4:7,9") into the list of UIDs. */
export function parseUidSet(set: string): number[] {
  const out: number[] = [];
  for (const part of set.split(",")) {
    const [a, b] = part.split(":").map(Number);
    if (a === undefined || !Number.isFinite(a)) continue;
    const end = b === undefined ? a : b;
    const [lo, hi] = a <= end ? [a, end] : [end, a];
    for (let u = lo; u <= hi; u++) out.push(u);
  }
  return out;
}

/** A compact uid-set for a command ("1:5,8,10:12") from ascending or unordered UIDs. */
export function formatUidSet(uids: number[]): string {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}
