// The Queue screen: one row per account, live from the daemon; migrate now, retry, cancel,
// pause, filter, order; Enter (or u) shows an account.
import { vaultOf } from "../../src/storage/vault.ts";
import { daemonPost, refusedBy, type ControlError } from "../../src/control-client.ts";
import { TIMEOUTS } from "../../src/timeouts.ts";
import type { Console, View } from "../console.ts";
import { accountRows, colourJobRow, jobRow, matchesFilter, SORT_KEYS, sortJobs, userColumn, type JobView, type SortKey } from "../format.ts";
import { VirtualRows } from "../virtual-rows.ts";
import { accountView } from "./account.ts";

export function queueView(c: Console): View {
  const { home, screen, say, push, pop, prompt, confirm, draw } = c;
  const rows = new VirtualRows("Migration queue", colourJobRow);
  const el = rows.el;
  let filter = "";
  let sortBy: SortKey = "state";
  let jobs: JobView[] = [];
  const refresh = async () => {
    const s = await c.liveStatus(1500);
    c.live.status = s;
    c.live.up = Boolean(s);
    if (!s) {
      el.setLabel(" Migration queue ");
      rows.setRows(["(the daemon is not running: live status is unavailable; settings can still be edited)"]);
      jobs = [];
      return;
    }
    // the cursor stays on the same user while the rows re-sort under it
    const was = jobs[rows.cursor]?.user;
    jobs = sortJobs(accountRows(s.jobs, s.failed, s.recent).filter((j) => matchesFilter(j, filter)), sortBy);
    const width = Number(screen.width) - 2; // inside the list border
    // the filter before the counts: at 80 columns the end of the label is what gets cut
    const head = `${s.paused.all ? "PAUSED  " : ""}${filter ? `filter: ${filter}  ` : ""}${sortBy !== "state" ? `by ${sortBy}  ` : ""}queued ${s.counts.queued}  running ${s.counts.running}  waiting ${s.counts.waiting}  failed ${s.counts.failed}`;
    el.setLabel(` Migration queue — ${head} `);
    const uw = userColumn(jobs.map((j) => j.user), width);
    const at = was === undefined ? -1 : jobs.findIndex((j) => j.user === was);
    if (at >= 0) rows.cursor = at;
    rows.setRows(jobs.length ? jobs.map((j) => jobRow(j, width, Date.now(), uw)) : [filter ? `(no matches for "${filter}")` : "(no jobs)"]);
  };
  const selected = () => jobs[rows.cursor];
  /** Says what the daemon answered: its refusal, or what `describe` makes of its reply. */
  const act = async <T>(p: Promise<T | ControlError | undefined>, describe: (reply: T) => { text: string; error?: boolean }) => {
    const r = await p;
    if (r === undefined) say("the daemon is not running: nothing was done", true);
    else if (refusedBy(r)) say(`refused by the daemon: ${r.error}`, true);
    else {
      const d = describe(r);
      say(d.text, d.error);
    }
    await refresh();
    draw();
  };
  return {
    title: "Queue",
    live: true,
    help: "Enter details  m migrate  r retry  x cancel  p pause  f filter  u user  Esc back",
    el,
    rows,
    refresh,
    filter: {
      key: "f",
      what: "Filter by domain, state or user",
      set: async (text) => {
        filter = text.toLowerCase();
        rows.cursor = 0;
        await refresh();
      },
    },
    keys: {
      m: async () => {
        // the selected row's user, ready to confirm with Enter or to edit
        const u = (await prompt("Migrate now, before logins and bulk work (user@domain):", selected()?.user ?? ""))?.trim().toLowerCase();
        if (!u) return;
        // an address typed by hand: does the old server know it? (a typo would fail at login)
        say(`${u}: checking the login on the old server ...`);
        const { checkOldLogin } = await import("../../src/diagnose/test-connection.ts");
        const secrets = await vaultOf(home).sourceFor(u).catch(() => undefined);
        const check = await checkOldLogin(c.config(), u, { timeoutMs: TIMEOUTS.consoleTestConnectionMs, secrets }).catch(() => undefined);
        if (check && check.status !== "pass") {
          if (!(await confirm(`${u}: the old server's login fails: ${check.detail.split("\n")[0]}. Queue it anyway?`))) return say(`${u}: not queued`, true);
        }
        await act(daemonPost(home, "/migrate", { user: u }), (r) => ({ text: `${u}: ${r.result}${r.paused ? " — the queue is PAUSED: it runs after resume (p)" : ""}`, error: Boolean(r.paused) }));
      },
      x: async () => {
        const j = selected();
        if (!j) return;
        const what = j.state === "running" ? "it stops at its next safe point; what was copied stays" : j.state === "failed" ? "it leaves the failed list" : "it leaves the queue";
        if (!(await confirm(`Cancel ${j.user} (${j.state})? ${what}.`))) return say(`${j.user}: not cancelled`);
        await act(daemonPost(home, "/cancel", { user: j.user }), (r) => {
          const n = r.cancelled.length + r.stopping.length + r.failedRemoved.length;
          return n ? { text: `${j.user}: ${r.stopping.length ? "stopping at the next safe point" : "cancelled"}` } : { text: `${j.user}: nothing to cancel (no live or failed job)`, error: true };
        });
      },
      r: async () => {
        const j = selected();
        if (j) await act(daemonPost(home, "/retry", { user: j.user }), (r) => (r.retried > 0 ? { text: `${j.user}: retried` } : { text: `${j.user}: nothing to retry (neither failed nor waiting to retry)`, error: true }));
      },
      p: async () => {
        const s = await c.liveStatus(1500);
        if (!s) return say("the daemon is not running", true);
        await act(daemonPost(home, s.paused.all ? "/resume" : "/pause", {}), (r) => ({ text: r.paused?.all ? "paused: no new migrations start" : "resumed" }));
      },
      o: async () => {
        sortBy = SORT_KEYS[(SORT_KEYS.indexOf(sortBy) + 1) % SORT_KEYS.length]!;
        rows.cursor = 0;
        await refresh();
        say(`sorted by ${sortBy === "state" ? "state: failed first, then running, waiting, queued, finished" : sortBy === "age" ? "age: the longest waiting first" : "size: the largest mailbox first"}`);
        draw();
      },
      u: async () => {
        const u = (await prompt("Look up a user (user@domain):", ""))?.trim().toLowerCase();
        if (u) push(accountView(c, u));
      },
      "S-r": async () => {
        if (!(await confirm("Retry every failed job and end every backoff wait?"))) return say("nothing retried");
        await act(daemonPost(home, "/retry", {}), (r) => (r.retried > 0 ? { text: `retried ${r.retried} job${r.retried === 1 ? "" : "s"}` } : { text: "nothing to retry: no failed job and none waiting", error: true }));
      },
      "S-p": async () => {
        const j = selected();
        if (!j) return;
        const s = await c.liveStatus(1500);
        if (!s) return say("the daemon is not running", true);
        const paused = s.paused.domains.includes(j.domain);
        await act(daemonPost(home, paused ? "/resume" : "/pause", { domain: j.domain }), (r) => ({ text: r.paused?.domains?.includes(j.domain) ? `${j.domain}: paused (other domains go on)` : `${j.domain}: resumed` }));
      },
      enter: () => {
        const j = selected();
        if (j) push(accountView(c, j.user));
      },
      escape: pop,
    },
  };
}
