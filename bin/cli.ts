#!/usr/bin/env bun
// The `automigrate` command (DESIGN.md "CLI contract"). Exit codes: 0 ok, 1 failed,
// 2 bad usage or input, 3 migration partial (some messages skipped or folders failed).
import { Command, CommanderError } from "commander";
import { addAccountCommands } from "../src/cli/account-commands.ts";
import { addClassCommands } from "../src/cli/class-commands.ts";
import { EXIT, err, homeOf } from "../src/cli/common.ts";
import { becomeHomeOwner } from "../src/home.ts";
import { addConfigCommands } from "../src/cli/config-commands.ts";
import { addStatusCommand } from "../src/cli/status-command.ts";
import { addReportCommand } from "../src/cli/report-command.ts";
import { addQueueCommands } from "../src/cli/queue-commands.ts";
import { addProcessCommands } from "./process-commands.ts";
import { addDomainCommands } from "../src/cli/domain-commands.ts";
import { addMigrateCommands } from "../src/cli/migrate-commands.ts";
import { addPlanCommands } from "../src/cli/plan-commands.ts";
import { addRoutingCommands } from "../src/cli/routing-commands.ts";
import { addTestConnectionCommand } from "../src/cli/test-connection-command.ts";
import { addStorageCommands } from "../src/cli/storage-commands.ts";
import { installBackstop } from "../src/backstop.ts";
import { AutomigrateError, errorText } from "../src/errors.ts";

export function buildProgram(): Command {
  const program = new Command("automigrate")
    .description("Automatic, on-login mailbox migration from an old IMAP server to a new one")
    .option("--home <dir>", "home directory (default $AUTOMIGRATE_HOME, /var/lib/automigrate for root)")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  addConfigCommands(program);
  addDomainCommands(program);
  addClassCommands(program);
  addMigrateCommands(program);
  addPlanCommands(program);
  addTestConnectionCommand(program);
  addStatusCommand(program);
  addReportCommand(program);
  addQueueCommands(program);
  addProcessCommands(program);
  addAccountCommands(program);
  addRoutingCommands(program);
  addStorageCommands(program);
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
  const program = buildProgram();
  try {
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
