// Which users already have their account on the new server, for the routing table: an
// account automigrate created (first login, import), one whose migration has begun (the
// daemon saw it log in to the new server), or one in the provisioner's own list. Read from
// the state files on every miss, so an account created by the checkpassword helper (another
// process) is routed locally from its next lookup on; a user once local stays local.
import { statSync } from "node:fs";
import { join } from "node:path";
import { provisionerFor } from "../accounts/provision.ts";
import type { Config } from "../config/schema.ts";
import { homePaths } from "../home.ts";
import { accountFileName, knownAccountUsers } from "../store/account-state.ts";
import { readJsonFile } from "../store/json-file.ts";

/** From an account's state document: does the account exist on the new server? Pure. */
export function onNewServer(state: unknown): boolean {
  if (!state || typeof state !== "object") return false;
  const s = state as { account?: unknown; runs?: number; lastRun?: unknown; folders?: Record<string, unknown> };
  return Boolean(s.account) || (s.runs ?? 0) > 0 || Boolean(s.lastRun) || Object.keys(s.folders ?? {}).length > 0;
}

export class LocalAccounts {
  private readonly known = new Set<string>();
  /** The provisioner's passwd-file users, re-read when the file changes (size or mtime). */
  private passwd?: { stamp: string; users: Set<string> };

  constructor(
    private readonly home: string,
    private readonly config: () => Config,
    /** The daemon adds its own knowledge (a user with a job logged in to the new server). */
    private readonly alsoLocal: (user: string) => boolean = () => false,
  ) {}

  has(user: string): boolean {
    const u = user.toLowerCase();
    if (this.known.has(u)) return true;
    const local = this.alsoLocal(u) || onNewServer(readJsonFile(join(homePaths(this.home).accounts, accountFileName(u)))) || this.provisioned(u);
    if (local) this.known.add(u);
    return local;
  }

  private provisioned(user: string): boolean {
    const config = this.config();
    const file = config.provisioning.driver === "passwd-file" ? config.provisioning.passwdFile : undefined;
    if (!file) return provisionerFor(config).exists(user);
    let stamp = "absent";
    try {
      const st = statSync(file);
      stamp = `${file}:${st.size}:${st.mtimeMs}`;
    } catch {}
    if (this.passwd?.stamp !== stamp) this.passwd = { stamp, users: new Set(provisionerFor(config).users()) };
    return this.passwd.users.has(user);
  }

  /** Every local account (for `routing export`). */
  all(): string[] {
    const fromState = knownAccountUsers(this.home).filter((u) => this.has(u));
    return [...new Set([...fromState, ...provisionerFor(this.config()).users()])];
  }
}
