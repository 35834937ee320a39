// automigrate storage check|import
import type { Command } from "commander";
import { checkStorage } from "../storage/check.ts";
import { importSettings } from "../storage/import-settings.ts";
import { EXIT, err, homeOf, json, out } from "./common.ts";
import { homePaths } from "../home.ts";

export function addStorageCommands(program: Command): void {
  const storage = program.command("storage").description("where the settings live: this host's files, or a PostgreSQL database shared by several nodes");
  storage
    .command("check")
    .description("is the database reachable and its schema current; what it holds; which nodes use it")
    .option("--json", "JSON: { driver, ok, where, node, schema, settings, nodes, vaultKey, error }")
    .addHelpText("after", "\nExit 0 when the storage is usable, 1 when not (the reason is printed).\n\nExample:\n  automigrate storage check --json")
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const r = await checkStorage(homeOf(cmd));
      if (!r.ok) process.exitCode = EXIT.failed;
      if (o.json) return json(r);
      if (r.driver === "files") return out(`storage: files (this host's home): settings in ${r.where}`);
      if (r.error) return err(`storage: postgres ${r.where}: NOT usable [${r.error.code}]\n  ${r.error.message}`);
      out(`storage: postgres ${r.where}, reachable`);
      out(`schema: version ${r.schema?.version} (${r.schema?.version === r.schema?.current ? "current" : `this automigrate knows ${r.schema?.current}`})`);
      out(r.settings?.version ? `settings: version ${r.settings.version}, ${r.settings.domains} domains, last written ${r.settings.updatedAt} by ${r.settings.updatedBy}` : "settings: none yet (automigrate storage import --from <home> copies a home's)");
      out(`this node: ${r.node}`);
      for (const n of r.nodes ?? []) out(`node ${n.name}: ${n.host} pid ${n.pid}, ${n.alive ? "alive" : "no heartbeat"} (last ${n.heartbeatAt})`);
      if (!r.nodes?.length) out("nodes: no daemon registered");
      out(`vault key (${homePaths(homeOf(cmd)).vault}/key): ${r.vaultKey === "right" ? "right (it opens the cluster's vault)" : r.vaultKey === "unset" ? "nothing sealed yet (the first node to use the vault makes its key the cluster's: copy that key to every node)" : "WRONG: it does not open the cluster's vault; copy the key file from a node where this says right"}`);
      out(`still in this home's files: ${r.inFiles?.join(", ")}`);
    });
  storage
    .command("import")
    .description("copy a single-host home's settings, account states, queue, failed jobs, seats and vault into the database (storage.driver postgres)")
    .requiredOption("--from <home>", "the home directory whose config.json is copied (this node's own, or another)")
    .option("--replace", "overwrite settings the database already holds")
    .option("--json", "JSON: { database, from, domains, classes, version, accounts, localAccounts, seats, passwords, jobs, failedJobs, replaced, keptAs, notImported }")
    .addHelpText(
      "after",
      "\nRefused when the database already holds settings, unless --replace. Importing this node's own\nhome leaves its config.json with this node's keys only (storage.*, node.name, logins, sockets,\nmetrics) and keeps the whole file as config.json.before-import.\n\nExample:\n  automigrate config set storage.driver=postgres storage.url=postgres://automigrate@db.example.com/automigrate storage.passwordFile=/etc/automigrate/db.pw\n  automigrate storage import --from /var/lib/automigrate",
    )
    .action(async (o: { from: string; replace?: boolean; json?: boolean }, cmd: Command) => {
      const r = await importSettings(homeOf(cmd), o.from, { replace: o.replace });
      if (o.json) return json(r);
      out(`imported the settings of ${r.from} into ${r.database}: ${r.domains} domains, ${r.classes} classes; settings version ${r.version}${r.replaced ? " (replaced what was there)" : ""}`);
      out(`account states: ${r.accounts} (${r.localAccounts} on the new server added to the routing table); premium seats: ${r.seats}; vault passwords: ${r.passwords}`);
      out(`queue: ${r.jobs} jobs, ${r.failedJobs} failed jobs (stop that home's daemon first: a job it was running is queued again)`);
      if (r.keptAs) out(`config.json now holds this node's keys only; the whole file as it was: ${r.keptAs}`);
      out(`not imported (still in the home's files): ${r.notImported.join(", ")}`);
    });
}
