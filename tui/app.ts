// `automigrate tui`: the admin console. Edits settings through src/config (the CLI's zod
// rules and settings rules), reads live status from the daemon's control socket, never IMAP.
import blessed from "blessed";
import { statSync } from "node:fs";
import { setBackstopReporter } from "../src/backstop.ts";
import { classNames, classOf } from "../src/config/rules.ts";
import { applyAssignments, getPath, parseAssignment } from "../src/config/dotted.ts";
import { domainSchema, type DomainSettings } from "../src/config/schema.ts";
import { loadConfig } from "../src/config/store.ts";
import { homePaths } from "../src/home.ts";
import { readJsonFile } from "../src/store/json-file.ts";
import { Vault } from "../src/accounts/vault.ts";
import { settingsOf } from "../src/config/settings-help.ts";
import { addClass, addDomain, changeDomain, changeGlobals, setMigrationEnabled } from "../src/config/change.ts";
import { changeLines } from "../src/config/settings-help.ts";
import { accountLines, type AccountAnswer, type DaemonStatus } from "../src/status/status-view.ts";
import { domainProblems, whyNobodyMigrates } from "../src/config/rules.ts";
import { daemonAccount, daemonPost, daemonStatus, refusedBy, type ControlError } from "../src/control-client.ts";
import { AutomigrateError, errorText } from "../src/errors.ts";
import { formatBytes } from "../src/migrate/report.ts";
import { VirtualRows } from "./virtual-rows.ts";
import { accountRows, bar, colourDomainRow, colourJobRow, domainRow, jobRow, keyBar, matchesFilter, progressText, SORT_KEYS, sortJobs, userColumn, type JobView, type SortKey } from "./format.ts";
import { TIMEOUTS } from "../src/timeouts.ts";
import { expectedText, FORM_ROWS, formLines, itemsOf, mapItem, splitMapItem, valueFromItems, valueText, type FormField } from "./settings-form.ts";

interface View {
  title: string;
  /** The view asks the daemon itself on refresh (and sets daemonUp): no second request. */
  live?: boolean;
  help: string;
  el: blessed.Widgets.BlessedElement;
  refresh?: () => void | Promise<void>;
  keys?: Record<string, () => void | Promise<void>>;
  /** Edits not saved yet: q and Esc ask first. */
  unsaved?: () => boolean;
  /** A windowed list (any length): movement keys go to it. */
  rows?: VirtualRows;
  /** Live type-to-filter: the key that starts it, what it says, and how the view applies it. */
  filter?: { key: string; what: string; set(text: string): void | Promise<void> };
}

/** Each domain setting's values, default and meaning, from the schema (as `domain set --help`). */
const SETTING_HELP = new Map(settingsOf(domainSchema).map((h) => [h.key, h]));

/** The daemon's status, or undefined when none answers (or it refuses: the console then shows no live data). */
async function liveStatus(home: string, timeoutMs: number): Promise<DaemonStatus | undefined> {
  const r = await daemonStatus(home, timeoutMs);
  return refusedBy(r) ? undefined : r;
}

async function liveAccount(home: string, user: string): Promise<AccountAnswer | undefined> {
  const r = await daemonAccount(home, user, 1500);
  return refusedBy(r) ? undefined : r;
}

export async function runTui(home: string): Promise<number> {
  const screen = blessed.screen({ smartCSR: true, fullUnicode: true, title: "automigrate", autoPadding: true });
  const header = blessed.box({ parent: screen, top: 0, left: 0, height: 1, width: "100%", style: { inverse: true } });
  const body = blessed.box({ parent: screen, top: 1, left: 0, width: "100%", height: "100%-5" });
  const message = blessed.box({ parent: screen, bottom: 1, left: 0, height: 3, width: "100%", tags: false });
  const helpBar = blessed.box({ parent: screen, bottom: 0, left: 0, height: 1, width: "100%", style: { inverse: true } });
  const stack: View[] = [];
  let daemonUp = false;
  /** The daemon's last /status answer (per-domain progress for the Domains screen). */
  let lastStatus: DaemonStatus | undefined;
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
    header.setContent(` automigrate — ${top().title}${position()} — daemon ${daemonUp ? "running" : "not running: live status is unavailable"}`);
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
  let parsed: { stamp: string; config: ReturnType<typeof loadConfig> } | undefined;
  const unchangedConfig = () => {
    const st = statSync(homePaths(home).config, { throwIfNoEntry: false });
    const stamp = st ? `${st.ino}:${st.size}:${st.mtimeMs}` : "none";
    if (parsed?.stamp !== stamp) parsed = { stamp, config: loadConfig(home) };
    return parsed.config;
  };

  // ---------- Domains ----------
  const domainsView = (): View => {
    const rows = new VirtualRows("Domains", colourDomainRow);
    const el = rows.el;
    let filter = "";
    let names: string[] = [];
    let first = true;
    const refresh = () => {
      if (first) {
        first = false;
        if (firstFrame()) {
          // the whole file validated and every row's problem right after the first frame
          setTimeout(refreshThenDraw, 0);
          return;
        }
      }
      const c = unchangedConfig();
      names = Object.keys(c.domains).sort().filter((n) => n.includes(filter));
      problems = names.map((n) => domainProblems(n, c.domains[n]!)[0] ?? whyNobodyMigrates(n, c.domains[n]!));
      const paused = (n: string) => Boolean(lastStatus?.paused?.all || lastStatus?.paused?.domains?.includes(n));
      rows.setRows(names.map((n, i) => domainRow(n, c.domains[n]!.migration.enabled, problems[i], Number(screen.width) - 2, [progressText(lastStatus?.domains?.[n]), paused(n) ? "PAUSED" : ""].filter(Boolean).join("  "))));
      el.setLabel(` Domains${filter ? ` (filter: ${filter})` : ""} `);
      explain();
    };
    /**
     * The first frame without validating 1,000 domains first (a cold parse of them all costs
     * ~50 ms): the rows on screen are validated and checked as always, the others show their
     * name and switch only until the full refresh that follows at once. False when the file
     * cannot be read this way (the full refresh then says why).
     */
    const firstFrame = (): boolean => {
      try {
        const raw = readJsonFile(homePaths(home).config) as { domains?: Record<string, { migration?: { enabled?: unknown } }> } | null;
        if (!raw?.domains || typeof raw.domains !== "object") return false;
        const all = raw.domains;
        names = Object.keys(all).sort();
        const visible = Math.max(1, Number(screen.height));
        problems = names.map((n, i) => {
          if (i >= visible) return undefined;
          const d = domainSchema.safeParse(all[n]);
          return d.success ? (domainProblems(n, d.data)[0] ?? whyNobodyMigrates(n, d.data)) : "invalid settings (details in a moment)";
        });
        rows.setRows(names.map((n, i) => domainRow(n, all[n]?.migration?.enabled === true, problems[i], Number(screen.width) - 2)));
        explain();
        return true;
      } catch {
        return false;
      }
    };
    let problems: (string | undefined)[] = [];
    const selected = () => names[rows.cursor];
    /** The selected domain's problem, whole, below the list (its row is cut at the screen's edge). */
    const explain = () => {
      const p = problems[rows.cursor];
      if (p && !busy) say(`${names[rows.cursor]}: ${p}`, true);
    };
    rows.onMove = explain;
    return {
      title: "Domains",
      help: "Enter edit  e on/off  c classes  a add  / filter  Tab queue",
      el,
      rows,
      refresh,
      filter: {
        key: "/",
        what: "Filter domains",
        set: (text) => {
          filter = text.toLowerCase();
          rows.cursor = 0; // a new filter starts at the top
          refresh();
        },
      },
      keys: {
        e: async () => {
          const d = selected();
          if (!d) return;
          try {
            const enabled = !loadConfig(home).domains[d]!.migration.enabled;
            if (!enabled) {
              // disabling wipes the captured passwords: say so and ask first
              const n = new Vault(home).countDomain(d);
              if (!(await confirm(`Disable migration for ${d}? Logins are no longer migrated${n ? `, and ${n} captured password${n === 1 ? " is" : "s are"} wiped` : ""}.`))) return say(`${d}: not changed`);
            }
            const { wiped } = setMigrationEnabled(home, d, enabled);
            say(`${d}: ${enabled ? "Migration Enabled" : "Migration Disabled"}${wiped ? ` (${wiped} captured password${wiped === 1 ? "" : "s"} wiped)` : ""}`);
          } catch (err) {
            say(err instanceof AutomigrateError ? err.message : errorText(err), true);
          }
          refresh();
          draw();
        },
        enter: () => {
          const d = selected();
          if (d) push(configureView(d));
        },
        c: () => {
          const d = selected();
          if (d) push(classesView(d));
        },
        a: async () => {
          const name = (await prompt("Add a domain (e.g. example.com); migration stays off until e:", ""))?.trim();
          if (!name) return;
          try {
            const d = addDomain(home, name);
            refresh();
            rows.select(names.indexOf(d));
            say(`added ${d} (Migration Disabled): Enter configures it`);
          } catch (err) {
            say(errorText(err), true);
          }
          draw();
        },
        "S-l": async () => {
          const now = loadConfig(home).license.premiumSeats;
          const v = (await prompt(`Premium seats in the licence (now ${now}):`, String(now)))?.trim();
          if (!v || v === String(now)) return;
          try {
            const changes = changeGlobals(home, [parseAssignment(`license.premiumSeats=${v}`)]);
            say(changeLines(changes).join("\n") || "nothing changed");
          } catch (err) {
            say(`${errorText(err)} — not changed`, true);
          }
        },
        tab: () => push(queueView()),
      },
    };
  };

  /** Esc on a form (Configure, Classes): with unsaved edits the first Esc warns, a second one drops them and leaves. */
  const formEscape = (domain: string, modified: () => boolean) => {
    let armed = false;
    return {
      /** An edit since the warning: Esc warns again. */
      disarm: () => {
        armed = false;
      },
      escape: () => {
        if (modified() && !armed) {
          armed = true;
          return say(`${domain}: unsaved changes — Esc again discards them, s saves`, true);
        }
        const dropped = modified();
        pop();
        say(dropped ? `${domain}: changes discarded` : "");
      },
    };
  };

  // ---------- Configure ----------
  const configureView = (domain: string): View => {
    const el = blessed.list({ width: "100%", height: "100%", border: "line", label: ` Configure ${domain} `, keys: true, vi: false, style: { selected: { inverse: true } }, tags: true });
    let draft: DomainSettings = structuredClone(loadConfig(home).domains[domain]!);
    const original = JSON.stringify(draft);
    const modified = () => JSON.stringify(draft) !== original;
    let error = "";
    const selectedRow = () => FORM_ROWS[(el as unknown as { selected?: number }).selected ?? 0];
    const selectedField = (): FormField | undefined => {
      const r = selectedRow();
      return r && "field" in r ? r.field : undefined;
    };
    const value = (key: string) => getPath(draft, key.split("."));
    /** The highlighted setting's meaning, accepted values and default, from the schema (the keys are in the key bar). */
    const meaning = () => {
      const r = selectedRow();
      if (r && "section" in r) return `${r.section} — Enter or Space on a setting edits it`;
      const f = selectedField();
      const h = f ? SETTING_HELP.get(f.key) : undefined;
      if (!f || !h) return "";
      const facts = [expectedText(h.values), h.default !== undefined ? `default ${h.default}` : ""].filter(Boolean).join("; ");
      return `${f.key}: ${h.description ?? ""}${facts ? ` (${facts})` : ""}`;
    };
    const render = () => {
      redrawing = true;
      el.setItems(formLines(value, Number(screen.width) - 4) as never);
      redrawing = false;
      el.setLabel(` Configure ${domain}${modified() ? " — MODIFIED, not saved" : ""} `);
      say(error || meaning(), Boolean(error));
    };
    let redrawing = false;
    el.on("select item", () => {
      // a refused value stays said until the cursor moves on (setItems selects rows too)
      if (redrawing) return;
      error = "";
      say(meaning());
    });
    const leave = formEscape(domain, modified);
    const assign = (key: string, raw: string) => {
      try {
        draft = applyAssignments(domainSchema, draft, [parseAssignment(`${key}=${raw}`)]); // the CLI's zod rules
        error = "";
        leave.disarm();
      } catch (e) {
        const expected = expectedText(SETTING_HELP.get(key)?.values);
        const why = e instanceof AutomigrateError ? e.message : errorText(e);
        error = `${why} — not changed${expected && !why.includes(expected) ? `; expected ${expected}` : ""}`;
      }
      render();
    };
    const edit = async () => {
      const f = selectedField();
      if (!f) return; // a section's title
      const cur = value(f.key);
      if (f.kind === "bool") return assign(f.key, String(!cur));
      if (f.kind === "enum" || f.kind === "class") {
        const choices = f.kind === "class" ? classNames(draft) : f.choices!;
        return assign(f.key, choices[(choices.indexOf(String(cur)) + 1) % choices.length]!);
      }
      if (f.kind === "list" || f.kind === "map") {
        return push(itemsView(domain, f, itemsOf(cur, f.kind), (items) => {
          assign(f.key, valueFromItems(items, f.kind as "list" | "map"));
          return error;
        }));
      }
      // pre-filled with the current value, to edit rather than retype
      const now = cur === undefined ? "" : valueText(cur, f.kind);
      const v = await prompt(`${f.label} — ${f.key} (now: ${now || "not set"}; empty keeps it):`, now);
      if (v === now) return;
      if (v) assign(f.key, v);
    };
    return {
      title: `Configure ${domain}`,
      help: "Enter/Space edit  s save  Esc cancel  t test connection",
      el,
      refresh: render,
      unsaved: modified,
      keys: {
        enter: edit,
        space: edit,
        s: () => {
          // a refused value never entered the form: what is saved is what the form shows
          try {
            changeDomain(home, domain, () => draft);
            pop();
            say(`${domain}: saved`);
          } catch (e) {
            say(`${e instanceof AutomigrateError ? e.message : errorText(e)}\nnothing was saved`, true);
          }
        },
        escape: leave.escape,
        t: async () => {
          say("testing the connections ...");
          const { testConnection } = await import("../src/diagnose/test-connection.ts");
          // the form's values, saved or not: what `s` would save is what is tested
          const c = loadConfig(home);
          const r = await testConnection({ ...c, domains: { ...c.domains, [domain]: draft } }, domain, { timeoutMs: TIMEOUTS.consoleTestConnectionMs });
          say(r.ok ? "all reachable" : "problems found", !r.ok);
          overlay(` test connection: ${domain} `, r.checks.map((c) => `${c.status === "pass" ? "ok  " : c.status.toUpperCase().padEnd(4)} ${c.name}: ${c.detail}${c.hint && c.status !== "pass" ? `\n     hint: ${c.hint}` : ""}`).join("\n"));
        },
      },
    };
  };

  /**
   * A list setting edited as a list (folders not copied, the external command's arguments,
   * folder renames as "old → new"): a adds, Enter edits, d removes. Each change goes into the
   * form through the schema (`apply` answers its refusal); the form saves with s as usual.
   */
  const itemsView = (domain: string, field: FormField, start: string[], apply: (items: string[]) => string): View => {
    const el = list(`${field.label} — ${domain}`);
    let items = [...start];
    const isMap = field.kind === "map";
    const refresh = () => {
      el.setItems((items.length ? items : ["(none: a adds one)"]) as never);
    };
    const commit = (next: string[]) => {
      const refused = apply(next);
      if (refused) return say(refused, true);
      items = next;
      refresh();
      say(`${field.label}: ${items.length} item${items.length === 1 ? "" : "s"} in the form (s on the form saves)`);
      draw();
    };
    const ask = async (now?: string): Promise<string | undefined> => {
      if (!isMap) return (await prompt(`${field.label}: ${field.key === "migration.pim.command" ? "an argument ({user}, {domain}, {localpart} are replaced)" : "a folder name or pattern (* and ?)"}`, now ?? ""))?.trim() || undefined;
      const [from, to] = now ? splitMapItem(now)! : ["", ""];
      const oldName = (await prompt(`${field.label}: the folder on the old server`, from))?.trim();
      if (!oldName) return undefined;
      const newName = (await prompt(`${field.label}: its name on the new server`, to))?.trim();
      return newName ? mapItem(oldName, newName) : undefined;
    };
    const at = () => (el as unknown as { selected: number }).selected;
    const remove = () => {
      if (items.length) commit(items.filter((_, i) => i !== at()));
    };
    return {
      title: `${field.label} of ${domain}`,
      help: "a add  Enter edit  d delete  Esc back to the form",
      el,
      refresh,
      keys: {
        a: async () => {
          const v = await ask();
          if (v) commit([...items, v]);
        },
        enter: async () => {
          if (!items.length) return;
          const v = await ask(items[at()]);
          if (v) commit(items.map((x, i) => (i === at() ? v : x)));
        },
        d: remove,
        delete: remove,
        escape: pop,
      },
    };
  };

  // ---------- Classes ----------
  // A form like Configure: Space toggles a class's checkbox in the form, s saves, Esc asks
  // before dropping toggles. Adding a class (a) is its own action, saved at once.
  const classesView = (domain: string): View => {
    const el = list(`Account classes of ${domain}`);
    let rows: string[] = [];
    /** The checkboxes as toggled in the form, by class name. */
    const toggled = new Map<string, boolean>();
    const saved = (d: DomainSettings, n: string) => classOf(d, n)!.autoMigration;
    const modified = () => toggled.size > 0;
    const leave = formEscape(domain, modified);
    const refresh = () => {
      const d = loadConfig(home).domains[domain]!;
      rows = classNames(d);
      el.setItems(rows.map((n) => {
        const k = classOf(d, n)!;
        const on = toggled.get(n) ?? k.autoMigration;
        return `[${on ? "x" : " "}] enable automatic migration   ${n}${d.migration.accountClass === n ? "  (new accounts)" : ""}${k.quota ? `  quota ${k.quota}` : ""}${toggled.has(n) ? "  *" : ""}`;
      }) as never);
      el.setLabel(` Account classes of ${domain}${modified() ? " — MODIFIED, not saved" : ""} `);
    };
    const toggle = () => {
      const n = rows[(el as unknown as { selected: number }).selected];
      if (!n) return;
      const d = loadConfig(home).domains[domain]!;
      const next = !(toggled.get(n) ?? saved(d, n));
      if (next === saved(d, n)) toggled.delete(n);
      else toggled.set(n, next);
      leave.disarm();
      refresh();
      say(modified() ? `${domain}: ${toggled.size} class${toggled.size === 1 ? "" : "es"} changed — s saves, Esc cancels` : "");
      draw();
    };
    return {
      title: `Classes of ${domain}`,
      help: "Space toggle automatic migration  s save  a add class  Esc back",
      el,
      refresh,
      unsaved: modified,
      keys: {
        space: toggle,
        enter: toggle,
        s: () => {
          if (!modified()) return say(`${domain}: nothing changed`);
          try {
            const after = changeDomain(home, domain, (d) => {
              for (const [n, on] of toggled) classOf(d, n)!.autoMigration = on;
              return d;
            });
            const what = [...toggled.keys()].map((n) => `class ${n}: automatic migration ${saved(after, n) ? "on" : "off"}`).join(", ");
            toggled.clear();
            say(`${domain}: ${what} — saved`);
          } catch (e) {
            say(`${errorText(e)}\nnothing was saved`, true);
          }
          refresh();
          draw();
        },
        a: async () => {
          const name = (await prompt("Add an account class (letters, digits, '.', '_' or '-'):", ""))?.trim();
          if (!name) return;
          try {
            addClass(home, domain, name);
            say(`added class ${name} to ${domain}: automatic migration on`);
          } catch (err) {
            say(errorText(err), true);
          }
          refresh();
          draw();
        },
        escape: leave.escape,
      },
    };
  };

  // ---------- Queue ----------
  const queueView = (): View => {
    const rows = new VirtualRows("Migration queue", colourJobRow);
    const el = rows.el;
    let filter = "";
    let sortBy: SortKey = "state";
    let jobs: JobView[] = [];
    const refresh = async () => {
      const s = await liveStatus(home, 1500);
      lastStatus = s;
      daemonUp = Boolean(s);
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
          const { checkOldLogin } = await import("../src/diagnose/test-connection.ts");
          const vault = new Vault(home);
          const check = await checkOldLogin(loadConfig(home), u, { timeoutMs: TIMEOUTS.consoleTestConnectionMs, secrets: vault }).catch(() => undefined);
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
          const s = await liveStatus(home, 1500);
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
          if (u) push(accountView(u));
        },
        "S-r": async () => {
          if (!(await confirm("Retry every failed job and end every backoff wait?"))) return say("nothing retried");
          await act(daemonPost(home, "/retry", {}), (r) => (r.retried > 0 ? { text: `retried ${r.retried} job${r.retried === 1 ? "" : "s"}` } : { text: "nothing to retry: no failed job and none waiting", error: true }));
        },
        "S-p": async () => {
          const j = selected();
          if (!j) return;
          const s = await liveStatus(home, 1500);
          if (!s) return say("the daemon is not running", true);
          const paused = s.paused.domains.includes(j.domain);
          await act(daemonPost(home, paused ? "/resume" : "/pause", { domain: j.domain }), (r) => ({ text: r.paused?.domains?.includes(j.domain) ? `${j.domain}: paused (other domains go on)` : `${j.domain}: resumed` }));
        },
        enter: () => {
          const j = selected();
          if (j) push(accountView(j.user));
        },
        escape: pop,
      },
    };
  };

  // ---------- Account detail ----------
  const accountView = (user: string): View => {
    const el = blessed.box({ width: "100%", height: "100%", border: "line", label: ` ${user} `, scrollable: true, keys: true, alwaysScroll: true });
    const refresh = async () => {
      const a = await liveAccount(home, user);
      daemonUp = Boolean(a);
      if (!a) return void el.setContent("the daemon is not running: live status is unavailable");
      const answer = a as AccountAnswer;
      const lines = accountLines(answer);
      // the job's progress as bars under its line
      const p = answer.job?.progress;
      if (p) lines.splice(1, 0, `  messages ${bar(p.messagesDone, p.messagesTotal, 30)} ${p.messagesDone}/${p.messagesTotal}`, `  bytes    ${bar(p.bytesDone, p.bytesTotal, 30)} ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}  ${p.rateMsgPerSec} msg/s${p.etaSec !== null ? `, ETA ${p.etaSec}s` : ""}`);
      el.setContent(lines.join("\n"));
    };
    return { title: user, live: true, help: "Esc back", el, refresh, keys: { escape: pop } };
  };

  // help and results: one overlay, closed by any key
  const overlayBox = blessed.box({ parent: screen, top: "center", left: "center", width: "100%-2", height: "80%", border: "line", hidden: true, tags: false });
  const overlay = (label: string, text: string) => {
    overlayBox.setLabel(label);
    overlayBox.setContent(text);
    overlayBox.show();
    overlayBox.setFront();
    screen.render();
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
    const quit = (code = 0) => {
      clearInterval(timer);
      for (const s of signals) process.off(s, onSignal);
      screen.destroy(); // the terminal back as it was: main screen, line mode, cursor
      resolve(code);
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
    const timer = setInterval(() => {
      if (busy) return;
      const v = top();
      // a form being edited is not refreshed under the admin's hands
      const tick = async () => {
        if (!v.live) {
          lastStatus = await liveStatus(home, 1000);
          daemonUp = Boolean(lastStatus);
        }
        if (!v.title.startsWith("Configure")) await v.refresh?.();
      };
      tick().then(draw, (e) => say(errorText(e), true));
    }, 1000);
    push(domainsView());
  });
}
