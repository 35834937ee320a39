// Text from outside (folder names from an old server, errors, user names) as a terminal or
// a log shows it faithfully: control characters as visible escapes, never acted on. Pure.

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu;

const escape = (c: string) => (c === "\t" ? "\\t" : c === "\r" ? "\\r" : c === "\n" ? "\\n" : `\\x${c.codePointAt(0)!.toString(16).padStart(2, "0")}`);

/** A line with its control characters (a CR, an escape sequence) written as escapes. */
export function printable(line: string): string {
  return line.replace(CONTROL, escape);
}

/** A name in double quotes with its quotes, backslashes and control characters escaped. */
export function quotedName(name: string): string {
  return `"${name.replace(/["\\]/g, "\\$&").replace(CONTROL, escape)}"`;
}
