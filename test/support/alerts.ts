// What the alert tests share: a login log in jsonl that a test writes login lines into, and
// an admin's alert program that appends each event (JSON on stdin) to a file.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startDaemon } from "./daemon.ts";
import { runCliOk } from "./harness.ts";

export interface AlertEventSeen {
  alert: string;
  state: string;
  key: string;
  count?: number;
  message: string;
  user?: string;
  domain?: string;
}

/** A jsonl login log in `home` and a way to write a user's login into it. */
export function jsonlLoginLog(home: string): { path: string; login(user: string): void } {
  const path = join(home, "logins.jsonl");
  writeFileSync(path, "");
  return { path, login: (user) => appendFileSync(path, `{"time":"${new Date().toISOString()}","user":"${user}","service":"imap","ip":"192.0.2.7"}\n`) };
}

/** An alert program (sh, no daemon-side shell) that appends each event to a file; the events it got so far. */
export function alertRecorder(home: string): { script: string; events(): AlertEventSeen[] } {
  const received = join(home, "alerts.jsonl");
  const script = join(home, "page-admin.sh");
  writeFileSync(script, `#!/bin/sh\ncat >> '${received}'\n`, { mode: 0o755 });
  return { script, events: () => (existsSync(received) ? readFileSync(received, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []) };
}

/** A daemon on `home` tailing a jsonl login log, with the alert recorder as alerts.command and `settings` on top; its domain enabled. */
export async function startAlertingDaemon(home: string, domain: string, settings: string[]) {
  const log = jsonlLoginLog(home);
  const recorder = alertRecorder(home);
  await runCliOk(home, ["config", "set", `logins.0.path=${log.path}`, "logins.0.format=jsonl", `alerts.command=${JSON.stringify([recorder.script])}`, ...settings]);
  await runCliOk(home, ["domain", "enable", domain]);
  return { d: await startDaemon(home), jsonl: log.path, login: log.login, events: recorder.events, script: recorder.script };
}
