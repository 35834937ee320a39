// The account classes of a domain: a form like Configure; Space toggles a class's automatic
// migration in the form, s saves, a adds a class (saved at once).
import { addClass, changeDomain } from "../../src/config/change.ts";
import { classNames, classOf } from "../../src/config/rules.ts";
import type { DomainSettings } from "../../src/config/schema.ts";
import { errorText } from "../../src/errors.ts";
import type { Console, View } from "../console.ts";
import { formEscape } from "./form-escape.ts";

// A form like Configure: Space toggles a class's checkbox in the form, s saves, Esc asks
// before dropping toggles. Adding a class (a) is its own action, saved at once.
export function classesView(c: Console, domain: string): View {
  const { home, say, prompt, draw } = c;
  const el = c.list(`Account classes of ${domain}`);
  let rows: string[] = [];
  /** The checkboxes as toggled in the form, by class name. */
  const toggled = new Map<string, boolean>();
  const saved = (d: DomainSettings, n: string) => classOf(d, n)!.autoMigration;
  const modified = () => toggled.size > 0;
  const leave = formEscape(c, domain, modified);
  const refresh = () => {
    const d = c.config().domains[domain]!;
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
    const d = c.config().domains[domain]!;
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
      s: async () => {
        if (!modified()) return say(`${domain}: nothing changed`);
        try {
          const after = await changeDomain(home, domain, (d) => {
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
          await addClass(home, domain, name);
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
}
