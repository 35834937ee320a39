// Human-readable migration summary and a one-line progress bar for terminals.
import type { MigrationEvent, MigrationReport } from "./migrate-user.ts";
import type { DryRun } from "./dry-run.ts";
import { printable, quotedName } from "../text.ts";

export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function formatSummary(r: MigrationReport): string {
  const secs = (r.durationMs / 1000).toFixed(1);
  const rate = r.durationMs > 0 ? Math.round((r.messages * 1000) / r.durationMs) : 0;
  const lines = [
    `${r.user}: ${r.status.toUpperCase()} — ${plural(r.messages, "message")} (${formatBytes(r.bytes)}) in ${plural(r.folders, "folder")}, ${secs}s${r.messages ? `, ${rate} msg/s` : ""}`,
  ];
  // names from the old server are hostile: quoted with their control characters escaped
  for (const x of r.renamed) lines.push(`  renamed  ${quotedName(x.from)} → ${quotedName(x.to)} (${x.reason})`);
  for (const s of r.skipped) lines.push(printable(`  skipped  ${quotedName(s.folder)} uid ${s.uid}${s.code ? ` [${s.code}]` : ""}: ${s.reason}`));
  for (const s of r.skippedFolders ?? []) lines.push(printable(`  not copied  ${quotedName(s.old)}: ${s.rule} ${s.detail}`));
  for (const e of r.errors) lines.push(`  error    ${e.folder ? `"${e.folder}": ` : ""}${e.message}`);
  for (const n of r.notices ?? []) lines.push(printable(`  notice   ${n.kind}: ${n.status === "delivered" ? (n.found ? "already in the INBOX (an earlier run put it there)" : "put into the INBOX") : `not delivered (tried again on the next run): ${n.error}`}`));
  if (r.status === "partial") lines.push("  Run the same command again after fixing the cause: it retries skipped messages and failed folders, and never copies a message twice.");
  return lines.join("\n");
}

/** Tracks totals from progress events and renders "[#####.....]  42% 1234/2900 msgs  12.3 MB". */
export class ProgressBar {
  private total = 0;
  private totalBytes = 0;
  private done = 0;
  private bytes = 0;
  private folder = "";
  private last = 0;

  constructor(private readonly write: (s: string) => void, private readonly width = 30) {}

  onEvent(e: MigrationEvent): void {
    if (e.type === "folder") {
      this.total += e.messages;
      this.totalBytes += e.bytes;
      this.folder = e.folder;
    } else if (e.type === "copied") {
      this.done += e.messages;
      this.bytes += e.bytes;
      this.folder = e.folder;
    }
    const now = Date.now();
    if (now - this.last > 100) {
      this.last = now;
      this.write(`\r\x1b[K${this.render()}`);
    }
  }

  render(): string {
    const frac = this.total ? Math.min(1, this.done / this.total) : 0;
    const fill = Math.round(frac * this.width);
    const name = this.folder.length > 24 ? `…${this.folder.slice(-23)}` : this.folder;
    return `[${"#".repeat(fill)}${".".repeat(this.width - fill)}] ${String(Math.round(frac * 100)).padStart(3)}% ${this.done}/${this.total} msgs ${formatBytes(this.bytes)}  ${name}`;
  }

  clear(): void {
    this.write("\r\x1b[K");
  }
}

/** A dry run as a table an admin reads: old folder → new folder, messages, size; then what is skipped and why. */
export function formatDryRun(r: DryRun): string {
  const lines = [`${r.user}: DRY RUN (profile ${r.profile}): nothing was created, copied or written`];
  if (!r.newServer.listed) lines.push(`  new server not listed: ${r.newServer.reason}`);
  const rows = r.folders.map((f) => [quotedName(f.old), quotedName(f.new), String(f.messages), formatBytes(f.bytes), [f.renamed, f.plan === "persisted" ? "planned earlier" : ""].filter(Boolean).join(", ")]);
  const head = ["old folder", "new folder", "messages", "size", ""];
  const width = (i: number) => Math.max(head[i]!.length, ...rows.map((row) => row[i]!.length));
  const line = (row: string[]) => `  ${row[0]!.padEnd(width(0))}  →  ${row[1]!.padEnd(width(1))}  ${row[2]!.padStart(width(2))}  ${row[3]!.padStart(width(3))}${row[4] ? `  (${row[4]})` : ""}`;
  lines.push(printable(line(head)).trimEnd());
  for (const row of rows) lines.push(printable(line(row)));
  for (const s of r.skipped) lines.push(printable(`  skipped  ${quotedName(s.old)}: ${s.rule} ${s.detail} (${plural(s.messages, "message")}, ${formatBytes(s.bytes)})`));
  lines.push(`  would copy ${plural(r.totals.messages, "message")} (${formatBytes(r.totals.bytes)}) in ${plural(r.totals.folders, "folder")}`);
  return lines.join("\n");
}
