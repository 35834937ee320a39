// The commands that are processes of their own rather than actions of the core: the daemon,
// the console and the demo. They live beside the entry point, outside src/ (src/ imports
// neither daemon/ nor tui/), and load their modules only when run.
import type { Command } from "commander";
import { homeOf } from "../src/cli/common.ts";

export function addProcessCommands(program: Command): void {
  program
    .command("daemon")
    .description("run the headless daemon in the foreground: tails login logs, migrates on login (JSON logs to stdout)")
    .addHelpText("after", "\nExample:\n  automigrate --home /var/lib/automigrate daemon\n\nSignals: SIGTERM/SIGINT stop at a safe point and exit 0; SIGHUP reloads config.json.")
    .action(async (_o, cmd: Command) => {
      const { runDaemon } = await import("../daemon/main.ts");
      process.exitCode = await runDaemon(homeOf(cmd));
    });

  program
    .command("tui")
    .description("the full-screen admin console: domains, settings, classes, the live migration queue")
    .addHelpText("after", "\nExample:\n  automigrate --home /var/lib/automigrate tui\n\nKeys are shown at the bottom of every screen; ? for help, q to quit. Works at 80x24 without a mouse.")
    .action(async (_o, cmd: Command) => {
      const { runTui } = await import("../tui/app.ts");
      process.exitCode = await runTui(homeOf(cmd));
    });

  program
    .command("demo")
    .description("a self-contained tour: local old and new Dovecot, generated users, the daemon, the console; cleans up on quit")
    .addHelpText("after", "\nExample:\n  npm start -- demo\n\nNeeds Dovecot (apt-get install -y dovecot-imapd). Users log in every 3 seconds; press Tab for the queue, q to quit.")
    .action(async () => {
      const { runDemo } = await import("../tui/demo.ts");
      process.exitCode = await runDemo();
    });
}
