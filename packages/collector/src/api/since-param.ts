import { parseDuration } from '@ximp/shared';
import { invalidRequest } from './http-error';

/**
 * A `since` query parameter as milliseconds since the epoch: a duration back from `now` (`24h`)
 * or an ISO 8601 time. One reading for every route that takes it (alert history, audit).
 */
export function parseSince(text: string, now: number): number {
  const back = parseDuration(text);
  if (back !== null) return now - back;
  const at = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(at)) throw invalidRequest('since: expected a duration like "24h" or an ISO 8601 time');
  return at;
}
