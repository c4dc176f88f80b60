import { formatDuration, parseDuration } from '@ximp/shared';

export interface DurationBounds {
  minMs: number;
  maxMs: number;
}

/**
 * What is wrong with a duration given on the command line (`30d`, `1h30m`), or null when it is
 * one within the bounds. `what` names the argument in the message (`--since`, `DURATION`).
 */
export function durationProblem(text: string | undefined, what: string, bounds: DurationBounds): string | null {
  if (text === undefined) return null;
  const ms = parseDuration(text);
  if (ms === null) return `${what}: expected a duration like 30d, 12h or 1h30m (got "${text}")`;
  if (ms < bounds.minMs || ms > bounds.maxMs) {
    return `${what}: must be between ${formatDuration(bounds.minMs)} and ${formatDuration(bounds.maxMs)} (got "${text}")`;
  }
  return null;
}

/** A duration argument the command line parser already checked with durationProblem. */
export function checkedDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms === null) throw new RangeError('duration not checked before use');
  return ms;
}
