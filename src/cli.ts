#!/usr/bin/env bun
// The `automigrate` command (DESIGN.md "CLI contract"). Exit codes: 0 ok, 1 failed,
// 2 bad usage or input, 3 migration partial (some messages skipped or folders failed).
import { Command, CommanderError } from "commander";
import { addAccountCommands } from "./cli/account-commands.ts";
import { addClassCommands } from "./cli/class-commands.ts";
import { EXIT } from "./cli/common.ts";
import { addConfigCommands } from "./cli/config-commands.ts";
import { addDaemonCommands } from "./cli/daemon-commands.ts";
import { addDomainCommands } from "./cli/domain-commands.ts";
import { addMigrateCommands } from "./cli/migrate-commands.ts";
import { addRoutingCommands } from "./cli/routing-commands.ts";
import { addTestConnectionCommand } from "./cli/test-connection-command.ts";
import { AutomigrateError, errorText } from "./errors.ts";

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
  addTestConnectionCommand(program);
  addDaemonCommands(program);
  addAccountCommands(program);
  addRoutingCommands(program);
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
    process.stderr.write(`automigrate: ${errorText(e)}\n`);
    return e instanceof AutomigrateError ? e.exitCode : EXIT.failed;
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
