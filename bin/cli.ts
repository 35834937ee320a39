#!/usr/bin/env bun
// The `automigrate` command (DESIGN.md "CLI contract"). Exit codes: 0 ok, 1 failed,
// 2 bad usage or input, 3 migration partial (some messages skipped or folders failed).
import { Command, CommanderError } from "commander";
import { EXIT, err, homeOf } from "../src/cli/common.ts";
import { becomeHomeOwner } from "../src/home.ts";
import { installBackstop } from "../src/backstop.ts";
import { AutomigrateError, errorText } from "../src/errors.ts";

type AddCommands = (program: Command) => void;

/**
 * The command groups in the order --help lists them, each with the top-level commands it adds.
 * A command's group is loaded (and its modules evaluated) only when that command runs, so
 * `migrate` does not pay for the report writer, LDAP or the storage import: less start-up
 * CPU and memory for every command. test/unit/cli-groups.test.ts checks the names against
 * what each group really adds.
 */
export const COMMAND_GROUPS: readonly { names: readonly string[]; load: () => Promise<AddCommands> }[] = [
  { names: ["config"], load: async () => (await import("../src/cli/config-commands.ts")).addConfigCommands },
  { names: ["domain"], load: async () => (await import("../src/cli/domain-commands.ts")).addDomainCommands },
  { names: ["class"], load: async () => (await import("../src/cli/class-commands.ts")).addClassCommands },
  { names: ["migrate", "verify"], load: async () => (await import("../src/cli/migrate-commands.ts")).addMigrateCommands },
  { names: ["plan"], load: async () => (await import("../src/cli/plan-commands.ts")).addPlanCommands },
  { names: ["test-connection"], load: async () => (await import("../src/cli/test-connection-command.ts")).addTestConnectionCommand },
  { names: ["status"], load: async () => (await import("../src/cli/status-command.ts")).addStatusCommand },
  { names: ["report"], load: async () => (await import("../src/cli/report-command.ts")).addReportCommand },
  { names: ["pause", "resume", "retry", "sweep", "cancel"], load: async () => (await import("../src/cli/queue-commands.ts")).addQueueCommands },
  { names: ["daemon", "tui", "demo"], load: async () => (await import("./process-commands.ts")).addProcessCommands },
  { names: ["checkpassword", "import-users", "license"], load: async () => (await import("../src/cli/account-commands.ts")).addAccountCommands },
  { names: ["routing"], load: async () => (await import("../src/cli/routing-commands.ts")).addRoutingCommands },
  { names: ["storage"], load: async () => (await import("../src/cli/storage-commands.ts")).addStorageCommands },
];

/** The command `argv` names (the first word that is not a global option), if any. */
export function commandOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--home") i++;
    else if (!a.startsWith("-")) return a;
  }
  return undefined;
}

/**
 * The program with the groups `argv` needs: the one holding its command, or every group when
 * there is none (help, a mistyped command: the full list and suggestions).
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command("automigrate")
    .description("Automatic, on-login mailbox migration from an old IMAP server to a new one")
    .option("--home <dir>", "home directory (default $AUTOMIGRATE_HOME, /var/lib/automigrate for root)")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  const name = commandOf(argv);
  const group = COMMAND_GROUPS.find((g) => name !== undefined && g.names.includes(name));
  for (const g of group ? [group] : COMMAND_GROUPS) (await g.load())(program);
  // root working on the daemon's home works as the daemon's user (files stay the daemon's);
  // the demo runs its own servers in a home of its own
  program.hook("preAction", (_root, action) => {
    if (action.name() === "demo" || action.name() === "checkpassword") return;
    // pinned first: after the switch, the default home would be the new user's
    const home = homeOf(action);
    process.env.AUTOMIGRATE_HOME = home;
    becomeHomeOwner(home);
  });
  // every subcommand reports usage errors through main() instead of exiting itself
  const override = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv, { from: "user" });
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return EXIT.ok;
      return EXIT.usage;
    }
    err(`automigrate: ${errorText(e)}`);
    return e instanceof AutomigrateError ? e.exitCode : EXIT.failed;
  }
}

if (import.meta.main) {
  installBackstop();
  // out() and err() write synchronously, so nothing is left to drain when the process exits
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
