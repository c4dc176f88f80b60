import type { ApiDeps } from './api-deps';
import { HttpError } from './http-error';

/** The alerting part of the deps, or 503 while it is not wired in. */
export function alertingOf(deps: ApiDeps): NonNullable<ApiDeps['alerting']> {
  if (!deps.alerting) throw new HttpError(503, 'unavailable', 'alerting is not available');
  return deps.alerting;
}
