// Errors are values an admin can act on: what failed, for whom, where, and what to do.

export interface ErrorContext {
  user?: string;
  folder?: string;
  server?: string;
  file?: string;
  hint?: string;
}

export class AutomigrateError extends Error {
  readonly context: ErrorContext;
  /** Exit code for the CLI: 1 failed, 2 bad usage or input. */
  readonly exitCode: 1 | 2;
  /** Transient (server down, timeout) rather than permanent (bad password, bad config). */
  readonly transient: boolean;

  constructor(message: string, context: ErrorContext = {}, opts: { exitCode?: 1 | 2; transient?: boolean; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = "AutomigrateError";
    this.context = context;
    this.exitCode = opts.exitCode ?? 1;
    this.transient = opts.transient ?? false;
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
  return new AutomigrateError(message, context, { exitCode: 2 });
}

export function errorText(err: unknown): string {
  if (err instanceof AutomigrateError) return err.describe();
  if (err instanceof Error) {
    const extra = (err as { responseText?: string }).responseText;
    return extra && !err.message.includes(extra) ? `${err.message}: ${extra}` : err.message;
  }
  return String(err);
}
