import { ErrorCodes, type ErrorCode } from '@ximp/shared';
import { ExitCodes, type ExitCode } from './exit-codes';

/**
 * A failure the command reports to the user and turns into an exit status. The message is shown
 * as is, so it must never hold a secret (client secret, access token, agent token).
 */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  /** When set, main prints this usage text to stderr after the message (usage errors). */
  readonly usage: string | null;
  /**
   * The registry code printed after the message (docs/errors.md): given, or the one an exit
   * status stands for alone (2 usage, 4 not found); null when the status has several causes.
   */
  readonly code: ErrorCode | null;
  constructor(exitCode: ExitCode, message: string, options?: { usage?: string; cause?: unknown; code?: ErrorCode }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.usage = options?.usage ?? null;
    this.code = options?.code ?? (exitCode === ExitCodes.USAGE ? ErrorCodes.CLI_USAGE : exitCode === ExitCodes.NOT_FOUND ? ErrorCodes.NOT_FOUND : null);
  }
}
