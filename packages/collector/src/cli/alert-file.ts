import * as fs from 'node:fs';
import { ConfigError, ErrorCodes, formatConfigIssue, unsafeModeProblem } from '@ximp/shared';
import { CliError } from './cli-error';
import type { CommandContext } from './command-context';
import { ExitCodes } from './exit-codes';
import { terminalText } from './terminal-text';

/** A rule or channel is a few hundred bytes; this bounds what `--file` (or stdin) may hand over. */
export const MAX_ALERT_FILE_BYTES = 1024 * 1024;

/** The text of a `--file` argument and the name its problems are reported under. */
export interface AlertFileText {
  text: string;
  /** The path as given, or `<stdin>` for `-`. */
  name: string;
  /** The file's permission bits; null for stdin. */
  mode: number | null;
}

function tooLarge(name: string): CliError {
  return new CliError(ExitCodes.USAGE, `${name}: larger than ${MAX_ALERT_FILE_BYTES} bytes; a rule or channel is far smaller`);
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > MAX_ALERT_FILE_BYTES) throw tooLarge('<stdin>');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads `--file FILE` (or `-` for stdin). The mode comes from the open file itself, so the
 * warning about who may read it is about the file that was read. A file that cannot be read is
 * bad input (exit 2), like a file with problems.
 */
export async function readAlertFile(file: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<AlertFileText> {
  if (file === '-') return { text: await readStdin(stdin), name: '<stdin>', mode: null };
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new CliError(ExitCodes.USAGE, `--file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new CliError(ExitCodes.USAGE, `--file: ${file} is not a regular file`);
    if (stat.size > MAX_ALERT_FILE_BYTES) throw tooLarge(file);
    return { text: fs.readFileSync(fd, 'utf8'), name: file, mode: stat.mode };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Parses the file with the collector's own reader, so its problems are the ones the collector
 * would find, each printed as `FILE:LINE:COL: key.path: message` on stderr. A file with problems
 * is bad input: exit 2 (SPEC §6's usage error), nothing sent.
 */
export function parseAlertFile<T>(ctx: Pick<CommandContext, 'err'>, file: AlertFileText, what: string, parse: (text: string, name: string) => T): T {
  try {
    return parse(file.text, file.name);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const issue of err.issues) ctx.err(`${terminalText(formatConfigIssue(issue))}\n`);
    const count = err.issues.length;
    throw new CliError(ExitCodes.USAGE, `${file.name} is not a valid ${what} (${count} problem${count === 1 ? '' : 's'}); nothing was sent`, {
      code: ErrorCodes.CONFIG_INVALID,
    });
  }
}

/** A warning line when a file that holds a secret may be read (or changed) by other users. */
export function secretFileWarning(file: AlertFileText): string | null {
  if (file.mode === null) return null;
  const problem = unsafeModeProblem(file.mode, { secret: true });
  return problem === null ? null : `${file.name} is ${problem}; it holds a channel secret (chmod 600 it)`;
}
