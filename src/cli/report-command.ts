// automigrate report [--domain d] [--state s] --format csv|json|html [--output F]
import { closeSync, openSync, renameSync, unlinkSync } from "node:fs";
import { Option, type Command } from "commander";
import { loadConfig } from "../config/store.ts";
import { requireDomain } from "../config/change.ts";
import { REPORT_STATES, type ReportState } from "../report/account-rows.ts";
import { REPORT_FORMATS, type ReportFormat, type Sink } from "../report/formats.ts";
import { writeReport } from "../report/write-report.ts";
import { err, homeOf, writeAll } from "./common.ts";
import { AutomigrateError, errorText } from "../errors.ts";

/** Text to a file descriptor in 64 KB writes. */
function bufferedSink(fd: number): { sink: Sink; flush: () => void } {
  let parts: string[] = [];
  let size = 0;
  const flush = () => {
    if (parts.length) writeAll(fd, parts.join(""));
    parts = [];
    size = 0;
  };
  return {
    sink: (text) => {
      parts.push(text);
      size += text.length;
      if (size >= 65_536) flush();
    },
    flush,
  };
}

export function addReportCommand(program: Command): void {
  program
    .command("report")
    .description("one row per known account (state, first and last run, messages and bytes, skipped by code, renamed folders, verify result, last error) with per-domain totals, the pace and the ETA")
    .addOption(new Option("--format <format>", "csv (RFC 4180), json, or html (one self-contained page: bars, per-domain progress, a sortable table)").choices(REPORT_FORMATS).makeOptionMandatory())
    .option("--domain <domain>", "only this domain's accounts")
    .addOption(new Option("--state <state>", "only accounts in this state").choices(REPORT_STATES))
    .option("--output <file>", "write the report to this file (written whole, then put in place) instead of stdout")
    .addHelpText("after", "\nExamples:\n  automigrate report --format html --output /tmp/migration.html\n  automigrate report --domain example.com --state failed --format csv")
    .action(async (o: { format: ReportFormat; domain?: string; state?: ReportState; output?: string }, cmd: Command) => {
      const home = homeOf(cmd);
      const domain = o.domain === undefined ? undefined : requireDomain(await loadConfig(home), o.domain);
      const options = { format: o.format, domain, state: o.state };
      if (!o.output) {
        const { sink, flush } = bufferedSink(1);
        await writeReport(home, options, sink);
        flush();
        return;
      }
      const part = `${o.output}.part-${process.pid}`;
      let fd: number;
      try {
        fd = openSync(part, "w", 0o640);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // root works as the daemon's user on its home: a directory of root's is not writable then
        throw new AutomigrateError(`cannot write the report next to ${o.output} (${code ?? errorText(e)})`, { hint: `automigrate works as the owner of its home (uid ${process.getuid?.()}): write the report into a directory that user may write (e.g. /var/tmp), or leave out --output and redirect stdout` }, { code: "INPUT", exitCode: 2 });
      }
      let accounts: number;
      let open = true;
      try {
        const { sink, flush } = bufferedSink(fd);
        accounts = (await writeReport(home, options, sink)).accounts;
        flush();
        open = false;
        closeSync(fd);
        renameSync(part, o.output);
      } catch (e) {
        // nothing half-written is left: the part file goes, the file named keeps what it had
        try {
          if (open) closeSync(fd);
          unlinkSync(part);
        } catch {}
        throw e;
      }
      err(`report: ${accounts} account${accounts === 1 ? "" : "s"} written to ${o.output}`);
    });
}
