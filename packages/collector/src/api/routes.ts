import type { AuditEntryJson } from '@ximp/shared';
import { AGENT_EVENTS_ROUTE } from './agent-events-route';
import { AGENT_ROUTES } from './agent-routes';
import { ALERT_CHANNEL_ROUTES } from './alert-channel-routes';
import { ALERT_ROUTES } from './alert-routes';
import { ALERT_RULE_ROUTES } from './alert-rule-routes';
import { AGENT_TOKEN_ROUTES } from './agent-token-routes';
import { AUTH_ROUTES } from './auth-routes';
import { CLIENT_ROUTES } from './client-routes';
import { DASHBOARD_ROUTES } from './dashboard-routes';
import { requireAllNodes } from './bearer-auth';
import { REVOKE_ROUTE } from './revoke-endpoint';
import type { Route } from './route-table';
import { parseSince } from './since-param';
import { STORE_ROUTES } from './store-routes';
import { TLS_ROUTES } from './tls-routes';
import { USER_ROUTES } from './user-routes';
import { NO_STORE_HEADERS, handleTokenRequest } from './token-endpoint';
import { STATIC_SITE_ROUTES } from '../web/static-site';
import { OIDC_ROUTES } from './oidc-routes';

const DEFAULT_AUDIT_LIMIT = 100;

/**
 * Every route of the admin API with the permission it needs: the one table the role check reads.
 * `/metrics` takes a viewer token like the rest (Prometheus sends it with `authorization`), since
 * the collector's own metrics name nodes and addresses — every node, so a node-scoped client is refused.
 */
export const API_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: '/healthz',
    permission: null,
    handler: () => ({ status: 200, body: { status: 'ok' } }),
  },
  {
    method: 'GET',
    pattern: '/metrics',
    permission: 'metrics:read',
    handler: async ({ deps, principal }) => {
      requireAllNodes(principal);
      return { status: 200, text: await deps.metrics.metrics(), contentType: deps.metrics.contentType };
    },
  },
  {
    method: 'POST',
    pattern: '/api/v1/token',
    permission: null,
    headers: NO_STORE_HEADERS,
    handler: async (ctx) => ({ status: 200, body: await handleTokenRequest(ctx.req, ctx.deps, ctx.source, ctx) }),
  },
  REVOKE_ROUTE,
  AGENT_EVENTS_ROUTE,
  ...AGENT_ROUTES,
  ...AGENT_TOKEN_ROUTES,
  ...CLIENT_ROUTES,
  ...STORE_ROUTES,
  ...TLS_ROUTES,
  ...ALERT_ROUTES,
  ...ALERT_RULE_ROUTES,
  ...ALERT_CHANNEL_ROUTES,
  ...AUTH_ROUTES,
  ...USER_ROUTES,
  ...OIDC_ROUTES,
  ...DASHBOARD_ROUTES,
  {
    method: 'GET',
    pattern: '/api/v1/audit',
    permission: 'audit:read',
    handler({ deps, query }) {
      const sinceText = query.get('since');
      const sinceMs = sinceText === null ? undefined : parseSince(sinceText, deps.now());
      const limitText = query.get('limit');
      const limit = limitText === null ? DEFAULT_AUDIT_LIMIT : Number(limitText);
      if (!Number.isSafeInteger(limit) || limit < 1) {
        return { status: 400, body: { error: 'invalid_request', message: 'limit: expected a positive whole number' } };
      }
      return { status: 200, body: deps.audit.list({ limit, sinceMs }) satisfies AuditEntryJson[] };
    },
  },
];

/**
 * What the API listener answers: the API, then the dashboard's files (public by design: they hold
 * no data, and the sign-in page must load before anyone is signed in).
 */
export const LISTENER_ROUTES: readonly Route[] = [...API_ROUTES, ...STATIC_SITE_ROUTES];
