import { HttpError } from './http-error';
import { checkParams } from './request-fields';
import type { Route } from './route-table';

/** Seconds a caller refused for want of a stream slot is told to wait. */
const FULL_RETRY_AFTER_S = 5;

/**
 * GET /api/v1/agents/events: the fleet as server-sent events (agent-event-feed.ts). Listed before
 * `/api/v1/agents/:node`, so this path is the stream, not a node named "events".
 */
export const AGENT_EVENTS_ROUTE: Route = {
  method: 'GET',
  pattern: '/api/v1/agents/events',
  permission: 'agents:read',
  handler({ query, principal, agentEvents, stillValid }) {
    checkParams(query, []);
    if (!agentEvents) throw new HttpError(503, 'unavailable', 'live agent events are not available');
    if (agentEvents.full) {
      throw new HttpError(503, 'too_many_streams', 'too many live event streams are open: retry later', { 'Retry-After': String(FULL_RETRY_AFTER_S) });
    }
    return { status: 200, open: (res) => agentEvents.open(res, principal, stillValid ?? (() => true)) };
  },
};
