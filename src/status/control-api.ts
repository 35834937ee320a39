// The daemon's control API (HTTP over the Unix socket control.<host>.sock), declared once:
// each route's request body (a zod schema: every body is hostile until it parses) and its
// answer type. The daemon's handlers (daemon/control.ts), the CLI and the console use these
// types; errors are { code, error } with the HTTP status chosen from the code.
import { z } from "zod";
import type { ErrorCode } from "../errors.ts";
import type { SettingChange } from "../config/settings-help.ts";
import type { CancelState, EnqueueResult, Paused } from "../queue/policy.ts";
import type { AccountAnswer, DaemonStatus } from "./status-view.ts";

const user = z.string({ error: "user must be a string user@domain" }).min(1, "user must not be empty").max(320, "user is too long");
const domain = z.string({ error: "domain must be a string" }).min(1).max(253);

/** The request body of each POST route (GET routes take none). */
export const requestSchemas = {
  "/migrate": z.strictObject({ user }),
  "/retry": z.strictObject({ user: user.optional() }),
  "/pause": z.strictObject({ domain: domain.optional() }),
  "/resume": z.strictObject({ domain: domain.optional() }),
  "/sweep": z.strictObject({}),
  "/cancel": z
    .strictObject({
      user: user.optional(),
      domain: domain.optional(),
      state: z.enum(["queued", "scheduled", "waiting", "running", "failed"], { error: (i) => `state ${JSON.stringify(i.input)} is not one of queued, scheduled, waiting, running, failed` }).optional(),
    })
    .refine((b) => b.user !== undefined || b.domain !== undefined || b.state !== undefined, "say what to cancel: user, domain or state"),
  "/catch-up": z.strictObject({ user }),
  "/account-changed": z.strictObject({ user }),
  "/domains/:domain": z.strictObject({ set: z.array(z.string().max(10_000), { error: 'set is required: a list of "key=value" strings, e.g. {"set":["migration.enabled=false"]}' }).min(1, "set must name at least one key=value") }),
} as const;

export type PostRoute = keyof typeof requestSchemas;
export type RequestOf<R extends PostRoute> = z.input<(typeof requestSchemas)[R]>;

/** What each route answers when it succeeds. */
export interface Answers {
  "GET /status": DaemonStatus;
  "GET /accounts/:user": AccountAnswer;
  "/migrate": { result: EnqueueResult; paused: boolean };
  "/retry": { retried: number };
  "/pause": { paused: Paused };
  "/resume": { paused: Paused };
  "/sweep": { queued: number };
  "/cancel": { cancelled: string[]; stopping: string[]; failedRemoved: string[] };
  /** The catch-up pass scheduled for the user (an ISO time), or none left. */
  "/catch-up": { next: string | null };
  /** The daemon read the account's state again (a run or verify made by the CLI). */
  "/account-changed": { reread: true };
  "/domains/:domain": { domain: string; changes: SettingChange[]; wiped: number };
}

export type CancelBody = { user?: string; domain?: string; state?: CancelState };

/** A refusal: a stable code, and the message an admin reads. */
export interface ControlError {
  code: ErrorCode;
  error: string;
}

/** The HTTP status of an error code (decided on the code, never on the message). */
export function httpStatus(code: ErrorCode): number {
  switch (code) {
    case "INPUT":
      return 400;
    case "NOT_FOUND":
      return 404;
    case "ENABLE_REFUSED":
    case "LDAP_SYNC_REFUSED":
    case "LOCKED":
      return 409;
    case "BUG":
      return 500;
    default:
      return 503;
  }
}

export function isControlError(v: unknown): v is ControlError {
  return typeof v === "object" && v !== null && typeof (v as ControlError).error === "string" && typeof (v as ControlError).code === "string";
}
