import type { ExitCode } from './exit-codes';

/**
 * A failure the command reports to the user and turns into an exit status. The message is shown
 * as is, so it must never hold a secret (client secret, access token, agent token).
 */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  /** When set, main prints this usage text to stderr after the message (usage errors). */
  readonly usage: string | null;
  constructor(exitCode: ExitCode, message: string, options?: { usage?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.usage = options?.usage ?? null;
  }
}
