// automigrate config set|get
import type { Command } from "commander";
import { getPath, parseAssignment } from "../config/dotted.ts";
import { configSchema } from "../config/schema.ts";
import { loadConfig } from "../config/store.ts";
import { changeGlobals } from "../config/change.ts";
import { inputError } from "../errors.ts";
import { changeLines, renderSettings, settingsOf } from "../config/settings-help.ts";
import { homeOf, json, out, redact } from "./common.ts";

export function addConfigCommands(program: Command): void {
  const config = program.command("config").description("global settings: target server, log sources, workers, licence, ...");
  config
    .command("set")
    .description("set global settings with dotted keys (domains have `automigrate domain set`)")
    .argument("<key=value...>", "assignments")
    .addHelpText(
      "after",
      `\nExamples:\n  automigrate config set target.host=mail.new.example target.port=143 target.tls=starttls\n  automigrate config set target.auth.mode=master target.auth.user=admin target.auth.passwordFile=/etc/automigrate/new-master.pw\n  automigrate config set logins.0.path=/var/log/dovecot.log logins.0.format=dovecot license.premiumSeats=50\n\nEach change is printed as "key: before → after".\n\n${renderSettings("Settings (key=value; lists and objects as JSON; <n> is 0, 1, ...):", settingsOf(configSchema, "", ["domains", "version"]))}`,
    )
    .action(async (pairs: string[], _o, cmd: Command) => {
      const changes = await changeGlobals(homeOf(cmd), pairs.map(parseAssignment));
      out(changes.length ? changeLines(changes).join("\n") : "nothing changed (the settings already had these values)");
    });
  config
    .command("get")
    .description("print the global settings, or one dotted key, as JSON (secrets left out)")
    .argument("[key]", "dotted key, e.g. target.host")
    .option("--json", "JSON output (the default for this command)")
    .addHelpText("after", "\nExamples:\n  automigrate config get\n  automigrate config get target.port")
    .action(async (key: string | undefined, _o, cmd: Command) => {
      const { domains: _d, ...globals } = await loadConfig(homeOf(cmd));
      const value = key ? getPath(globals, parseAssignment(`${key}=`).path) : globals;
      if (value === undefined) throw inputError(`${key}: no such setting`);
      json(redact(value));
    });
}
