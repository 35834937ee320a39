// A lowdb adapter that survives crashes and power loss: write a temp file, fsync it,
// rename it over the target, fsync the directory. Files 0600, directories 0700.
// A file that is not valid JSON is an error naming the file; it is never replaced.
import { open, rename, unlink } from "node:fs/promises";
import { closeSync, fchmodSync, fchownSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, unlinkSync } from "node:fs";
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
    throw new AutomigrateError(`cannot read ${path}: ${(e as Error).message}`, { file: path }, { code: "CORRUPT" });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AutomigrateError(`${path} is corrupt (not valid JSON: ${(e as Error).message})`, {
      file: path,
      hint: "restore it from a backup or fix it by hand; automigrate never overwrites a corrupt file",
    }, { code: "CORRUPT" });
  }
}

/** A fresh temporary name in the file's own directory (rename() stays on one file system). */
function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}.tmp`);
}

/**
 * Writes a file so that a reader sees the old or the new content, never a mix, and a crash
 * or power loss leaves one of them: temp file, fsync, rename, fsync of the directory.
 */
export function writeFileAtomic(path: string, content: string | Buffer, opts: { mode?: number; owner?: { uid: number; gid: number } } = {}): void {
  const dir = dirname(path);
  ensureDir(dir);
  const tmp = tempBeside(path);
  const fd = openSync(tmp, "w", opts.mode ?? 0o600);
  try {
    writeSync(fd, typeof content === "string" ? Buffer.from(content) : content);
    if (opts.mode !== undefined) fchmodSync(fd, opts.mode);
    if (opts.owner) fchownSync(fd, opts.owner.uid, opts.owner.gid);
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

/**
 * writeFileAtomic without blocking the event loop: the same steps on libuv's thread pool, so
 * a migration keeps reading and writing IMAP while its state file is fsynced.
 */
export async function writeFileAtomicAsync(path: string, content: string): Promise<void> {
  const dir = dirname(path);
  ensureDir(dir);
  const tmp = tempBeside(path);
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
  const dh = await open(dir, "r");
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

export function writeJsonFileAtomic(path: string, data: unknown): void {
  writeFileAtomic(path, JSON.stringify(data, null, 2) + "\n");
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
      }, { code: "CORRUPT" });
    }
    return parsed.data;
  }

  async write(data: T): Promise<void> {
    // serialised now: a change made while the file is being written is not half in it
    await writeFileAtomicAsync(this.path, JSON.stringify(data, null, 2) + "\n");
  }
}

export async function openDocument<T>(path: string, schema: z.ZodType<T>, initial: T): Promise<Low<T>> {
  const db = new Low<T>(new DurableJsonFile(path, schema), initial);
  await db.read();
  return db;
}
