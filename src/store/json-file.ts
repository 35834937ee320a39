// A lowdb adapter that survives crashes and power loss: write a temp file, fsync it,
// rename it over the target, fsync the directory. Files 0600, directories 0700.
// A file that is not valid JSON is an error naming the file; it is never replaced.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, unlinkSync } from "node:fs";
import { dirname, basename, join } from "node:path";
import { Low, type Adapter } from "lowdb";
import type { z } from "zod";
import { AutomigrateError } from "../errors.ts";

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

export function readJsonFile(path: string): unknown | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new AutomigrateError(`cannot read ${path}: ${(e as Error).message}`, { file: path });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AutomigrateError(`${path} is corrupt (not valid JSON: ${(e as Error).message})`, {
      file: path,
      hint: "restore it from a backup or fix it by hand; automigrate never overwrites a corrupt file",
    });
  }
}

export function writeJsonFileAtomic(path: string, data: unknown): void {
  const dir = dirname(path);
  ensureDir(dir);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, JSON.stringify(data, null, 2) + "\n");
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {}
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  const dfd = openSync(dir, "r");
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** lowdb adapter: validated on read (zod), durable on write. */
export class DurableJsonFile<T> implements Adapter<T> {
  constructor(
    readonly path: string,
    private readonly schema: z.ZodType<T>,
  ) {}

  async read(): Promise<T | null> {
    const raw = readJsonFile(this.path);
    if (raw === null) return null;
    const parsed = this.schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const at = issue?.path.join(".") || "(root)";
      throw new AutomigrateError(`${this.path} is invalid at ${at}: ${issue?.message}`, {
        file: this.path,
        hint: "fix the value by hand or restore the file from a backup",
      });
    }
    return parsed.data;
  }

  async write(data: T): Promise<void> {
    writeJsonFileAtomic(this.path, data);
  }
}

export async function openDocument<T>(path: string, schema: z.ZodType<T>, initial: T): Promise<Low<T>> {
  const db = new Low<T>(new DurableJsonFile(path, schema), initial);
  await db.read();
  return db;
}
