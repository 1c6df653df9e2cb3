/**
 * An error the user can cause and fix (bad config, missing file, unreachable hub).
 * The CLI prints only its one-line message (no stack unless --debug) and exits non-zero.
 */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * The one line an entry point (the CLI, a pipeline worker) writes for an error that ends it: the message,
 * or with `debug` the stack. The executor reports a failed job by this line, so both write it the same way.
 */
export function errorLine(err: unknown, debug = false): string {
  return `clearbench: ${debug && err instanceof Error ? err.stack : String((err as Error)?.message ?? err)}`;
}

/** The exit code an error ends the process with: a UserError's own, 1 for anything else. */
export function exitCodeOf(err: unknown): number {
  return err instanceof UserError ? err.exitCode : 1;
}
