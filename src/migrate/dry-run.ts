// `migrate <user> --dry-run`: what a migration would do, without doing any of it. Logs in to
// both servers, lists, plans and counts (EXAMINE and sizes: nothing changes on the old
// server), and writes nothing: no folder, no message, no state, no lock. A plan an earlier
// run persisted is shown as such (it stands), the rest as what this run would decide.
import { canonicalUser } from "../address.ts";
import type { Config } from "../config/schema.ts";
import { AutomigrateError, errorText } from "../errors.ts";
import { domainOf } from "../mailstore/endpoints.ts";
import type { FolderReader, Layout, MailOpener, StoreFolder } from "../mailstore/port.ts";
import { accountStatesOf } from "../storage/account-states.ts";
import { planFolders, type RenameReason, type SkippedFolder } from "./folder-plan.ts";
import { noOldMailbox, pinnedPlan } from "./migrate-user.ts";
import { folderOptionsOf } from "./source-profiles.ts";

export interface DryRunFolder {
  old: string;
  new: string;
  messages: number;
  bytes: number;
  /** Why the new name differs from the old one, if it does. */
  renamed?: RenameReason;
  /** persisted: planned by an earlier run (it stands); new: what this run would decide. */
  plan: "persisted" | "new";
}

export interface DryRunSkipped extends SkippedFolder {
  messages: number;
  bytes: number;
}

export interface DryRun {
  user: string;
  dryRun: true;
  profile: string;
  /** How the new server's folder names were known: listed (logged in), or assumed (why not). */
  newServer: { listed: true } | { listed: false; reason: string };
  folders: DryRunFolder[];
  skipped: DryRunSkipped[];
  totals: { folders: number; messages: number; bytes: number };
}

/** The new server's layout when it cannot be listed yet (an account not created there): the common one. */
const ASSUMED_LAYOUT: Layout = { prefix: "", delimiter: "/" };

async function count(reader: FolderReader, path: string): Promise<{ messages: number; bytes: number }> {
  const opened = await reader.examine(path);
  if (opened.exists === 0) return { messages: 0, bytes: 0 };
  let messages = 0;
  let bytes = 0;
  for await (const m of reader.metadata("1:*")) {
    messages++;
    bytes += m.size;
  }
  return { messages, bytes };
}

export async function dryRun(opts: { home: string; config: Config; user: string; opener: MailOpener }): Promise<DryRun> {
  const user = canonicalUser(opts.user);
  const domain = domainOf(opts.config, user);
  const state = await accountStatesOf(opts.home).read(user);
  const old = await opts.opener.old();
  let oldFolders: StoreFolder[];
  let oldLayout: Layout;
  try {
    oldFolders = await old.list();
    oldLayout = old.layout;
  } finally {
    await old.close();
  }
  if (!oldFolders.some((f) => f.path.toUpperCase() === "INBOX")) throw noOldMailbox(user);

  let newServer: DryRun["newServer"] = { listed: true };
  let targetLayout = ASSUMED_LAYOUT;
  let targetFolders: StoreFolder[] = [];
  try {
    const target = await opts.opener.target();
    try {
      targetFolders = await target.list();
      targetLayout = target.layout;
    } finally {
      await target.close();
    }
  } catch (e) {
    // an account not created on the new server yet: plan against the common layout, and say so
    if (!(e instanceof AutomigrateError) || (e.code !== "LOGIN_REFUSED" && e.code !== "NO_MAILBOX")) throw e;
    newServer = { listed: false, reason: `${errorText(e).split("\n")[0]}; new names assume "/" and no namespace prefix` };
  }

  const plan = planFolders(oldFolders, oldLayout, targetLayout, targetFolders, folderOptionsOf(domain), state ? pinnedPlan(state) : {});
  const reader = await opts.opener.oldReader();
  const folders: DryRunFolder[] = [];
  const skipped: DryRunSkipped[] = [];
  try {
    for (const f of plan.folders) {
      if (!f.selectable) continue;
      const renamed = plan.renamed.find((r) => r.from === f.old)?.reason;
      folders.push({ old: f.old, new: f.target, ...(await count(reader, f.old)), ...(renamed ? { renamed } : {}), plan: state && Object.hasOwn(state.plan, f.old) ? "persisted" : "new" });
    }
    const noselect = new Set(oldFolders.filter((f) => f.flags.some((x) => /^\\(noselect|nonexistent)$/i.test(x))).map((f) => f.path));
    for (const s of plan.skipped) skipped.push({ ...s, ...(noselect.has(s.old) ? { messages: 0, bytes: 0 } : await count(reader, s.old)) });
  } finally {
    await reader.close();
  }
  const totals = { folders: folders.length, messages: folders.reduce((n, f) => n + f.messages, 0), bytes: folders.reduce((n, f) => n + f.bytes, 0) };
  return { user, dryRun: true, profile: domain.migration.old.profile, newServer, folders, skipped, totals };
}
