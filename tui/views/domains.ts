// The Domains screen: every domain with its state and progress, a filter, enable/disable,
// add a domain, the licence's seats; Enter configures, c its classes, Tab the queue.
import { vaultOf } from "../../src/storage/vault.ts";
import { addDomain, changeGlobals, setMigrationEnabled } from "../../src/config/change.ts";
import { parseAssignment } from "../../src/config/dotted.ts";
import { domainProblems, whyNobodyMigrates } from "../../src/config/rules.ts";
import { domainSchema } from "../../src/config/schema.ts";
import { changeLines } from "../../src/config/settings-help.ts";
import { AutomigrateError, errorText } from "../../src/errors.ts";
import { homePaths } from "../../src/home.ts";
import { readJsonFile } from "../../src/store/json-file.ts";
import type { Console, View } from "../console.ts";
import { colourDomainRow, domainRow, progressText } from "../format.ts";
import { VirtualRows } from "../virtual-rows.ts";
import { classesView } from "./classes.ts";
import { configureView } from "./configure.ts";
import { queueView } from "./queue.ts";

export function domainsView(c: Console): View {
  const { home, screen, say, push, prompt, confirm, draw, refreshThenDraw } = c;
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
    const cfg = c.config();
    names = Object.keys(cfg.domains).sort().filter((n) => n.includes(filter));
    problems = names.map((n) => domainProblems(n, cfg.domains[n]!)[0] ?? whyNobodyMigrates(n, cfg.domains[n]!));
    const paused = (n: string) => Boolean(c.live.status?.paused?.all || c.live.status?.paused?.domains?.includes(n));
    const shown = names.map((n, i) => domainRow(n, cfg.domains[n]!.migration.enabled, problems[i], Number(screen.width) - 2, [progressText(c.live.status?.domains?.[n]), paused(n) ? "PAUSED" : ""].filter(Boolean).join("  ")));
    // an empty list says why, and what to do
    rows.setRows(shown.length ? shown : [filter ? `(no domains match "${filter}": Esc clears the filter)` : "(no domains yet: a adds one)"]);
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
    if (p && !c.busy()) say(`${names[rows.cursor]}: ${p}`, true);
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
          const enabled = !c.config().domains[d]!.migration.enabled;
          if (!enabled) {
            // disabling wipes the captured passwords: say so and ask first
            const n = await vaultOf(home).countDomain(d);
            if (!(await confirm(`Disable migration for ${d}? Logins are no longer migrated${n ? `, and ${n} captured password${n === 1 ? " is" : "s are"} wiped` : ""}.`))) return say(`${d}: not changed`);
          }
          const { wiped } = await setMigrationEnabled(home, d, enabled);
          say(`${d}: ${enabled ? "Migration Enabled" : "Migration Disabled"}${wiped ? ` (${wiped} captured password${wiped === 1 ? "" : "s"} wiped)` : ""}`);
        } catch (err) {
          say(err instanceof AutomigrateError ? err.message : errorText(err), true);
        }
        refresh();
        draw();
      },
      enter: () => {
        const d = selected();
        if (d) push(configureView(c, d));
      },
      c: () => {
        const d = selected();
        if (d) push(classesView(c, d));
      },
      a: async () => {
        const name = (await prompt("Add a domain (e.g. example.com); migration stays off until e:", ""))?.trim();
        if (!name) return;
        try {
          const d = await addDomain(home, name);
          refresh();
          rows.select(names.indexOf(d));
          say(`added ${d} (Migration Disabled): Enter configures it`);
        } catch (err) {
          say(errorText(err), true);
        }
        draw();
      },
      "S-l": async () => {
        const now = c.config().license.premiumSeats;
        const v = (await prompt(`Premium seats in the licence (now ${now}):`, String(now)))?.trim();
        if (!v || v === String(now)) return;
        try {
          const changes = await changeGlobals(home, [parseAssignment(`license.premiumSeats=${v}`)]);
          say(changeLines(changes).join("\n") || "nothing changed");
        } catch (err) {
          say(`${errorText(err)} — not changed`, true);
        }
      },
      tab: () => push(queueView(c)),
    },
  };
}
