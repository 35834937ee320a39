// automigrate checkpassword <reply-program> | import-users <file.csv> | license
import { spawnSync } from "node:child_process";
import { readFileSync, readSync } from "node:fs";
import type { Command } from "commander";
import { loadConfig } from "../config/store.ts";
import { errorText, inputError } from "../errors.ts";
import { EXIT, err, homeOf, json, out } from "./common.ts";

/** checkpassword's input on fd 3: user\0password\0timestamp\0 (at most 512 bytes). */
function readFd3(): { user: string; password: string } | undefined {
  const buf = Buffer.alloc(513);
  let n = 0;
  try {
    for (;;) {
      const r = readSync(3, buf, n, buf.length - n, null);
      if (r <= 0) break;
      n += r;
      if (n >= 512) break;
    }
  } catch {
    return undefined;
  }
  const parts = buf.subarray(0, n).toString("utf8").split("\0");
  if (parts.length < 2 || !parts[0]) return undefined;
  return { user: parts[0], password: parts[1] ?? "" };
}

export function addAccountCommands(program: Command): void {
  program
    .command("checkpassword")
    .description("Dovecot checkpassword helper: a first login checked on the OLD server (or in LDAP, ldap.authCreate) creates the account and queues its migration")
    .argument("<reply-program>", "what Dovecot passes (checkpassword-reply), run on success")
    .argument("[args...]")
    .addHelpText(
      "after",
      `
Dovecot (after the passwd-file passdb of existing accounts):
  passdb {
    driver = checkpassword
    args = /usr/local/bin/automigrate-checkpassword     # exec automigrate --home ... checkpassword "$@"
  }

Example: by hand, as Dovecot calls it (the password goes on fd 3):
  printf 'alice@example.com\\0old-password\\0' | automigrate checkpassword /bin/true 3<&0

Exit status (the checkpassword protocol): 1 wrong credentials, no LDAP entry or not creatable,
111 temporary failure (old server or LDAP unreachable, TLS refused), otherwise the reply
program's. The password comes on fd 3
only and is never logged, stored in clear, or passed on.`,
    )
    .action(async (reply: string, args: string[], _o, cmd: Command) => {
      const input = readFd3();
      if (!input) {
        err("automigrate checkpassword: no user/password on fd 3 (is this run by Dovecot?)");
        process.exitCode = 2;
        return;
      }
      const home = homeOf(cmd);
      let outcome;
      try {
        const { firstLogin, masterLookup } = await import("../accounts/first-login.ts");
        // A master-user login (MASTER_USER set): Dovecot has checked the master password and
        // passes it on fd 3. It is only a lookup of the user; that password is never used.
        outcome = process.env.MASTER_USER ? await masterLookup(home, loadConfig(home), input.user) : await firstLogin(home, loadConfig(home), input.user, input.password);
      } catch (e) {
        outcome = { outcome: "tempfail" as const, reason: errorText(e) };
      }
      if (outcome.outcome === "reject") {
        err(`automigrate checkpassword: ${input.user}: refused: ${outcome.reason}`);
        process.exitCode = 1;
        return;
      }
      if (outcome.outcome === "tempfail") {
        err(`automigrate checkpassword: ${input.user}: temporary failure: ${outcome.reason}`);
        process.exitCode = 111;
        return;
      }
      // success: run the reply program with the user, on Dovecot's fd 4
      const env: Record<string, string> = { ...(process.env as Record<string, string>), USER: input.user };
      const r = spawnSync(reply, args, { stdio: ["inherit", "inherit", "inherit", "ignore", 4], env });
      process.exitCode = r.status ?? 111;
    });

  program
    .command("import-users")
    .description("pre-create accounts and queue their migration from a CSV file (user;password or user)")
    .argument("<file.csv>")
    .option("--json", "JSON: [{ line, user, result, reason?, tier? }]")
    .addHelpText(
      "after",
      `
Lines: "user@domain;password" creates the account with that password (and keeps it in the
vault when the domain's credentials mode is csv); "user@domain" alone queues a migration of
an existing account (master mode). Empty lines and lines starting with # are skipped.

Example:
  automigrate import-users staff.csv`,
    )
    .action(async (file: string, o: { json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const config = loadConfig(home);
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (e) {
        throw inputError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const { createAccount, requestMigration } = await import("../accounts/first-login.ts");
      const { migratableUser } = await import("../config/rules.ts");
      const rows: { line: number; user: string; result: "created" | "queued" | "refused"; reason?: string; tier?: string }[] = [];
      for (const [i, raw] of text.split(/\r?\n/).entries()) {
        const line = raw.trim();
        if (!line || line.startsWith("#")) continue;
        const sep = line.indexOf(";");
        const user = (sep < 0 ? line : line.slice(0, sep)).trim().toLowerCase();
        const password = sep < 0 ? undefined : line.slice(sep + 1);
        const m = migratableUser(config, user);
        if (!m.ok) {
          rows.push({ line: i + 1, user, result: "refused", reason: m.reason });
          continue;
        }
        try {
          if (password !== undefined) {
            if (!password) throw inputError("empty password");
            const created = await createAccount(home, config, user, password, "import");
            rows.push({ line: i + 1, user, result: "created", tier: created.tier });
          } else {
            if (config.domains[m.domain]!.migration.old.auth?.mode !== "master") throw inputError("a line without a password needs the domain's old-server credentials in master mode");
            rows.push({ line: i + 1, user, result: "queued" });
          }
          await requestMigration(home, user);
        } catch (e) {
          rows.push({ line: i + 1, user, result: "refused", reason: e instanceof Error && "context" in e ? (e as Error).message : errorText(e) });
        }
      }
      if (o.json) json(rows);
      else {
        for (const r of rows) out(`line ${r.line}: ${r.user}: ${r.result}${r.tier ? ` (${r.tier})` : ""}${r.reason ? ` — ${r.reason}` : ""}`);
        out(`${rows.filter((r) => r.result !== "refused").length} accepted, ${rows.filter((r) => r.result === "refused").length} refused`);
      }
      process.exitCode = rows.some((r) => r.result === "refused") ? EXIT.failed : EXIT.ok;
    });

  program
    .command("license")
    .description("premium seats: licensed, used, available")
    .option("--json", "JSON: { seats, used, available }")
    .addHelpText("after", "\nExamples:\n  automigrate config set license.premiumSeats=50\n  automigrate license --json")
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const { seatUsage } = await import("../accounts/license.ts");
      const u = seatUsage(home, loadConfig(home).license.premiumSeats);
      if (o.json) return json(u);
      out(`premium seats: ${u.seats} licensed, ${u.used} used, ${u.available} available (accounts beyond the licence are basic)`);
    });
}
