import { ErrorCodes, XimpError } from '@ximp/shared';

/** The error every parser throws on content it cannot read: names the file, never crashes the agent. */
export function sourceParseError(file: string, detail: string): XimpError {
  return new XimpError(ErrorCodes.SOURCE_PARSE, `${file}: ${detail}`);
}

const KERNEL_NUMBER = /^\d+(\.\d+)?$/;

/** A non-negative decimal counter or gauge as the kernel prints it, or NaN. */
function kernelNumber(token: string | undefined): number {
  if (token === undefined || !KERNEL_NUMBER.test(token)) return NaN;
  const value = Number(token);
  return Number.isFinite(value) ? value : NaN;
}

/**
 * A column of a row, as parseKernelNumber reads it; the error names "`row` `column`", a string
 * built only when the column is wrong, so a loop over many columns builds none.
 */
export function parseKernelColumn(token: string | undefined, file: string, row: string, column: string | number): number {
  const value = kernelNumber(token);
  return Number.isNaN(value) ? parseKernelNumber(token, file, `${row} ${column}`) : value;
}

/** A non-negative decimal counter or gauge as the kernel prints it, or a parse error. */
export function parseKernelNumber(token: string | undefined, file: string, what: string): number {
  if (token === undefined || token === '') throw sourceParseError(file, `missing ${what}`);
  const value = kernelNumber(token);
  if (Number.isNaN(value)) throw sourceParseError(file, `${what}: expected a number (actual: ${JSON.stringify(token.slice(0, 40))})`);
  return value;
}

/** Splits on runs of blanks, dropping empty tokens at either end. */
export function splitFields(line: string): string[] {
  const trimmed = line.trim();
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}
