// The Configure screen: a domain's settings as a form in sections (tui/settings-form.ts), each
// edited through the CLI's schema and rules; lists open as lists (itemsView); s saves, t tests
// the connections with the form's values.
import blessed from "blessed";
import { classNames } from "../../src/config/rules.ts";
import { draftAssignments, formatIssue, getPath, parseAssignment } from "../../src/config/dotted.ts";
import { domainSchema, type DomainSettings } from "../../src/config/schema.ts";
import { settingsOf } from "../../src/config/settings-help.ts";
import { changeDomain } from "../../src/config/change.ts";
import { AutomigrateError, errorText } from "../../src/errors.ts";
import { TIMEOUTS } from "../../src/timeouts.ts";
import type { Console, View } from "../console.ts";
import { expectedText, formLines, formRows, itemsOf, mapItem, splitMapItem, valueFromItems, valueText, type FormField } from "../settings-form.ts";
import { formEscape } from "./form-escape.ts";

/** Each domain setting's values, default and meaning, from the schema (as `domain set --help`). */
const SETTING_HELP = new Map(settingsOf(domainSchema).map((h) => [h.key, h]));

export function configureView(c: Console, domain: string): View {
  const { home, screen, say, push, pop, prompt } = c;
  const el = blessed.list({ width: "100%", height: "100%", border: "line", label: ` Configure ${domain} `, keys: true, vi: false, style: { selected: { inverse: true } }, tags: true });
  let draft: DomainSettings = structuredClone(c.config().domains[domain]!);
  const original = JSON.stringify(draft);
  const modified = () => JSON.stringify(draft) !== original;
  let error = "";
  /** What the draft still lacks (a new auth mode's other settings): saving waits for them. */
  let missing: string[] = [];
  const selectedRow = () => formRows(value)[(el as unknown as { selected?: number }).selected ?? 0];
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
    say(error || (missing.length ? `still needed before saving: ${missing.join("; ")}` : meaning()), Boolean(error));
  };
  let redrawing = false;
  el.on("select item", () => {
    // a refused value stays said until the cursor moves on (setItems selects rows too)
    if (redrawing) return;
    error = "";
    say(meaning());
  });
  const leave = formEscape(c, domain, modified);
  const assign = (key: string, raw: string) => {
    try {
      // the CLI's zod rules; settings that go together (auth.mode=oauth2 and its provider's) are set one by one
      ({ value: draft, missing } = draftAssignments(domainSchema, draft, [parseAssignment(`${key}=${raw}`)]));
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
      return push(itemsView(c, domain, f, itemsOf(cur, f.kind), (items) => {
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
    form: true,
    help: "Enter/Space edit  s save  Esc cancel  t test connection",
    el,
    refresh: render,
    unsaved: modified,
    keys: {
      enter: edit,
      space: edit,
      s: async () => {
        // a refused value never entered the form: what is saved is what the form shows
        const complete = domainSchema.safeParse(draft);
        if (!complete.success) {
          say(`${complete.error.issues.map((i) => formatIssue(i, "", domainSchema)).join("\n")}\nnothing was saved`, true);
          return;
        }
        try {
          await changeDomain(home, domain, () => draft);
          pop();
          say(`${domain}: saved`);
        } catch (e) {
          say(`${e instanceof AutomigrateError ? e.message : errorText(e)}\nnothing was saved`, true);
        }
      },
      escape: leave.escape,
      t: async () => {
        if (missing.length) return say(`still needed before a test: ${missing.join("; ")}`, true);
        say("testing the connections ...");
        const { testConnection } = await import("../../src/diagnose/test-connection.ts");
        // the form's values, saved or not: what `s` would save is what is tested
        const cfg = c.config();
        const r = await testConnection({ ...cfg, domains: { ...cfg.domains, [domain]: draft } }, domain, { timeoutMs: TIMEOUTS.consoleTestConnectionMs });
        say(r.ok ? "all reachable" : "problems found", !r.ok);
        c.overlay(` test connection: ${domain} `, r.checks.map((k) => `${k.status === "pass" ? "ok  " : k.status.toUpperCase().padEnd(4)} ${k.name}: ${k.detail}${k.hint && k.status !== "pass" ? `\n     hint: ${k.hint}` : ""}`).join("\n"));
      },
    },
  };
}

/**
 * A list setting edited as a list (folders not copied, the external command's arguments,
 * folder renames as "old → new"): a adds, Enter edits, d removes. Each change goes into the
 * form through the schema (`apply` answers its refusal); the form saves with s as usual.
 */
function itemsView(c: Console, domain: string, field: FormField, start: string[], apply: (items: string[]) => string): View {
  const { say, pop, prompt, draw } = c;
  const el = c.list(`${field.label} — ${domain}`);
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
}
