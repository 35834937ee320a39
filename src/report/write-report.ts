// `automigrate report`: every known account (a state document, a queued job or a job failed
// for good) read one at a time from the home's files, filtered, written as it is read, and the
// totals at the end. Memory: the list of users and the per-domain totals, never the rows.
import { storedQueue } from "../storage/queue.ts";
import { accountStatesOf } from "../storage/account-states.ts";
import { reportRow, ReportTotals, type FailedEntry, type ReportState } from "./account-rows.ts";
import { reportWriter, type ReportFormat, type Sink } from "./formats.ts";

export interface ReportOptions {
  format: ReportFormat;
  /** Only this domain's accounts (canonical, lower case). */
  domain?: string;
  /** Only accounts in this state. */
  state?: ReportState;
  now?: number;
  title?: string;
}

/** Writes the report to `out`; answers how many accounts it holds. */
export async function writeReport(home: string, o: ReportOptions, out: Sink): Promise<{ accounts: number }> {
  const now = o.now ?? Date.now();
  const { jobs, failed } = await storedQueue(home);
  const failedBy = new Map<string, FailedEntry>(failed.map((f) => [f.user, f]));
  const states = accountStatesOf(home);
  const users = new Set(await states.users());
  for (const j of jobs) users.add(j.user);
  for (const f of failed) users.add(f.user);
  const sorted = [...users].sort();
  users.clear();
  const totals = new ReportTotals(now);
  const w = reportWriter(o.format, out, { generatedAt: new Date(now).toISOString(), title: o.title ?? "automigrate: migration report" });
  let accounts = 0;
  for (const user of sorted) {
    if (o.domain && user.slice(user.lastIndexOf("@") + 1) !== o.domain) continue;
    const row = reportRow(user, await states.read(user), failedBy.get(user));
    if (o.state && row.state !== o.state) continue;
    totals.add(row);
    w.row(row);
    accounts++;
  }
  w.end(totals);
  return { accounts };
}
