// After a folder's batches: did the new server store what was sent? Every appended message's
// RFC822.SIZE is compared with the bytes sent, and for messages whose header holds 8-bit
// bytes (what Cyrus's `munge8bit: yes` rewrites to "X" at the same length) the header bytes
// themselves (BODY.PEEK[HEADER], hashed). One FETCH per 1,000 messages on the new server; a
// server without UIDPLUS gives no UIDs to check (nothing is claimed then). Pure parts:
// headerDigest, compareStored.
import { isAscii } from "node:buffer";
import { createHash } from "node:crypto";
import type { FolderReader } from "../mailstore/port.ts";

export interface SentMessage {
  oldUid: number;
  targetUid: number;
  size: number;
  /** sha256 of the header bytes (through the blank line), only when they hold 8-bit bytes. */
  header8bit?: string;
}

export interface AlteredMessage {
  uid: number;
  sent: number;
  stored: number;
  /** What differs: the size, or the header bytes at the same size. */
  what: "size" | "header";
}

/** The header's digest when it holds a byte ≥ 0x80, else undefined. */
export function headerDigest(raw: Buffer): string | undefined {
  let end = raw.indexOf("\r\n\r\n");
  end = end < 0 ? raw.length : end + 4;
  const header = raw.subarray(0, end);
  // the runtime's own scan (vectorised), not a loop over every header byte in JavaScript
  return isAscii(header) ? undefined : createHash("sha256").update(header).digest("hex");
}

export function compareStored(sent: SentMessage[], stored: Map<number, { size?: number; header?: Buffer }>): AlteredMessage[] {
  const out: AlteredMessage[] = [];
  for (const m of sent) {
    const s = stored.get(m.targetUid);
    if (!s || s.size === undefined) continue; // expunged on the new server meanwhile: the user's doing
    if (s.size !== m.size) out.push({ uid: m.oldUid, sent: m.size, stored: s.size, what: "size" });
    else if (m.header8bit && s.header && createHash("sha256").update(s.header).digest("hex") !== m.header8bit) out.push({ uid: m.oldUid, sent: m.size, stored: s.size, what: "header" });
  }
  return out;
}

const CHUNK = 1000;

/** Reads back sizes (and 8-bit headers) of what was appended to `mailbox`. */
export async function checkStored(reader: FolderReader, mailbox: string, sent: SentMessage[]): Promise<AlteredMessage[]> {
  if (!sent.length) return [];
  await reader.examine(mailbox);
  const altered: AlteredMessage[] = [];
  for (let i = 0; i < sent.length; i += CHUNK) {
    const part = sent.slice(i, i + CHUNK);
    const stored = new Map<number, { size?: number; header?: Buffer }>();
    const uids = part.map((m) => m.targetUid).join(",");
    for await (const m of reader.metadata(uids)) stored.set(m.uid, { size: m.size });
    const eight = part.filter((m) => m.header8bit).map((m) => m.targetUid);
    if (eight.length) {
      for await (const m of reader.metadata(eight.join(","), { headers: true })) {
        const s = stored.get(m.uid);
        if (s && m.headers) s.header = m.headers;
      }
    }
    altered.push(...compareStored(part, stored));
  }
  return altered;
}
