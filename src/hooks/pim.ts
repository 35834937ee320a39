// The external application run per user after the mail (events, contacts, tasks, notes...).
// Contract:
//   argv      migration.pim.command with {user}, {domain}, {localpart} replaced
//   env       AUTOMIGRATE_USER, _DOMAIN, _LOCALPART, _OLD_HOST, _OLD_IMAP_PORT,
//             _OLD_SMTP_HOST, _OLD_SMTP_PORT, _CLASS, _TIER, _HOME (the working directory),
//             PATH; never a password
//   stdin     the user's password and a newline when one is known (captured or imported),
//             otherwise nothing
//   cwd       a directory of its own per user (0700) under the home directory
//   timeout   migration.pim.timeoutSec, then the whole process group is killed
//   result    exit 0 = done; anything else = failed, with the last lines of stderr
import { AutomigrateError } from "../errors.ts";
import { runProgram, type ProgramResult } from "./run-program.ts";
import { join } from "node:path";
import { splitUser } from "../address.ts";
import { oldSmtpHost } from "../config/rules.ts";
import type { Config } from "../config/schema.ts";
import { oldEndpoint } from "../mailstore/endpoints.ts";
import { homePaths } from "../home.ts";
import { accountFileName } from "../store/account-state.ts";
import { ensureDir } from "../store/json-file.ts";

export type PimResult = ProgramResult;

export interface PimRun {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
}

/** What would be run for `user` (pure but for the working directory's path). */
export function pimRun(home: string, config: Config, user: string, account?: { className: string; tier: string }): PimRun | undefined {
  const { local, domain } = splitUser(user);
  const d = config.domains[domain];
  const pim = d?.migration.pim;
  if (!d || !pim || pim.mode !== "command" || !pim.command) return undefined;
  const fill = (a: string) => a.replaceAll("{user}", user).replaceAll("{domain}", domain).replaceAll("{localpart}", local);
  const o = d.migration.old;
  const cwd = join(homePaths(home).state, "pim", accountFileName(user).replace(/\.json$/, ""));
  const argv = pim.command.map(fill);
  // "-x@example.com" is a valid address: filled into an argument of its own it would reach the
  // program as an option, unless a "--" comes first
  const endOfOptions = argv.indexOf("--");
  argv.forEach((a, i) => {
    if (i > 0 && a.startsWith("-") && !pim.command![i]!.startsWith("-") && (endOfOptions < 0 || i < endOfOptions))
      throw new AutomigrateError(`the PIM command would get ${JSON.stringify(a)} as an option`, { user, hint: 'put "--" before the {user} argument in migration.pim.command, e.g. ["/usr/local/bin/migrate-pim","--","{user}"]' }, { code: "CONFIG" });
  });
  return {
    argv,
    cwd,
    timeoutMs: pim.timeoutSec * 1000,
    env: {
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      AUTOMIGRATE_USER: user,
      AUTOMIGRATE_DOMAIN: domain,
      AUTOMIGRATE_LOCALPART: local,
      AUTOMIGRATE_OLD_HOST: o.host ?? "",
      AUTOMIGRATE_OLD_IMAP_PORT: String(oldEndpoint(o).port),
      AUTOMIGRATE_OLD_SMTP_HOST: oldSmtpHost(d) ?? "",
      AUTOMIGRATE_OLD_SMTP_PORT: String(o.smtpPort),
      AUTOMIGRATE_CLASS: account?.className ?? d.migration.accountClass,
      AUTOMIGRATE_TIER: account?.tier ?? "",
      AUTOMIGRATE_HOME: cwd,
    },
  };
}

export function runPim(run: PimRun, password: string | undefined): Promise<PimResult> {
  ensureDir(run.cwd);
  return runProgram(run, password !== undefined ? `${password}\n` : "");
}
