// The daemon's alerts: the conditions (src/alerts/alert-rules.ts) fed with what the daemon sees,
// and each event logged and handed to alerts.command (an argv, no shell; the event as one JSON
// document on stdin; stopped after alerts.timeoutSec). Commands run one after another, never
// awaited by a migration; one that fails or hangs is logged and the next event still goes out.
import type { Logger } from "pino";
import { AlertRules, type AlertEvent, type AlertThresholds } from "../src/alerts/alert-rules.ts";
import type { Config } from "../src/config/schema.ts";
import { errorText } from "../src/errors.ts";
import { runProgram } from "../src/hooks/run-program.ts";

export function alertThresholds(c: Config): AlertThresholds {
  const a = c.alerts;
  return { loginFailuresInRow: a.loginFailuresInRow, quotaFailuresInRow: a.quotaFailuresInRow, silentLogMinutes: a.silentLogMinutes, stuckMinutes: a.stuckMinutes };
}

export class DaemonAlerts {
  readonly rules: AlertRules;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private config: Config,
    private readonly log: Logger,
  ) {
    this.rules = new AlertRules(alertThresholds(config));
  }

  setConfig(c: Config): void {
    this.config = c;
    this.rules.setThresholds(alertThresholds(c));
  }

  /** Logs the events and queues them for the command; returns at once. */
  raise(events: AlertEvent[]): void {
    for (const e of events) {
      this.log[e.state === "firing" ? "warn" : "info"]({ msg: `alert ${e.alert} ${e.state}`, alert: e.alert, state: e.state, key: e.key, detail: e.message });
      const a = this.config.alerts;
      if (!a.command) continue;
      const argv = a.command;
      const timeoutMs = a.timeoutSec * 1000;
      this.chain = this.chain
        .then(() => runProgram({ argv, env: { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin", AUTOMIGRATE_ALERT: e.alert, AUTOMIGRATE_ALERT_STATE: e.state }, timeoutMs }, `${JSON.stringify(e)}\n`))
        .then((r) => {
          if (r.status === "done") return;
          this.log.error({ msg: "alert command failed", alert: e.alert, state: e.state, command: argv[0], exitCode: r.exitCode, stderr: r.stderrTail, fix: "check alerts.command (it gets the event as JSON on stdin and must exit 0)" });
        })
        .catch((err) => this.log.error({ msg: "alert command failed", alert: e.alert, error: errorText(err) }));
    }
  }

  /** Waits for the commands queued so far (shutdown). */
  async drain(timeoutMs: number): Promise<void> {
    await Promise.race([this.chain, Bun.sleep(timeoutMs)]);
  }
}
