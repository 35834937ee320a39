// Creating accounts on the new server. Drivers:
//   passwd-file  Dovecot passwd-file: {ARGON2ID} hash (never plaintext), class attributes as
//                userdb fields; updated under a lock, written to a temp file and renamed, so
//                concurrent first logins never lose an entry and Dovecot never reads half a file.
//   command      your program: JSON on stdin { user, domain, class, tier, passwordHash };
//                exit 0 = created, anything else = refused (stderr's last lines reported).
//   none         accounts exist already.
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { Config } from "../config/schema.ts";
import { AutomigrateError } from "../errors.ts";
import { writeFileAtomic } from "../store/json-file.ts";
import { acquireLock } from "../store/lock-file.ts";
import type { Tier } from "./license.ts";
import { TIMEOUTS } from "../timeouts.ts";

export interface NewAccount {
  user: string;
  domain: string;
  className: string;
  quota?: string;
  tier: Tier;
  /** Optional: an import without a password creates no login (master mode migrates it). */
  password?: string;
}

export interface Provisioner {
  exists(user: string): boolean;
  /** The accounts this driver can list (passwd-file); [] when it cannot tell. */
  users(): string[];
  create(a: NewAccount): Promise<void>;
  /**
   * For an account that exists: does the password match what the new server stores?
   * undefined when this driver cannot tell (the new server's own passdb decides).
   */
  verify(user: string, password: string): Promise<boolean | undefined>;
}

/** Dovecot's {ARGON2ID} scheme, verified by `doveadm pw -t`. */
export async function hashPassword(password: string): Promise<string> {
  return `{ARGON2ID}${await Bun.password.hash(password, { algorithm: "argon2id" })}`;
}

function passwdLines(path: string): string[] {
  try {
    return readFileSync(path, "utf8").split("\n").filter(Boolean);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new AutomigrateError(`cannot read the passwd-file: ${(e as Error).message}`, { file: path }, { code: "PROVISIONING" });
  }
}

class PasswdFile implements Provisioner {
  constructor(private readonly path: string) {}

  private entry(user: string): string | undefined {
    const u = user.toLowerCase();
    return passwdLines(this.path).find((l) => l.slice(0, l.indexOf(":")).toLowerCase() === u);
  }

  exists(user: string): boolean {
    return this.entry(user) !== undefined;
  }

  users(): string[] {
    return passwdLines(this.path).map((l) => l.slice(0, l.indexOf(":")).toLowerCase());
  }

  /** Checks the {ARGON2ID} hash this driver wrote; other schemes are left to Dovecot. */
  async verify(user: string, password: string): Promise<boolean | undefined> {
    const hash = this.entry(user)?.split(":")[1] ?? "";
    if (!hash.startsWith("{ARGON2ID}$argon2id$")) return undefined;
    return Bun.password.verify(password, hash.slice("{ARGON2ID}".length));
  }

  /** EACCES/EPERM in the passwd-file's directory: say who must be able to do what. */
  private noAccess(e: unknown, user: string): unknown {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EACCES" && code !== "EPERM") return e;
    const dir = dirname(this.path);
    return new AutomigrateError(`cannot write the passwd-file ${this.path} (${code}): the daemon writes a new file in ${dir} and renames it over the old one`, {
      user,
      file: this.path,
      hint: `give the daemon's user a directory of its own that Dovecot can read, e.g. install -d -o automigrate -g dovecot -m 0750 ${dir}`,
    }, { code: "PROVISIONING" });
  }

  async create(a: NewAccount): Promise<void> {
    if (/[:\n\s]/.test(a.user)) throw new AutomigrateError(`"${a.user}" cannot be written to a passwd-file`, { user: a.user }, { code: "INPUT", exitCode: 2 });
    const hash = a.password ? await hashPassword(a.password) : "{CRYPT}!"; // "!": no password login
    // the settings schema allows neither; checked again where the line is written
    for (const [what, v] of [["quota", a.quota], ["class", a.className]] as const) {
      if (v !== undefined && /[\s:\x00-\x1f\x7f]/.test(v)) throw new AutomigrateError(`the ${what} ${JSON.stringify(v)} cannot be written to a passwd-file (whitespace, ':' or a control character)`, { user: a.user, hint: "fix the domain's class settings (automigrate class set)" }, { code: "CONFIG" });
    }
    const fields = [a.quota ? `userdb_quota_rule=*:storage=${a.quota}` : "", `userdb_automigrate_class=${a.className}`, `userdb_automigrate_tier=${a.tier}`].filter(Boolean).join(" ");
    const line = `${a.user}:${hash}::::::${fields}`;
    let release: () => void;
    try {
      release = acquireLock(`${this.path}.automigrate.lock`, { waitMs: TIMEOUTS.lockWaitMs, what: "the passwd-file" });
    } catch (e) {
      throw this.noAccess(e, a.user);
    }
    try {
      if (this.exists(a.user)) throw new AutomigrateError(`an account ${a.user} exists already in the passwd-file`, { user: a.user, file: this.path }, { code: "ACCOUNT_EXISTS" });
      let mode = 0o640;
      let owner: { uid: number; gid: number } | undefined;
      try {
        const st = statSync(this.path);
        mode = st.mode & 0o777;
        // the file keeps its group (Dovecot's, to read it); its owner becomes the writer
        owner = { uid: process.getuid?.() === 0 ? st.uid : process.getuid!(), gid: st.gid };
      } catch {}
      try {
        writeFileAtomic(this.path, [...passwdLines(this.path), line].join("\n") + "\n", { mode, owner });
      } catch (e) {
        throw this.noAccess(e, a.user);
      }
    } finally {
      release();
    }
  }
}

class CommandDriver implements Provisioner {
  constructor(
    private readonly argv: string[],
    private readonly timeoutSec: number,
  ) {}

  exists(): boolean {
    return false; // the command decides; it refuses a duplicate with a non-zero exit
  }

  users(): string[] {
    return [];
  }

  async verify(): Promise<undefined> {
    return undefined;
  }

  async create(a: NewAccount): Promise<void> {
    const input = JSON.stringify({ user: a.user, domain: a.domain, class: a.className, tier: a.tier, quota: a.quota ?? null, passwordHash: a.password ? await hashPassword(a.password) : null });
    const r = spawnSync(this.argv[0]!, this.argv.slice(1), { input, encoding: "utf8", timeout: this.timeoutSec * 1000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    if (r.error) throw new AutomigrateError(`the provisioning command could not run: ${r.error.message}`, { user: a.user, hint: "check provisioning.command" }, { transient: true, code: "PROVISIONING" });
    if (r.status !== 0) {
      const tail = (r.stderr || "").trim().split("\n").slice(-3).join(" | ");
      throw new AutomigrateError(`the provisioning command refused ${a.user} (exit ${r.status ?? r.signal})${tail ? `: ${tail}` : ""}`, { user: a.user }, { code: "PROVISIONING" });
    }
  }
}

class NoProvisioning implements Provisioner {
  exists(): boolean {
    return false;
  }
  users(): string[] {
    return [];
  }
  async verify(): Promise<undefined> {
    return undefined;
  }
  async create(): Promise<void> {}
}

export function provisionerFor(config: Config): Provisioner {
  const p = config.provisioning;
  if (p.driver === "passwd-file") return new PasswdFile(p.passwdFile!);
  if (p.driver === "command") return new CommandDriver(p.command!, p.timeoutSec);
  return new NoProvisioning();
}
