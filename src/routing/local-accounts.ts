// Which users already have their account on the new server, for the routing table: an
// account automigrate created (first login, import), one a migration has reached, one the
// daemon saw log in to the new server, or one in the provisioner's own list. Read from
// the state files on every miss, so an account created by the checkpassword helper (another
// process) is routed locally from its next lookup on; a user once local stays local.
import { canonicalUser } from "../address.ts";
import { statSync } from "node:fs";
import { join } from "node:path";
import { provisionerFor } from "../accounts/provision.ts";
import type { Config } from "../config/schema.ts";
import { homePaths } from "../home.ts";
import { accountFileName, knownAccountUsers } from "../store/account-state.ts";
import { readJsonFile } from "../store/json-file.ts";

/**
 * From an account's state document: does the account exist on the new server? Only what
 * proves it: automigrate created it, or a migration reached it (a folder was written there,
 * or a run ended done or partial). A failed run or a queued job proves nothing: "migrate" of
 * a typo'd address or of a user who exists only on the old server must not route that
 * user's mail to the new server, where it would bounce. Pure.
 */
export function onNewServer(state: unknown): boolean {
  if (!state || typeof state !== "object") return false;
  const s = state as { account?: unknown; routedLocalAt?: unknown; lastRun?: { status?: string }; folders?: Record<string, unknown> };
  return Boolean(s.account) || Boolean(s.routedLocalAt) || s.lastRun?.status === "done" || s.lastRun?.status === "partial" || Object.keys(s.folders ?? {}).length > 0;
}

export class LocalAccounts {
  private readonly known = new Set<string>();
  /** The provisioner's own list (a passwd-file's users), re-read when the file changes. */
  private provisioned?: { stamp: string; users: Set<string> };

  constructor(
    private readonly home: string,
    private readonly config: () => Config,
    /** The daemon adds its own knowledge (a user with a job logged in to the new server). */
    private readonly alsoLocal: (user: string) => boolean = () => false,
  ) {}

  has(user: string): boolean {
    const u = canonicalUser(user);
    if (this.known.has(u)) return true;
    const local = this.alsoLocal(u) || onNewServer(readJsonFile(join(homePaths(this.home).accounts, accountFileName(u)))) || this.provisionedUsers().has(u);
    if (local) this.known.add(u);
    return local;
  }

  private provisionedUsers(): Set<string> {
    const config = this.config();
    const p = config.provisioning;
    let stamp: string = p.driver;
    if (p.driver === "passwd-file") {
      try {
        const st = statSync(p.passwdFile!);
        stamp = `${p.passwdFile}:${st.size}:${st.mtimeMs}`;
      } catch {
        stamp = `${p.passwdFile}:absent`;
      }
    }
    if (this.provisioned?.stamp !== stamp) this.provisioned = { stamp, users: new Set(provisionerFor(config).users()) };
    return this.provisioned.users;
  }

  /** Every local account (for `routing export`). */
  all(): string[] {
    return [...new Set([...knownAccountUsers(this.home).filter((u) => this.has(u)), ...this.provisionedUsers()])];
  }

  /** The provisioner's own list of accounts (a passwd-file's users; re-read only when the file changed). */
  provisionedList(): string[] {
    return [...this.provisionedUsers()];
  }
}
