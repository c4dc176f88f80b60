import type { ApiConnection } from './api-connection';
import { CliError } from './cli-error';
import { ExitCodes } from './exit-codes';
import { formatTable, type Cell } from './table';

export type OutputFormat = 'table' | 'json';

/** What a command runs with: the API, its arguments, where to print, and the clock for "12s ago". */
export interface CommandContext {
  api: Pick<ApiConnection, 'call'>;
  flags: Readonly<Record<string, string>>;
  positionals: readonly string[];
  output: OutputFormat;
  out(text: string): void;
  err(text: string): void;
  now(): number;
}

export type CommandRun = (ctx: CommandContext) => Promise<void>;

/** Pretty JSON with a final newline, as every `--output json` answer prints. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/**
 * Prints a list: with --output json the rows themselves (keys are the columns in snake_case),
 * else a table whose cells `toCells` derives from each row (relative times need `now`).
 */
export function printList<Row>(ctx: CommandContext, columns: readonly string[], rows: Row[], toCells: (row: Row, now: number) => Cell[]): void {
  if (ctx.output === 'json') {
    ctx.out(jsonText(rows));
    return;
  }
  const now = ctx.now();
  ctx.out(formatTable(columns, rows.map((row) => toCells(row, now))));
}

function unexpected(what: string): CliError {
  return new CliError(ExitCodes.FAILED, `unexpected answer from the collector: ${what}`);
}

/**
 * An answer object as the CLI reads it: the field names of its type in the API contract
 * (`@ximp/shared`), so a misspelt or renamed field fails the type check; the values stay
 * unchecked until `str` or `num` reads them, so a collector of another version cannot crash it.
 */
export type Answer<T = Record<string, unknown>> = { readonly [K in keyof T]?: unknown };

/** The API answer as a list of objects, or a failure (exit 1) when it is something else. */
export function asList<T = Record<string, unknown>>(body: unknown): Answer<T>[] {
  if (!Array.isArray(body) || !body.every((x) => x !== null && typeof x === 'object')) throw unexpected('expected a list');
  return body as Answer<T>[];
}

export function asObject<T = Record<string, unknown>>(body: unknown): Answer<T> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw unexpected('expected an object');
  return body as Answer<T>;
}

/** A string field or null (absent, null or another type). */
export function str<T>(obj: Answer<T>, key: keyof T & string): string | null {
  const value = obj[key];
  return typeof value === 'string' ? value : null;
}

/** A number field or null. */
export function num<T>(obj: Answer<T>, key: keyof T & string): number | null {
  const value = obj[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** `?name=value` for the flags that are set, URL-encoded. */
export function queryString(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) search.set(name, value);
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
