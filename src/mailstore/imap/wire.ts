// Small pieces of IMAP syntax (RFC 3501) used by the raw APPEND writer.
import iconv from "iconv-lite";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** date-time for APPEND: "02-Jan-2020 03:04:05 +0000" (always UTC; the instant is what servers keep). */
export function imapDateTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `"${p(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000"`;
}

/**
 * A mailbox name on the wire: modified UTF-7 (RFC 3501 5.1.3) and quoted. Control characters
 * (CR, LF and NUL included: they cannot be quoted) travel encoded, as servers list them
 * ("&AAE-"); TAB and DEL go as they are, as the servers here list them and as imapflow sends
 * them, so a name is always sent back as the server gave it.
 */
export function encodeMailbox(name: string): string {
  const encoded = /[&\x00-\x08\x0a-\x1f\u0080-\uffff]/.test(name) ? iconv.encode(name, "utf-7-imap").toString("latin1") : name;
  return quoted(encoded);
}

/** A quoted string. The refused value never appears in the error: it may be a password. */
export function quoted(s: string): string {
  if (/[\r\n\0]/.test(s)) throw new Error(`cannot send a value holding CR, LF or NUL as an IMAP quoted string (${s.length} characters, not shown)`);
  return `"${s.replace(/(["\\])/g, "\\$1")}"`;
}

const ATOM_SPECIALS = /[(){ %*"\\\]\x00-\x1f\x7f]/;

/** Flags that may be given on APPEND: system flags and keywords that are valid atoms; never \Recent. */
export function appendableFlags(flags: Iterable<string>): string[] {
  const out: string[] = [];
  for (const f of flags) {
    if (/^\\recent$/i.test(f)) continue;
    const body = f.startsWith("\\") ? f.slice(1) : f;
    if (!body || ATOM_SPECIALS.test(body) || /[^\x21-\x7e]/.test(body) || out.includes(f)) continue;
    out.push(f);
  }
  return out;
}

const MAX_UID = 4294967295;

/**
 * Parses a uid-set as in APPENDUID ("4", "4:7", "4:7,9") into the list of UIDs; undefined
 * when it is malformed or names more than `limit` UIDs (a hostile "1:4294967295" must not
 * allocate billions of numbers: the caller knows how many it appended).
 */
export function parseUidSet(set: string, limit: number): number[] | undefined {
  const out: number[] = [];
  for (const part of set.split(",")) {
    const m = /^(\d{1,10})(?::(\d{1,10}))?$/.exec(part);
    if (!m) return undefined;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a < 1 || b < 1 || a > MAX_UID || b > MAX_UID) return undefined;
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    if (out.length + (hi - lo + 1) > limit) return undefined;
    for (let u = lo; u <= hi; u++) out.push(u);
  }
  return out;
}
