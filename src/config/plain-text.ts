// One rule for every text in the settings: no control characters. A setting reaches a
// protocol (IMAP, SMTP, LDAP), a file (a passwd-file line), an argv, a folder name or a log
// line, where a CR, LF, TAB, NUL or DEL changes what it means (a second passwd-file line, a
// second IMAP command, a forged log line). The schema applies it to every string value and
// every key (domain, class and folder names) at once, so a new setting is covered the day it
// is added; the exceptions are named here with their reason.

/**
 * Settings (dotted, "*" for any one key or index) whose text may hold control characters:
 * the notice templates are messages (lines); their own check (src/migrate/notices.ts) allows
 * only LF, CRLF and TAB, and places each line as a header or body line of the notice.
 */
export const CONTROL_CHARACTERS_ALLOWED: readonly string[] = ["migration.notice.started", "migration.notice.completed", "domains.*.migration.notice.started", "domains.*.migration.notice.completed"];

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;

const NAMES: Record<string, string> = { "\0": "NUL", "\t": "TAB", "\n": "LF", "\r": "CR", "\x1b": "ESC", "\x7f": "DEL" };

/** The first control character of `s`, named ("CR", "U+0085"), or undefined. */
export function controlCharacter(s: string): string | undefined {
  const m = CONTROL.exec(s);
  if (!m) return undefined;
  const c = m[0];
  return NAMES[c] ?? `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

function allowed(path: (string | number)[]): boolean {
  return CONTROL_CHARACTERS_ALLOWED.some((pattern) => {
    const parts = pattern.split(".");
    return parts.length === path.length && parts.every((p, i) => p === "*" || p === String(path[i]));
  });
}

export interface TextProblem {
  path: (string | number)[];
  message: string;
}

/** Every string value and key in `value` that holds a control character, with its path. */
export function controlCharacterProblems(value: unknown, path: (string | number)[] = []): TextProblem[] {
  if (typeof value === "string") {
    const c = controlCharacter(value);
    return c && !allowed(path) ? [{ path, message: `holds a control character (${c}); settings are plain text on one line` }] : [];
  }
  if (value === null || typeof value !== "object") return [];
  const out: TextProblem[] = [];
  for (const [k, v] of Object.entries(value)) {
    const at = [...path, Array.isArray(value) ? Number(k) : k];
    const c = Array.isArray(value) ? undefined : controlCharacter(k);
    if (c) out.push({ path: at, message: `the name ${JSON.stringify(k)} holds a control character (${c})` });
    out.push(...controlCharacterProblems(v, at));
  }
  return out;
}

/** For a schema's superRefine: each problem as an issue at its path. */
export function refuseControlCharacters(value: unknown, ctx: { addIssue(issue: { code: "custom"; path: (string | number)[]; message: string }): void }, skip: string[] = []): void {
  for (const p of controlCharacterProblems(value)) {
    if (typeof p.path[0] === "string" && skip.includes(p.path[0]) && p.path.length > 1) continue;
    ctx.addIssue({ code: "custom", path: p.path, message: p.message });
  }
}
