// automigrate checkpassword <reply-program> | import-users <file.csv> | license
import { usesUserPasswords } from "../config/schema.ts";
import { spawnSync } from "node:child_process";
import { fstatSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { loadConfig } from "../config/store.ts";
import { errorText, inputError } from "../errors.ts";
import { EXIT, homeOf, json, out } from "./common.ts";
import { canonicalUser } from "../address.ts";
import { printable } from "../status/status-view.ts";

export function addAccountCommands(program: Command): void {
  program
    .command("checkpassword")
    .description("Dovecot checkpassword helper: asks the running daemon (firstLogin.socket), which checks a first login on the OLD server (or in LDAP) and creates the account")
    .option("--socket <path>", "the daemon's first-login socket (firstLogin.socket)", "/run/automigrate/auth.socket")
    .argument("<reply-program>", "what Dovecot passes (checkpassword-reply), run on success")
    .argument("[args...]")
    .addHelpText(
      "after",
      `
A thin client of the daemon (bin/automigrate-checkpassword, Perl from Debian's perl-base): it
starts in milliseconds inside Dovecot auth's default vsz_limit and needs no access to the
home directory; the daemon does the check, the account, the seat and the vault.

Dovecot 2.3 (after the passwd-file passdb of existing accounts):
  passdb {
    driver = checkpassword
    args = /usr/bin/automigrate-checkpassword --socket /run/automigrate/auth.socket
  }
Dovecot 2.4 has no checkpassword passdb: use the Lua passdb (README, "First logins").

Example: by hand, as Dovecot calls it (the password goes on fd 3):
  printf 'alice@example.com\\0old-password\\0' | automigrate checkpassword /bin/true 3<&0

Exit status (the checkpassword protocol): 1 wrong credentials, no LDAP entry, not creatable or
too many wrong passwords (firstLogin.failuresPerUser/failuresPerAddress); 111 temporary
failure (daemon not running, old server or LDAP unreachable); 2 misuse; otherwise the reply
program's. The password comes on fd 3 only and is never logged, stored in clear, or passed on.`,
    )
    .action((reply: string, args: string[], o: { socket: string }) => {
      // reached only when dist/cli.js is run directly: bin/automigrate starts the helper itself
      const helper = join(dirname(Bun.main), "..", "bin", "automigrate-checkpassword");
      const open = (fd: number) => {
        try {
          fstatSync(fd);
          return fd;
        } catch {
          return "ignore" as const;
        }
      };
      const r = spawnSync("perl", [helper, "--socket", o.socket, reply, ...args], { stdio: ["inherit", "inherit", "inherit", open(3), open(4)] });
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
      const config = await loadConfig(home);
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (e) {
        throw inputError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const { createAccount, requestMigration } = await import("../accounts/first-login.ts");
      const { migratableUser } = await import("../config/rules.ts");
      const rows: { line: number; user: string; result: "created" | "exists" | "queued" | "refused"; reason?: string; tier?: string }[] = [];
      // one user, one line: the same address in other capitals or another Unicode form is a duplicate
      const seen = new Map<string, number>();
      for (const [i, raw] of text.split(/\r?\n/).entries()) {
        const line = raw.trim();
        if (!line || line.startsWith("#")) continue;
        const sep = line.indexOf(";");
        const user = canonicalUser((sep < 0 ? line : line.slice(0, sep)).trim());
        const password = sep < 0 ? undefined : line.slice(sep + 1);
        const first = seen.get(user);
        if (first !== undefined) {
          rows.push({ line: i + 1, user, result: "refused", reason: `the same user as line ${first} (in other capitals or another Unicode form): not created again, nothing stored` });
          continue;
        }
        seen.set(user, i + 1);
        const m = migratableUser(config, user);
        if (!m.ok) {
          rows.push({ line: i + 1, user, result: "refused", reason: m.reason });
          continue;
        }
        try {
          // the daemon queues the migration; without it nothing is queued, and the line says so
          const notQueued = `its migration is not queued: the daemon is not running (start it, or run: automigrate migrate ${user})`;
          if (password !== undefined) {
            if (!password) throw inputError("empty password");
            const created = await createAccount(home, config, user, password, "import");
            const queued = await requestMigration(home, user);
            const row: (typeof rows)[number] = created.existed ? { line: i + 1, user, result: "exists", tier: created.tier, reason: "created before: its password is not changed" } : { line: i + 1, user, result: "created", tier: created.tier };
            if (!queued) row.reason = row.reason ? `${row.reason}; ${notQueued}` : notQueued;
            rows.push(row);
          } else {
            if (usesUserPasswords(config.domains[m.domain]!.migration.old.auth)) throw inputError("a line without a password needs the domain's old-server access in master or oauth2 mode");
            rows.push((await requestMigration(home, user)) ? { line: i + 1, user, result: "queued" } : { line: i + 1, user, result: "refused", reason: notQueued });
          }
        } catch (e) {
          rows.push({ line: i + 1, user, result: "refused", reason: e instanceof Error && "context" in e ? (e as Error).message : errorText(e) });
        }
      }
      if (o.json) json(rows);
      else {
        for (const r of rows) out(printable(`line ${r.line}: ${r.user}: ${r.result}${r.tier ? ` (${r.tier})` : ""}${r.reason ? ` — ${r.reason}` : ""}`));
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
      const { seatLedgerOf } = await import("../storage/seats.ts");
      const u = await seatLedgerOf(home).usage((await loadConfig(home)).license.premiumSeats);
      if (o.json) return json(u);
      out(`premium seats: ${u.seats} licensed, ${u.used} used, ${u.available} available (accounts beyond the licence are basic)`);
    });
}
