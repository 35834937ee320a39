// One account, live from the daemon: its job with progress bars, history, folders, skips, log.
import blessed from "blessed";
import { formatBytes } from "../../src/migrate/report.ts";
import { accountLines, type AccountAnswer } from "../../src/status/status-view.ts";
import type { Console, View } from "../console.ts";
import { bar } from "../format.ts";

export function accountView(c: Console, user: string): View {
  const { pop } = c;
  const el = blessed.box({ width: "100%", height: "100%", border: "line", label: ` ${user} `, scrollable: true, keys: true, alwaysScroll: true });
  const refresh = async () => {
    const a = await c.liveAccount(user);
    c.live.up = Boolean(a);
    if (!a) return void el.setContent("the daemon is not running: live status is unavailable");
    const answer = a as AccountAnswer;
    const lines = accountLines(answer);
    // the job's progress as bars under its line
    const p = answer.job?.progress;
    if (p) lines.splice(1, 0, `  messages ${bar(p.messagesDone, p.messagesTotal, 30)} ${p.messagesDone}/${p.messagesTotal}`, `  bytes    ${bar(p.bytesDone, p.bytesTotal, 30)} ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}  ${p.rateMsgPerSec} msg/s${p.etaSec !== null ? `, ETA ${p.etaSec}s` : ""}`);
    el.setContent(lines.join("\n"));
  };
  return { title: user, live: true, help: "Esc back", el, refresh, keys: { escape: pop } };
}
