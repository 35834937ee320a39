// automigrate pause|resume [--domain d] | retry [user] | sweep | cancel: the running daemon's queue,
// through its control socket. Each says what the daemon answered; nothing is claimed when the
// daemon is not running or refused.
import { canonicalUser } from "../address.ts";
import { Option, type Command } from "commander";
import { daemonPost, refusedBy } from "../control-client.ts";
import type { Answers, PostRoute, RequestOf } from "../status/control-api.ts";
import { AutomigrateError } from "../errors.ts";
import type { CancelState } from "../queue/policy.ts";
import { EXIT, homeOf, json, out } from "./common.ts";

const NOT_RUNNING = () => new AutomigrateError("the daemon is not running: nothing was done", { hint: "start it (systemctl start automigrate, or automigrate daemon)" }, { code: "DAEMON_DOWN" });

/**
 * The daemon's answer to a request on its control socket; an error when no daemon answered
 * (`notRunning`) or it refused (exit `refusedExit`, default 1).
 */
export async function askDaemon<R extends PostRoute>(cmd: Command, route: R, body: RequestOf<R>, opts: { notRunning?: () => AutomigrateError; refusedExit?: 1 | 2; user?: string } = {}): Promise<Answers[R]> {
  const r = await daemonPost(homeOf(cmd), route, body);
  if (r === undefined) throw (opts.notRunning ?? NOT_RUNNING)();
  if (refusedBy(r)) throw new AutomigrateError(`the daemon refused: ${r.error}`, opts.user ? { user: opts.user } : {}, { exitCode: opts.refusedExit ?? (r.code === "INPUT" || r.code === "NOT_FOUND" ? 2 : 1), code: r.code });
  return r;
}

const jobs = (n: number) => `${n} job${n === 1 ? "" : "s"}`;

/** What a cancel did, one line per kind; empty when nothing matched. */
export function cancelText(r: { cancelled: string[]; stopping: string[]; failedRemoved: string[] }): string[] {
  const lines: string[] = [];
  if (r.cancelled.length) lines.push(`cancelled ${jobs(r.cancelled.length)} (queued or waiting): ${r.cancelled.join(" ")}`);
  if (r.stopping.length) lines.push(`stopping ${jobs(r.stopping.length)} at the next safe point (what was copied stays): ${r.stopping.join(" ")}`);
  if (r.failedRemoved.length) lines.push(`removed ${jobs(r.failedRemoved.length)} from the failed list: ${r.failedRemoved.join(" ")}`);
  return lines;
}

const pausedText = (p: { all: boolean; domains: string[] }) => (p.all ? "everything is paused" : p.domains.length ? `paused domains: ${p.domains.join(" ")}` : "nothing is paused");

export function addQueueCommands(program: Command): void {
  for (const [name, paused] of [["pause", true], ["resume", false]] as const) {
    program
      .command(name)
      .description(paused ? "stop starting migrations (running ones finish their pass); all, or one domain" : "start migrations again; all, or one domain")
      .option("--domain <domain>", "only this domain")
      .option("--json", "JSON: { paused: { all, domains } }")
      .addHelpText("after", `\nExamples:\n  automigrate ${name}\n  automigrate ${name} --domain example.com`)
      .action(async (o: { domain?: string; json?: boolean }, cmd: Command) => {
        const r = await askDaemon(cmd, `/${name}` as "/pause" | "/resume", o.domain ? { domain: o.domain.toLowerCase() } : {});
        if (o.json) return json(r);
        out(pausedText(r.paused));
      });
  }

  program
    .command("retry")
    .description("move failed jobs back into the queue and end backoff waits: one user, or all")
    .argument("[user@domain]", "only this user (default: every failed or waiting job)")
    .option("--json", "JSON: { retried }")
    .addHelpText("after", "\nExamples:\n  automigrate retry alice@example.com\n  automigrate retry\n\nExit status: 0 when something was retried, 1 when there was nothing to retry.")
    .action(async (user: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const r = await askDaemon(cmd, "/retry", user ? { user: canonicalUser(user) } : {});
      if (o.json) json(r);
      else out(r.retried > 0 ? `retried ${r.retried} job${r.retried === 1 ? "" : "s"}` : `nothing to retry${user ? ` for ${user}` : ""}: no failed job and none waiting to retry`);
      process.exitCode = r.retried > 0 ? EXIT.ok : EXIT.failed;
    });

  program
    .command("sweep")
    .description("queue an incremental pass over every known account now (outside the schedule and quiet hours)")
    .option("--json", "JSON: { queued }")
    .addHelpText("after", "\nExample:\n  automigrate sweep")
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const r = await askDaemon(cmd, "/sweep", {});
      if (o.json) return json(r);
      out(`queued ${r.queued} account${r.queued === 1 ? "" : "s"} for an incremental pass`);
    });

  program
    .command("cancel")
    .description("take jobs out of the daemon's queue: one user, a domain, or every job in a state; running ones stop at their next safe point")
    .argument("[user@domain]", "only this user")
    .option("--domain <domain>", "only this domain's jobs")
    .addOption(new Option("--state <state>", "only jobs in this state").choices(["queued", "scheduled", "waiting", "running", "failed"]))
    .option("--json", "JSON: { cancelled, stopping, failedRemoved }")
    .addHelpText("after", "\nExamples:\n  automigrate cancel alice@example.com\n  automigrate cancel --domain example.com --state queued\n  automigrate cancel --state failed\n\nA migration that was stopped or cancelled starts again at the user's next login (or with\n`automigrate migrate`), from where it stopped: nothing is copied twice.\nExit status: 0 when something was cancelled, 1 when nothing matched, 2 when nothing was selected.")
    .action(async (user: string | undefined, o: { domain?: string; state?: string; json?: boolean }, cmd: Command) => {
      if (!user && !o.domain && !o.state) throw new AutomigrateError("say what to cancel: a user, --domain or --state", { hint: "automigrate cancel --help" }, { code: "INPUT", exitCode: EXIT.usage });
      const r = await askDaemon(cmd, "/cancel", { user: user?.toLowerCase(), domain: o.domain?.toLowerCase(), state: o.state as CancelState | undefined });
      const lines = cancelText(r);
      if (o.json) json(r);
      else out(lines.length ? lines.join("\n") : "nothing to cancel: no job matched");
      process.exitCode = lines.length ? EXIT.ok : EXIT.failed;
    });
}
