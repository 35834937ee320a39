// Captured credentials: one AES-256-GCM record per user (fresh 96-bit nonce each, the user
// as additional data, so a record cannot be moved to another user), key file 0600 created
// on first use. Records live in vault/ next to the key; nothing here is ever logged.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { AutomigrateError } from "../errors.ts";
import { homePaths } from "../home.ts";
import { accountFileName } from "../store/account-state.ts";
import { ensureDir, readJsonFile, writeJsonFileAtomic } from "../store/json-file.ts";

export interface VaultRecord {
  v: 1;
  nonce: string;
  ct: string;
  tag: string;
}

export class Vault {
  private readonly dir: string;
  private keyCache?: Buffer;

  constructor(home: string) {
    this.dir = homePaths(home).vault;
  }

  private key(): Buffer {
    if (this.keyCache) return this.keyCache;
    ensureDir(this.dir);
    const path = join(this.dir, "key");
    if (!existsSync(path)) {
      // written whole and fsynced aside, then link()ed into place: the key appears complete or
      // not at all, and of two processes creating it at once one wins and both use its key
      const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}`;
      const fd = openSync(tmp, "wx", 0o600);
      try {
        writeSync(fd, randomBytes(32));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      try {
        linkSync(tmp, path);
        const dfd = openSync(this.dir, "r");
        try {
          fsyncSync(dfd);
        } finally {
          closeSync(dfd);
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      } finally {
        unlinkSync(tmp);
      }
    }
    const key = readFileSync(path);
    if (key.length !== 32) throw new AutomigrateError(`the vault key is damaged (${key.length} bytes, expected 32)`, { file: path, hint: "restore it from a backup; without it captured passwords cannot be read" }, { code: "CORRUPT" });
    this.keyCache = key;
    return key;
  }

  private file(user: string): string {
    return join(this.dir, accountFileName(user));
  }

  /** The key file's path (cluster mode: every node holds a copy of the same key there). */
  get keyPath(): string {
    return join(this.dir, "key");
  }

  /** A record of `secret` for `user` under this home's key (a fresh nonce; the user bound as additional data). */
  seal(user: string, secret: string): VaultRecord {
    const nonce = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.key(), nonce);
    c.setAAD(Buffer.from(user.toLowerCase()));
    const ct = Buffer.concat([c.update(secret, "utf8"), c.final()]);
    return { v: 1, nonce: nonce.toString("base64"), ct: ct.toString("base64"), tag: c.getAuthTag().toString("base64") };
  }

  /** The secret of a record; undefined when this key cannot open it (wrong key, another user's record, tampered). */
  unseal(user: string, rec: VaultRecord): string | undefined {
    try {
      const d = createDecipheriv("aes-256-gcm", this.key(), Buffer.from(rec.nonce, "base64"));
      d.setAAD(Buffer.from(user.toLowerCase()));
      d.setAuthTag(Buffer.from(rec.tag, "base64"));
      return Buffer.concat([d.update(Buffer.from(rec.ct, "base64")), d.final()]).toString("utf8");
    } catch {
      return undefined;
    }
  }

  put(user: string, secret: string): void {
    writeJsonFileAtomic(this.file(user), this.seal(user, secret));
  }

  get(user: string): string | undefined {
    const path = this.file(user);
    const rec = readJsonFile(path) as VaultRecord | null;
    if (!rec) return undefined;
    const secret = this.unseal(user, rec);
    if (secret === undefined) throw new AutomigrateError(`the vault record for ${user} cannot be decrypted (wrong key or tampered)`, { user, file: path, hint: "the user's next login captures the password again" }, { code: "NO_PASSWORD" });
    return secret;
  }

  /** The vault as the source of captured and imported passwords for a server login (SecretSource). */
  password(user: string): string | undefined {
    return this.get(user);
  }

  remove(user: string): boolean {
    try {
      unlinkSync(this.file(user));
      return true;
    } catch {
      return false;
    }
  }

  /** The record files of a domain's users. */
  private domainFiles(domain: string): string[] {
    try {
      return readdirSync(this.dir).filter((f) => f !== "key" && decodeURIComponent(f).endsWith(`@${domain}.json`));
    } catch {
      return [];
    }
  }

  /** Every user with a record. */
  users(): string[] {
    try {
      return readdirSync(this.dir).filter((f) => f !== "key" && f.endsWith(".json")).map((f) => decodeURIComponent(f.slice(0, -5)));
    } catch {
      return [];
    }
  }

  /** How many of a domain's users have a record (what disabling it would wipe). */
  countDomain(domain: string): number {
    return this.domainFiles(domain).length;
  }

  /** Wipes every record of a domain (when its migration is disabled). */
  removeDomain(domain: string): number {
    let n = 0;
    for (const f of this.domainFiles(domain)) {
      try {
        unlinkSync(join(this.dir, f));
        n++;
      } catch {}
    }
    return n;
  }
}
