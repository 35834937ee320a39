// `automigrate tui`: the admin console. Edits settings through src/config (the CLI's zod
// rules and settings rules), reads live status from the daemon's control socket, never IMAP.
import blessed from "blessed";
import { statSync } from "node:fs";
import { setBackstopReporter } from "../src/backstop.ts";
import { loadConfig, loadLocalConfig, usesDatabase } from "../src/config/store.ts";
import type { Config } from "../src/config/schema.ts";
import { closeDatabases, databaseOf } from "../src/storage/open.ts";
import { clusterView } from "../src/storage/check.ts";
import { daemonAccount, daemonStatus, refusedBy } from "../src/control-client.ts";
import { errorText } from "../src/errors.ts";
import { homePaths } from "../src/home.ts";
import type { DaemonStatus } from "../src/status/status-view.ts";
import type { Console, View } from "./console.ts";
import { keyBar } from "./format.ts";
import { domainsView } from "./views/domains.ts";

export async function runTui(home: string): Promise<number> {
  const screen = blessed.screen({ smartCSR: true, fullUnicode: true, title: "automigrate", autoPadding: true });
  const header = blessed.box({ parent: screen, top: 0, left: 0, height: 1, width: "100%", style: { inverse: true } });
  const body = blessed.box({ parent: screen, top: 1, left: 0, width: "100%", height: "100%-5" });
  const message = blessed.box({ parent: screen, bottom: 1, left: 0, height: 3, width: "100%", tags: false });
  const helpBar = blessed.box({ parent: screen, bottom: 0, left: 0, height: 1, width: "100%", style: { inverse: true } });
  const stack: View[] = [];
  /** The daemon as last seen (per-domain progress for the Domains screen). */
  const live: Console["live"] = { up: undefined, status: undefined };
  let busy = false; // a prompt is open: keys belong to it

  const say = (text: string, error = false) => {
    message.style.fg = error ? "red" : "green";
    message.setContent(text);
    screen.render();
  };
  // an error nothing handled is shown, and the console goes on (the terminal stays usable)
  setBackstopReporter((r) => say(`internal error (the console goes on): ${r.error}`, true));
  const top = () => stack[stack.length - 1]!;
  /** "row 12/1000" for a list view: where the cursor is in a long list. */
  const position = (): string => {
    const v = top().rows;
    if (v) return v.length > 1 ? ` — row ${v.cursor + 1}/${v.length}` : "";
    const l = top().el as unknown as { selected?: number; items?: unknown[]; select?: unknown };
    return typeof l.select === "function" && l.items && l.items.length > 1 ? ` — row ${(l.selected ?? 0) + 1}/${l.items.length}` : "";
  };
  const draw = () => {
    const k = live.cluster;
    const nodes = k ? ` — node ${k.node} (${k.alive}/${k.nodes} nodes alive, ${k.running} running)` : "";
    header.setContent(` automigrate — ${top().title}${position()} — daemon ${live.up === undefined ? "…" : live.up ? "running" : "not running: live status is unavailable"}${nodes}`);
    helpBar.setContent(keyBar(top().help, Number(screen.width)));
    screen.render();
  };
  /** Refreshes the top view and redraws; a failed refresh is shown, never thrown away. */
  const refreshThenDraw = () => {
    Promise.resolve()
      .then(() => top().refresh?.())
      .then(draw, (e) => {
        say(errorText(e), true);
        draw();
      });
  };
  const push = (v: View) => {
    if (stack.length) top().el.hide();
    stack.push(v);
    body.append(v.el);
    v.el.focus();
    say("");
    refreshThenDraw();
  };
  const pop = () => {
    if (stack.length <= 1) return;
    const v = stack.pop()!;
    v.el.destroy();
    top().el.show();
    top().el.focus();
    refreshThenDraw();
  };
  const prompt = (label: string, value: string): Promise<string | undefined> =>
    new Promise((resolve) => {
      busy = true;
      const p = blessed.prompt({ parent: screen, top: "center", left: "center", width: "80%", height: 8, border: "line", label: " input " });
      p.input(value ? `${label}  (Ctrl-U clears)` : label, value, (_err, v) => {
        p.destroy();
        busy = false;
        top().el.focus();
        screen.render();
        resolve(v === null || v === undefined ? undefined : String(v));
      });
      // a pre-filled value is replaced in one key, as in a shell
      const input = (p as unknown as { _: { input: blessed.Widgets.TextboxElement } })._.input;
      input.key("C-u", () => {
        input.setValue("");
        screen.render();
      });
    });
  /** Asks a yes/no question; only "y" is yes (destructive actions say what they will do first). */
  const confirm = async (question: string): Promise<boolean> => (await prompt(`${question} Type y to confirm:`, ""))?.trim().toLowerCase() === "y";
  const list = (label: string) =>
    blessed.list({ width: "100%", height: "100%", border: "line", label: ` ${label} `, keys: true, vi: false, style: { selected: { inverse: true } }, tags: false });

  /**
   * The settings, parsed again only when the file changed (every write is a rename: a new
   * inode): the Domains screen refreshes every second, and 1,000 domains cost ~15 ms a parse.
   */
  let parsed: { stamp: string; config: Config } | undefined;
  const unchangedConfig = () => {
    if (cluster) return cluster.config;
    const st = statSync(homePaths(home).config, { throwIfNoEntry: false });
    const stamp = st ? `${st.ino}:${st.size}:${st.mtimeMs}` : "none";
    if (parsed?.stamp !== stamp) parsed = { stamp, config: loadLocalConfig(home) };
    return parsed.config;
  };
  /**
   * In cluster mode the settings come from the database: read once, then again whenever any
   * node changes them (NOTIFY), the console's own saves included.
   */
  const cluster = await clusterSettings(home, () => refreshThenDraw(), (e) => say(`settings not reloaded: ${errorText(e)}`, true));

  // help and results: one overlay, closed by any key
  const overlayBox = blessed.box({ parent: screen, top: "center", left: "center", width: "100%-2", height: "80%", border: "line", hidden: true, tags: false });
  const overlay = (label: string, text: string) => {
    overlayBox.setLabel(label);
    overlayBox.setContent(text);
    overlayBox.show();
    overlayBox.setFront();
    screen.render();
  };
  /** The daemon's status, or undefined when none answers (or it refuses: the console then shows no live data). */
  const liveStatus = async (timeoutMs: number): Promise<DaemonStatus | undefined> => {
    const r = await daemonStatus(home, timeoutMs);
    return refusedBy(r) ? undefined : r;
  };
  const c: Console = {
    home,
    screen,
    say,
    draw,
    refreshThenDraw,
    push,
    pop,
    prompt,
    confirm,
    list,
    overlay,
    config: unchangedConfig,
    live,
    busy: () => busy,
    liveStatus,
    liveAccount: async (user) => {
      const r = await daemonAccount(home, user, 1500);
      return refusedBy(r) ? undefined : r;
    },
  };

  const HELP = [
    "Lists: PgUp/PgDn a page, Home or g the first row, End or G the last; the header says which row",
    "Domains: Enter configure, e enable/disable (disabling asks), c classes, a add a domain,",
    "  L licence seats, / filter as you type (Enter keeps it, Esc clears it), Tab queue",
    "Forms (Configure, Classes): Enter or Space edits (booleans toggle, choices cycle, lists",
    "  open as lists: a add, Enter edit, d delete), s saves, Esc cancels (asks when modified);",
    "  Configure: t tests the connections with the form's values",
    "Classes: Space toggles \"enable automatic migration\", a adds a class (saved at once)",
    "Queue: failed first, then running, waiting, queued, finished rows;",
    "  m migrate now (first in line), r retry, x cancel (asks), p pause/resume,",
    "  P pause/resume the row's domain, R retry all (asks), f filter,",
    "  o order by state / age / size, u look up any user, Enter details",
    "Esc goes back, q quits, any key closes this help.",
  ].join("\n");

  let quitArmed = false;
  return new Promise<number>((resolve) => {
    const signals: NodeJS.Signals[] = ["SIGTERM", "SIGHUP", "SIGINT"];
    const onSignal = (sig: NodeJS.Signals) => quit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as Record<string, number>)[sig]!);
    let quitting = false;
    const quit = (code = 0) => {
      if (quitting) return; // a hang-up reaches it twice: from the terminal and from the launcher
      quitting = true;
      clearInterval(timer);
      for (const s of signals) process.off(s, onSignal);
      void cluster?.stop().then(closeDatabases);
      try {
        screen.destroy(); // the terminal back as it was: main screen, line mode, cursor
      } catch {
        // the terminal is gone (a dropped SSH session, a killed tmux): nothing to give back, and
        // the caller must still end (the demo stops its servers and its daemon after this)
      } finally {
        resolve(code);
      }
    };
    // killed politely (SIGTERM, a closed SSH session): leave the terminal usable, then exit
    for (const s of signals) process.on(s, onSignal);
    /** Live filter being typed: the view, and the text so far. */
    let typing: { view: View; text: string } | undefined;
    const typed = async (text: string) => {
      typing!.text = text;
      const { view } = typing!;
      try {
        await view.filter!.set(text);
        say(`${view.filter!.what}: ${text}▌  (type to narrow; Enter keeps it, Esc clears it)`);
      } catch (e) {
        // the list could not be read (a broken settings file, the daemon gone): say why, stop filtering
        typing = undefined;
        say(errorText(e), true);
      }
      draw();
    };
    screen.on("keypress", async (ch, key) => {
      if (busy || !key) return;
      if (key.full === "C-c") return quit();
      if (typing) {
        // every key belongs to the filter until Enter or Esc
        if (key.name === "enter" || key.name === "return") {
          if (key.name === "enter") {
            typing = undefined;
            say("");
            draw();
          }
          return;
        }
        if (key.name === "escape") {
          await typed("");
          typing = undefined;
          say("");
          return draw();
        }
        if (key.name === "backspace") return typed(typing.text.slice(0, -1));
        if (key.full === "C-u") return typed("");
        if (ch && ch.length === 1 && ch >= " " && !key.ctrl && !key.meta) return typed(typing.text + ch);
        return;
      }
      const f = top().filter;
      if (f && key.full === f.key) {
        typing = { view: top(), text: "" };
        return typed("");
      }
      if (!overlayBox.hidden) {
        overlayBox.hide();
        return draw();
      }
      if (key.full === "?") return overlay(" help ", HELP);
      if (key.full === "q") {
        // unsaved edits: the first q warns, a second one quits
        if (stack.some((v) => v.unsaved?.()) && !quitArmed) {
          quitArmed = true;
          return say("unsaved changes — q again quits without saving them, s saves, Esc goes back", true);
        }
        return quit();
      }
      quitArmed = false;
      // a windowed list (the queue): every movement key is its own
      const v = top().rows;
      if (v && !top().keys?.[key.full] && v.key(key.full)) return draw();
      // long lists: a page, or the ends, in one key (blessed's lists move one row at a time)
      const l = top().el as unknown as { select?: (i: number) => void; selected?: number; items?: unknown[]; height?: number };
      if (typeof l.select === "function" && l.items && ["pageup", "pagedown", "home", "end", "g", "S-g"].includes(key.full) && !top().keys?.[key.full]) {
        const page = Math.max(1, Number(l.height ?? 10) - 2);
        const last = l.items.length - 1;
        const now = l.selected ?? 0;
        l.select(key.full === "home" || key.full === "g" ? 0 : key.full === "end" || key.full === "S-g" ? last : Math.max(0, Math.min(last, now + (key.full === "pageup" ? -page : page))));
        return draw();
      }
      // blessed reports Enter twice (as "return", then "enter"): act on "enter" only
      const handler = top().keys?.[key.full];
      if (handler) {
        try {
          await handler();
        } catch (e) {
          say(errorText(e), true);
        }
        screen.render();
      }
      // the row indicator follows the cursor (blessed moves it on ↑/↓ by itself)
      if (position()) draw();
    });
    screen.on("resize", () => refreshThenDraw());
    /** The daemon asked for the views that do not ask it themselves. */
    const askDaemon = async () => {
      live.status = await liveStatus(1000);
      live.up = Boolean(live.status);
      if (cluster) {
        // the database's view of the nodes; unreachable: the header says nothing of them
        const v = await clusterView(home, loadLocalConfig(home)).catch(() => undefined);
        live.cluster = v && { node: v.node, alive: v.nodes.filter((n) => n.alive).length, nodes: v.nodes.length, running: v.running.length };
      }
    };
    const timer = setInterval(() => {
      if (busy) return;
      const v = top();
      // a form being edited is not refreshed under the admin's hands
      const tick = async () => {
        if (!v.live) await askDaemon();
        if (!v.form) await v.refresh?.();
      };
      tick().then(draw, (e) => say(errorText(e), true));
    }, 1000);
    push(domainsView(c));
    // the daemon asked at once, not at the first tick: until it answers the header says
    // "daemon …", never "not running" for a running one (the first screen does not wait)
    askDaemon().then(() => quitting || refreshThenDraw(), () => {});
  });
}

/** The shared settings of a home in cluster mode, kept current through NOTIFY; undefined for the files driver. */
async function clusterSettings(home: string, changed: () => void, failed: (e: unknown) => void): Promise<{ config: Config; stop: () => Promise<void> } | undefined> {
  const local = loadLocalConfig(home);
  if (!usesDatabase(local)) return undefined;
  const state = { config: await loadConfig(home), stop: async () => {} };
  const db = await databaseOf(home, local);
  state.stop = await db.settings.listen(() => {
    loadConfig(home).then((c) => {
      state.config = c;
      changed();
    }, failed);
  });
  return state;
}
