// Secrets live in files (or the vault), never in config.json or argv.
import { readFileSync } from "node:fs";
import { AutomigrateError } from "../errors.ts";

export function readPasswordFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new AutomigrateError(`cannot read the password file for ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      file: path,
      hint: `create it (one line, mode 0600) and point ${what}.passwordFile at it`,
    }, { code: "CONFIG" });
  }
  const password = text.split(/\r?\n/)[0] ?? "";
  if (!password) throw new AutomigrateError(`the password file for ${what} is empty`, { file: path }, { code: "CONFIG" });
  return password;
}
