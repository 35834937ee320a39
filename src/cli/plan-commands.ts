// automigrate plan reset <user> [--folder F]... [--force]
import type { Command } from "commander";
import { printable, quotedName } from "../text.ts";
import { EXIT, homeOf, json, out } from "./common.ts";

export function addPlanCommands(program: Command): void {
  const plan = program.command("plan").description("a user's folder plan (which old folder goes to which new one)");
  plan
    .command("reset")
    .description("let the next run plan a user's folders again with today's settings (after fixing a rename rule or a name the new server refused)")
    .argument("<user@domain>")
    .option("--folder <old folder>", "only this old folder (repeat for several)", (v: string, all: string[] = []) => [...all, v])
    .option("--force", "also folders that hold copied messages (their next run copies them again into the new target; the copies already made stay where they are)")
    .option("--json", "JSON: { user, reset, kept, unknown }")
    .addHelpText(
      "after",
      `
The plan is written before any folder is created and kept by every later run, whatever the
servers list by then; only this command changes it. A folder that already holds copied
messages is kept unless --force is given.

Examples:
  automigrate plan reset alice@example.com --folder "INBOX.Bad Name"
  automigrate plan reset alice@example.com

Exit status: 0 something was reset, 1 nothing was (kept or unknown), 2 bad usage.`,
    )
    .action(async (user: string, o: { folder?: string[]; force?: boolean; json?: boolean }, cmd: Command) => {
      const { resetPlan } = await import("../migrate/plan-reset.ts");
      const r = await resetPlan(homeOf(cmd), user, { folders: o.folder, force: o.force });
      if (o.json) json(r);
      else {
        for (const e of r.reset) out(printable(`${r.user}: ${quotedName(e.folder)} (planned as ${quotedName(e.target)}${e.copied ? `, ${e.copied} messages copied there, which stay` : ""}): taken out of the plan; the next run plans it again`));
        for (const e of r.kept) out(printable(`${r.user}: ${quotedName(e.folder)} kept: ${e.copied} messages are copied to ${quotedName(e.target)} (--force resets it; its next run copies them again into the new target)`));
        for (const f of r.unknown) out(printable(`${r.user}: ${quotedName(f)} is not in the plan (automigrate status ${r.user} lists its folders)`));
        if (!r.reset.length && !r.kept.length && !r.unknown.length) out(`${r.user}: no plan yet: nothing to reset`);
      }
      process.exitCode = r.reset.length ? EXIT.ok : EXIT.failed;
    });
}
