import { ErrorCodes, type ErrorCode } from './errors';

/**
 * The code of each reason a collector gives when it refuses an agent (the `error` of a refused
 * upgrade's JSON body; `revoked` and `expired` also for close codes 4001/4002), so the agent's
 * log line names the row of docs/errors.md that says what to do.
 */
export const UPGRADE_REFUSAL_CODES: Readonly<Record<string, ErrorCode>> = Object.freeze({
  invalid_token: ErrorCodes.AUTH_INVALID_TOKEN,
  revoked: ErrorCodes.AUTH_REVOKED,
  expired: ErrorCodes.AUTH_EXPIRED,
  wrong_node: ErrorCodes.AUTH_WRONG_NODE,
  rate_limited: ErrorCodes.AUTH_RATE_LIMITED,
});
