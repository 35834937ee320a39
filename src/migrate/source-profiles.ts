// What kind of server the old one is, as data: the folders it lists that are not mail (or
// not mail of their own), the names of its role folders when it does not mark them, and its
// limits. A profile is a table, not a code path: the planner and the engine read it.
// Names are matched on the folder's path below the personal namespace, levels joined by "/",
// case-insensitively, with "*" and "?" globs (as migration.folders.exclude).
import type { DomainSettings } from "../config/schema.ts";
import { AutomigrateError } from "../errors.ts";
import type { FolderOptions, SpecialUseRole } from "./folder-plan.ts";

export const PROFILE_NAMES = ["generic", "exchange", "gmail"] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export interface SourceProfile {
  /** Folders not copied because of their special-use flag (RFC 6154/8457): virtual views of mail held elsewhere. */
  skipSpecialUse: string[];
  /** Folders not copied by name, when the server marks nothing (non-mail folders, views). */
  skipNames: string[];
  /** The names of a folder that holds every message again (as \All), when the server marks nothing; copied with includeAll. */
  allMailNames?: string[];
  /** Role folders by name, for a server that does not mark them. */
  roleNames: Record<string, SpecialUseRole>;
  /** Connections to the old server per mailbox at most (the copy's parallel folders are cut to fit). */
  maxConnectionsPerUser?: number;
  /** Bytes a user may download per day (the provider's documented IMAP limit). */
  dailyDownloadBytes?: number;
  /**
   * The server's words for "busy, try later" where it gives no code (matched in its answer,
   * case-insensitively): such a failure is temporary (SERVER_BUSY), never final.
   */
  busyAnswers?: string[];
}

const MB = 1024 * 1024;
/** Gmail's localised root ("[Google Mail]" in the UK and Germany). */
const gmailRoots = ["[Gmail]", "[Google Mail]"];
const gmail = (names: string[]) => gmailRoots.flatMap((r) => names.map((n) => `${r}/${n}`));
const andChildren = (names: string[]) => names.flatMap((n) => [n, `${n}/*`]);

export const SOURCE_PROFILES: Record<ProfileName, SourceProfile> = {
  generic: {
    // a \All folder (Dovecot's virtual plugin, any server's "all mail" view) repeats every message
    skipSpecialUse: ["\\All"],
    skipNames: [],
    roleNames: {},
  },
  gmail: {
    // All Mail holds every message again; Important and Starred are views of messages held in their labels
    skipSpecialUse: ["\\All", "\\Important", "\\Flagged"],
    skipNames: gmail(["Important", "Starred"]),
    allMailNames: gmail(["All Mail"]),
    roleNames: Object.fromEntries(gmailRoots.flatMap((r) => [
      [`${r}/Sent Mail`, "\\Sent"],
      [`${r}/Drafts`, "\\Drafts"],
      [`${r}/Spam`, "\\Junk"],
      [`${r}/Trash`, "\\Trash"],
      [`${r}/Bin`, "\\Trash"],
    ])) as Record<string, SpecialUseRole>,
    // Google: 2,500 MB of IMAP downloads per user per day
    dailyDownloadBytes: 2500 * MB,
  },
  exchange: {
    skipSpecialUse: ["\\All"],
    // Exchange lists its non-mail folders over IMAP too
    skipNames: andChildren(["Calendar", "Contacts", "Tasks", "Notes", "Journal", "Conversation History", "Sync Issues", "RSS Feeds", "Outbox"]),
    roleNames: { "Sent Items": "\\Sent", "Deleted Items": "\\Trash", "Junk Email": "\\Junk", "Junk E-mail": "\\Junk", Drafts: "\\Drafts", Archive: "\\Archive" },
    // Exchange Online throttles per mailbox: two connections is what it takes without complaint
    maxConnectionsPerUser: 2,
    busyAnswers: ["Server Unavailable", "User is authenticated but not connected", "Request is throttled", "Command Error. 12"],
  },
};

/** Connections to the old server one mailbox's copy may hold: the setting, else the profile's limit, else the parallel folders. */
export function oldConnectionsPerUser(d: DomainSettings): number {
  const cap = d.migration.old.maxConnectionsPerUser ?? SOURCE_PROFILES[d.migration.old.profile].maxConnectionsPerUser ?? d.migration.parallelFolders;
  return Math.max(1, Math.min(d.migration.parallelFolders, cap));
}

/** A user's daily download allowance from the old server in bytes: the setting, else the profile's; undefined for none. */
export function dailyDownloadBytes(d: DomainSettings): number | undefined {
  const mb = d.migration.old.dailyDownloadMB;
  return mb !== undefined ? mb * 1024 * 1024 : SOURCE_PROFILES[d.migration.old.profile].dailyDownloadBytes;
}

/** A domain's folder options for the planner: its folder settings and its old server's profile. */
export function folderOptionsOf(d: DomainSettings): FolderOptions {
  return { ...d.migration.folders, profile: SOURCE_PROFILES[d.migration.old.profile] };
}

/**
 * A failure the old server's profile knows as "busy, try later" (its own words, listed in the
 * profile's table), as a temporary SERVER_BUSY; any other error as it was.
 */
export function busyByProfile(profile: SourceProfile, e: AutomigrateError): AutomigrateError {
  if (e.code === "SERVER_BUSY" || !profile.busyAnswers?.length) return e;
  const said = e.message.toLowerCase();
  const hit = profile.busyAnswers.find((w) => said.includes(w.toLowerCase()));
  if (!hit) return e;
  return new AutomigrateError(e.message, { ...e.context, hint: `the old server is busy or throttling ("${hit}"): the migration is retried later` }, { code: "SERVER_BUSY", transient: true, cause: e });
}
