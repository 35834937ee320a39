// Notices to users: a message put once into the user's INBOX on the new server when the
// migration starts and when it has completed (migration.notice.started / .completed). The
// template is headers, an empty line and a body, with placeholders; it is checked when it is
// set (a line that would make a bad header is refused, named by its number), and rendered into
// an RFC 5322 message: CRLF lines, Date and MIME headers added, our own Message-ID (how a
// rerun finds a notice that was appended before a crash), a non-ASCII Subject encoded
// (RFC 2047). Pure.
import { createHash } from "node:crypto";
import type { ErrorCode } from "../errors.ts";

export const NOTICE_KINDS = ["started", "completed"] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/** What each kind's template may say. */
export const NOTICE_PLACEHOLDERS: Record<NoticeKind, readonly string[]> = {
  started: ["user", "domain", "date", "folders"],
  completed: ["user", "domain", "date", "folders", "messages", "skipped", "skippedList"],
};
/** Placeholders whose value may span lines: the body only. */
const MULTILINE = new Set(["skippedList"]);

export type NoticeValues = Partial<Record<string, string | number>>;

/** Skipped messages in plain words, by code. */
const SKIP_WORDS: Partial<Record<ErrorCode | "UNKNOWN", string>> = {
  TOO_LARGE: "larger than the migration's size limit",
  OVERSIZED: "the old server sent more data than the message's size",
  NO_BODY: "the old server returned no content for it",
  UNREADABLE: "the old server could not read it",
  NOT_RETURNED: "the old server did not return it",
  REFUSED_BY_NEW_SERVER: "the new server refused it",
  QUOTA: "the new mailbox was full (its quota)",
  UNKNOWN: "other reasons",
};

/** "- 2 messages: larger than the migration's size limit" per code, most first; a sentence when nothing was skipped. */
export function skippedInWords(byCode: Map<string, number>): string {
  const lines = [...byCode]
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([code, n]) => `- ${n} message${n === 1 ? "" : "s"}: ${SKIP_WORDS[code as ErrorCode] ?? `not copied (${code})`}`);
  return lines.length ? lines.join("\n") : "Every message came across.";
}

const HEADER_NAME = /^[!-9;-~]+$/;
const PLACEHOLDER = /\{([A-Za-z]+)\}/g;
const ADDED = new Set(["message-id", "date", "mime-version", "content-type", "content-transfer-encoding"]);

/** Why the template cannot be used (with its line), or undefined when it can. */
export function templateProblem(kind: NoticeKind, template: string): string | undefined {
  const allowed = new Set(NOTICE_PLACEHOLDERS[kind]);
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (!allowed.has(m[1]!)) return `{${m[1]}} is not a placeholder of the ${kind} notice (it may use ${[...allowed].map((p) => `{${p}}`).join(", ")})`;
  }
  const control = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]|\r(?!\n)/u.exec(template);
  if (control) return `holds a control character (U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}) at line ${template.slice(0, control.index).split("\n").length}: a template is lines of text (LF or CRLF, TAB)`;
  const lines = template.replace(/\r\n/g, "\n").split("\n");
  const long = lines.findIndex((l) => Buffer.byteLength(l) > 900);
  if (long >= 0) return `line ${long + 1} is longer than 900 bytes (RFC 5322 allows 998 per line, placeholders included): break it`;
  const blank = lines.indexOf("");
  if (blank <= 0) return 'the template needs headers, an empty line, then the body (e.g. "From: IT <it@example.com>\\nSubject: Your mailbox is moving\\n\\nDear {user}, ...")';
  const names = new Set<string>();
  for (let i = 0; i < blank; i++) {
    const line = lines[i]!;
    const where = `line ${i + 1} (${JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line)})`;
    if (/^[ \t]/.test(line)) {
      if (i === 0) return `${where}: a continuation line with no header before it`;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0 || !HEADER_NAME.test(line.slice(0, colon))) return `${where} is not a header: "Name: value", the name in printable ASCII without spaces`;
    const name = line.slice(0, colon).toLowerCase();
    if (ADDED.has(name)) return `${where}: ${line.slice(0, colon)} is set by automigrate (remove the line)`;
    if (names.has(name) && (name === "from" || name === "subject" || name === "to")) return `${where}: a second ${line.slice(0, colon)} header`;
    names.add(name);
    for (const m of line.matchAll(PLACEHOLDER)) if (MULTILINE.has(m[1]!)) return `${where}: {${m[1]}} spans lines: it may only be in the body`;
    if (/[^\x20-\x7e\t]/.test(line) && name !== "subject") return `${where}: only the Subject may hold characters beyond ASCII (write the others in ASCII, or as RFC 2047 encoded words)`;
  }
  if (!names.has("from")) return "the template has no From header (RFC 5322 requires it), e.g. From: IT <it@example.com>";
  if (!names.has("subject")) return "the template has no Subject header";
  return undefined;
}

/** The notice's own Message-ID: the same for a user and kind on every run (a rerun finds it). */
export function noticeMessageId(kind: NoticeKind, user: string): string {
  const at = user.lastIndexOf("@");
  return `<automigrate-notice-${kind}-${createHash("sha256").update(user).digest("hex").slice(0, 20)}@${user.slice(at + 1)}>`;
}

/** RFC 5322 date-time. */
export function rfc5322Date(d: Date): string {
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${days[d.getUTCDay()]}, ${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** A header value with non-ASCII text as RFC 2047 encoded words (UTF-8, base64, ≤ 75 characters each). */
function encodedWords(value: string): string {
  if (!/[^\x20-\x7e\t]/.test(value)) return value;
  const words: string[] = [];
  let chunk = "";
  for (const ch of value) {
    // 45 bytes of UTF-8 make 60 characters of base64: the word stays under 75
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(chunk);
      chunk = "";
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString("base64")}?=`).join("\r\n ");
}

/** The notice as it is appended: a checked template, its values, the user and the time. */
export function renderNotice(kind: NoticeKind, template: string, values: NoticeValues, user: string, now: Date): Buffer {
  const fill = (s: string) => s.replace(PLACEHOLDER, (all, name: string) => (values[name] === undefined ? all : String(values[name])));
  const lines = template.replace(/\r\n/g, "\n").split("\n");
  const blank = lines.indexOf("");
  const headers = lines.slice(0, blank).map((l) => {
    const filled = fill(l);
    const colon = filled.indexOf(":");
    return filled.slice(0, colon).toLowerCase() === "subject" ? `${filled.slice(0, colon)}: ${encodedWords(filled.slice(colon + 1).trim())}` : filled;
  });
  const body = fill(lines.slice(blank + 1).join("\n")).replace(/\r?\n/g, "\r\n");
  const head = [
    ...headers,
    `Date: ${rfc5322Date(now)}`,
    `Message-ID: ${noticeMessageId(kind, user)}`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
  ];
  return Buffer.from(`${head.join("\r\n")}\r\n\r\n${body.endsWith("\r\n") ? body : `${body}\r\n`}`);
}
