// JSON logs to stdout (systemd's journal keeps them). Never give it a password.
import pino from "pino";

export type Logger = pino.Logger;

export function createLogger(): Logger {
  return pino({ base: { svc: "automigrate" }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } });
}
