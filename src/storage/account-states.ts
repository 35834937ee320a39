// The storage port for account state: each user's state document (per-folder watermarks,
// plan, intents, skipped messages, history), the list of known users, and the exclusive
// per-user run lock. The engine, the daemon, the CLI and the console reach account state
// only through it. The files driver is this host's home (src/store/account-state.ts); the
// postgres driver (cluster mode) is src/storage/postgres/account-states.ts.
import { loadLocalConfig, usesDatabase } from "../config/store.ts";
import { databaseOf } from "./open.ts";
import { DatabaseAccountStates } from "./postgres/account-states.ts";
import { AccountStateStore, knownAccountUsers, lockAccount, readAccountState, type AccountState, type FolderState } from "../store/account-state.ts";

/** One user's state document, open for changes. */
export interface AccountDocument {
  readonly data: AccountState;
  folder(old: string): FolderState | undefined;
  /** Applies a change and persists it durably; changes are serialised in call order. */
  update(change: (s: AccountState) => void): Promise<void>;
  updateFolder(old: string, change: (f: FolderState) => void): Promise<void>;
  /** Lets the document go (its lock, its connection). */
  close(): void;
}

export interface AccountStates {
  /** The user's document, created empty when there is none. */
  open(user: string): Promise<AccountDocument>;
  /** A reader's snapshot of the user's state; null when there is none or it cannot be read as one. */
  read(user: string): Promise<AccountState | null>;
  /** Every user with a state document. */
  users(): Promise<string[]>;
  /** Every user with a state document and its state (null: it does not read as one), once each, in slices (never all in memory at once). */
  forEach(visit: (user: string, state: AccountState | null) => Promise<void> | void): Promise<void>;
  /** The user's exclusive run lock (LOCKED when another run holds it); resolves to its release. */
  lockRun(user: string): Promise<() => Promise<void>>;
}

class FileAccountStates implements AccountStates {
  constructor(private readonly home: string) {}
  open(user: string): Promise<AccountDocument> {
    return AccountStateStore.open(this.home, user);
  }
  async read(user: string): Promise<AccountState | null> {
    return readAccountState(this.home, user);
  }
  async users(): Promise<string[]> {
    return knownAccountUsers(this.home);
  }
  async forEach(visit: (user: string, state: AccountState | null) => Promise<void> | void): Promise<void> {
    for (const user of knownAccountUsers(this.home)) await visit(user, readAccountState(this.home, user));
  }
  async lockRun(user: string): Promise<() => Promise<void>> {
    const release = lockAccount(this.home, user);
    return async () => release();
  }
}

/** The account states of a home, where its storage setting keeps them (the setting is read at the first use). */
export function accountStatesOf(home: string): AccountStates {
  let chosen: AccountStates | undefined;
  const driver = (): AccountStates => {
    if (chosen) return chosen;
    const local = loadLocalConfig(home);
    chosen = usesDatabase(local) ? new DatabaseAccountStates(() => databaseOf(home, local)) : new FileAccountStates(home);
    return chosen;
  };
  return {
    open: (user) => driver().open(user),
    read: (user) => driver().read(user),
    users: () => driver().users(),
    forEach: (visit) => driver().forEach(visit),
    lockRun: (user) => driver().lockRun(user),
  };
}
