// Errors are values an admin can act on: what failed, for whom, where, and what to do.

export interface ErrorContext {
  user?: string;
  folder?: string;
  server?: string;
  file?: string;
  hint?: string;
}

/**
 * What went wrong, as a stable string that decisions and reports use (never the message
 * text). `BUG` is an error automigrate did not expect: final, and logged with its stack.
 */
export type ErrorCode =
  | "INPUT"
  | "NOT_FOUND"
  | "CONFIG"
  /** A settings, state or job file that is invalid or unreadable (named; never overwritten). */
  | "CORRUPT"
  | "DAEMON_DOWN"
  | "ACCOUNT_EXISTS"
  | "PROVISIONING"
  /** A captured or imported password missing, or the vault unreadable. */
  | "NO_PASSWORD"
  | "LDAP_SYNC_REFUSED"
  | "CONNECT"
  /** The cluster's database (storage.driver postgres) cannot be reached or answered with an error: temporary. */
  | "STORAGE"
  /** Another live daemon holds what this one needs (the same node name on the cluster's database). */
  | "NODE_CONFLICT"
  | "TLS"
  | "LOGIN_REFUSED"
  /** The identity provider refused to issue an access token (invalid_client, AADSTS…): needs the admin. */
  | "TOKEN_REFUSED"
  /** The token endpoint or command could not be reached or gave no usable answer: temporary. */
  | "TOKEN_UNAVAILABLE"
  /** A download budget is used up (a provider's daily limit): the job resumes when it refills. */
  | "BUDGET"
  /** The old server said it is busy or throttling (a profile's transient answers): retried later. */
  | "SERVER_BUSY"
  | "NO_MAILBOX"
  | "LOCKED"
  | "ENABLE_REFUSED"
  | "QUOTA"
  | "NO_SPACE"
  | "PROTOCOL"
  | "UNVERIFIED"
  | "ALTERED"
  | "STOPPED"
  | "SERVER"
  // why a message was skipped (stored with it; reports and metrics group by it)
  | "TOO_LARGE"
  | "OVERSIZED"
  | "NO_BODY"
  | "UNREADABLE"
  | "NOT_RETURNED"
  | "REFUSED_BY_NEW_SERVER"
  // a folder the new server refuses to create, for good
  | "FOLDER_REFUSED"
  | "BUG";

export class AutomigrateError extends Error {
  readonly context: ErrorContext;
  /** Exit code for the CLI: 1 failed, 2 bad usage or input. */
  readonly exitCode: 1 | 2;
  /** Transient (server down, timeout) rather than permanent (bad password, bad config). */
  readonly transient: boolean;
  readonly code: ErrorCode;

  /** Every error says what it is: `code` is required (decisions and reports use it, never the text). */
  constructor(message: string, context: ErrorContext, opts: { exitCode?: 1 | 2; transient?: boolean; cause?: unknown; code: ErrorCode }) {
    super(message, { cause: opts.cause });
    this.name = "AutomigrateError";
    this.context = context;
    this.exitCode = opts.exitCode ?? 1;
    this.transient = opts.transient ?? false;
    this.code = opts.code;
  }

  /** temporary: worth retrying later; final: needs the admin (or a fix) first. */
  get failureClass(): "temporary" | "final" {
    return this.transient ? "temporary" : "final";
  }

  /** One line (plus a hint line) for humans. */
  describe(): string {
    const where = [
      this.context.user && `user ${this.context.user}`,
      this.context.folder && `folder "${this.context.folder}"`,
      this.context.server && `server ${this.context.server}`,
      this.context.file && `file ${this.context.file}`,
    ].filter(Boolean);
    const head = where.length ? `${this.message} (${where.join(", ")})` : this.message;
    return this.context.hint ? `${head}\n  hint: ${this.context.hint}` : head;
  }
}

/** Bad input from the admin: exit 2. */
export function inputError(message: string, context: ErrorContext = {}): AutomigrateError {
  return new AutomigrateError(message, context, { exitCode: 2, code: "INPUT" });
}

/** Socket and DNS error codes that mean "the connection went away": worth a retry. */
export const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "EAI_AGAIN",
  "ETIMEOUT",
]);

/** OpenSSL's certificate verification codes as Node reports them (error.code). */
const CERTIFICATE_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_CRL",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "HOSTNAME_MISMATCH",
  "INVALID_CA",
  "PATH_LENGTH_EXCEEDED",
  "INVALID_PURPOSE",
]);

/**
 * The TLS or certificate error code of an error (its own code, or its cause's), judged on the
 * socket's error codes (Node's ERR_TLS_ and ERR_SSL_ ones, OpenSSL's certificate codes), never
 * on the message text. undefined when it is no TLS failure.
 */
export function tlsErrorCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && typeof e === "object" && depth < 4; e = e.cause as typeof e, depth++) {
    const code = typeof e.code === "string" ? e.code : "";
    if (CERTIFICATE_CODES.has(code) || /^(ERR_TLS_|ERR_SSL_|CERT_)/.test(code)) return code;
  }
  return undefined;
}

/**
 * Any error as one an admin (and the retry policy) can act on: ours (every IMAP answer
 * included: our sessions make them) keep their code; a dropped connection is temporary, a
 * full disk too; anything else is a bug: final, never retried as if a server were down.
 */
export function classify(err: unknown, context: ErrorContext = {}): AutomigrateError {
  if (err instanceof AutomigrateError) return err;
  const e = err as { code?: string; message?: string };
  if (e && typeof e === "object") {
    if (e.code && CONNECTION_ERROR_CODES.has(e.code)) return new AutomigrateError(errorText(err), context, { transient: true, code: "CONNECT", cause: err });
    if (e.code === "ENOSPC") return new AutomigrateError(errorText(err), { ...context, hint: "free disk space in the home directory" }, { transient: true, code: "NO_SPACE", cause: err });
  }
  return new AutomigrateError(`internal error (a bug in automigrate, please report it): ${errorText(err)}`, context, { code: "BUG", cause: err });
}

/** The code of any error: an error automigrate did not make itself is classified. */
export function errorCode(err: unknown): ErrorCode {
  return classify(err).code;
}

export function errorText(err: unknown): string {
  if (err instanceof AutomigrateError) return err.describe();
  if (err instanceof Error) return err.message;
  return String(err);
}
