import { parseDuration } from '@ximp/shared';

/**
 * What is wrong with a duration given on the command line (`30d`, `1h30m`), or null when it is a
 * duration above zero (or absent). Only its form is checked here: the collector checks its bounds
 * (retention, `api.max_query_range`) and names them when it refuses one, so they live in one place.
 * `what` names the argument in the message (`--since`, `DURATION`).
 */
export function durationProblem(text: string | undefined, what: string): string | null {
  if (text === undefined) return null;
  const ms = parseDuration(text);
  if (ms === null || ms === 0) return `${what}: expected a duration like 30d, 12h or 1h30m (got "${text}")`;
  return null;
}

/** A duration argument the command line parser already checked with durationProblem. */
export function checkedDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms === null) throw new RangeError('duration not checked before use');
  return ms;
}
