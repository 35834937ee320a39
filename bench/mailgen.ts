// Writes a generated mailbox straight into a Dovecot maildir (much faster than APPENDing
// 20,000 messages): folders, sizes, flags and arrival dates from a seeded PRNG.
import { chownSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface MailboxSpec {
  folders: string[]; // "INBOX" plus "/"-separated names
  messages: number;
  /** Message size in bytes for the i-th message. */
  size: (i: number, rnd: () => number) => number;
  seed?: number;
}

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function folderDir(root: string, folder: string): string {
  return folder === "INBOX" ? root : join(root, "." + folder.split("/").join("."));
}

function message(i: number, size: number, rnd: () => number): string {
  const head = `From: Sender ${i} <s${i}@example.org>\nTo: user@example.com\nSubject: generated message ${i}\nMessage-ID: <gen${i}.${Math.floor(rnd() * 1e9)}@bench>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n`;
  const line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n";
  const body = line.repeat(Math.max(1, Math.ceil((size - head.length) / line.length)));
  return head + body.slice(0, Math.max(1, size - head.length));
}

/** Returns { messages, bytes } written (bytes as stored, LF line ends). */
export function generateMaildir(root: string, spec: MailboxSpec, owner?: { uid: number; gid: number }): { messages: number; bytes: number } {
  const rnd = prng(spec.seed ?? 42);
  for (const f of spec.folders) {
    const d = folderDir(root, f);
    for (const sub of ["cur", "new", "tmp"]) mkdirSync(join(d, sub), { recursive: true });
    if (f !== "INBOX") writeFileSync(join(d, "maildirfolder"), "");
  }
  writeFileSync(join(root, "subscriptions"), spec.folders.filter((f) => f !== "INBOX").join("\n") + "\n");
  let bytes = 0;
  const base = Date.parse("2023-01-01T00:00:00Z") / 1000;
  for (let i = 0; i < spec.messages; i++) {
    const folder = spec.folders[i % spec.folders.length]!;
    const text = message(i, spec.size(i, rnd), rnd);
    const flags = rnd() < 0.7 ? "S" : rnd() < 0.5 ? "FS" : "";
    const path = join(folderDir(root, folder), "cur", `${base + i}.M${i}P1.bench:2,${flags}`);
    writeFileSync(path, text);
    const t = base + i * 60;
    utimesSync(path, t, t);
    bytes += text.length;
  }
  if (owner) chownTree(root, owner);
  return { messages: spec.messages, bytes };
}

function chownTree(path: string, owner: { uid: number; gid: number }): void {
  chownSync(path, owner.uid, owner.gid);
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e), owner);
}
