import type { DashboardJson, DashboardListJson } from '@ximp/shared';
import { DASHBOARD_ID, parseDashboard } from '../dashboards/dashboard';
import type { Dashboard } from '../dashboards/dashboard-store';
import type { ApiDeps } from './api-deps';
import { HttpError } from './http-error';
import { isoOrNull } from './iso-time';
import { readJsonText } from './request-body';
import type { Route } from './route-table';

/** A dashboard as the API answers it (dashboard contract). */
export function dashboardJson(d: Dashboard): DashboardJson {
  return { id: d.id, name: d.name, builtin: d.builtin, panels: d.panels, created_by: d.createdBy, updated_at: isoOrNull(d.updatedMs) };
}

/** The dashboard store, or 503 while it is not wired in. */
function dashboardsOf(deps: ApiDeps): NonNullable<ApiDeps['dashboards']> {
  if (!deps.dashboards) throw new HttpError(503, 'unavailable', 'dashboards are not available');
  return deps.dashboards;
}

function notFound(id: string): HttpError {
  return new HttpError(404, 'not_found', DASHBOARD_ID.test(id) ? `no dashboard "${id}"` : 'no such dashboard');
}

/** 409 before the body is read: the built-in dashboard is the same on every collector. */
function builtIn(id: string): HttpError {
  return new HttpError(409, 'conflict', `"${id}" is built in and cannot be changed or deleted: create a copy instead`);
}

/**
 * SPEC §10 and §15: dashboards are read by any role and written by editors; every change audited.
 * Dashboards hold no node data (a panel names a metric; the node is chosen when it is drawn and
 * checked by the series route), so a node-scoped caller sees them all.
 */
export const DASHBOARD_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: '/api/v1/dashboards',
    permission: 'dashboards:read',
    handler: ({ deps }) => ({ status: 200, body: { dashboards: dashboardsOf(deps).list().map(dashboardJson) } satisfies DashboardListJson }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/dashboards/:id',
    permission: 'dashboards:read',
    handler({ deps, params }) {
      const found = dashboardsOf(deps).get(params.id);
      if (found === null) throw notFound(params.id);
      return { status: 200, body: dashboardJson(found) };
    },
  },
  {
    method: 'POST',
    pattern: '/api/v1/dashboards',
    permission: 'dashboards:write',
    async handler({ deps, req, principal, source }) {
      const input = parseDashboard(await readJsonText(req), 'request body');
      const now = deps.now();
      const created = dashboardsOf(deps).create(input, principal!.clientId, now);
      deps.audit.record({ actor: principal!.clientId, action: 'dashboard.create', target: created.id, source }, now);
      deps.log.info({ dashboard: created.id, client: principal!.clientId, remote: source }, 'dashboard created');
      return { status: 201, body: dashboardJson(created) };
    },
  },
  {
    method: 'PUT',
    pattern: '/api/v1/dashboards/:id',
    permission: 'dashboards:write',
    async handler({ deps, req, params, principal, source }) {
      const store = dashboardsOf(deps);
      const current = store.get(params.id);
      if (current === null) throw notFound(params.id);
      if (current.builtin) throw builtIn(params.id);
      const input = parseDashboard(await readJsonText(req), 'request body');
      const now = deps.now();
      const updated = store.update(params.id, input, now);
      deps.audit.record({ actor: principal!.clientId, action: 'dashboard.update', target: updated.id, source }, now);
      deps.log.info({ dashboard: updated.id, client: principal!.clientId, remote: source }, 'dashboard updated');
      return { status: 200, body: dashboardJson(updated) };
    },
  },
  {
    method: 'DELETE',
    pattern: '/api/v1/dashboards/:id',
    permission: 'dashboards:write',
    handler({ deps, params, principal, source }) {
      const store = dashboardsOf(deps);
      const current = store.get(params.id);
      if (current === null) throw notFound(params.id);
      if (current.builtin) throw builtIn(params.id);
      store.delete(params.id);
      const now = deps.now();
      deps.audit.record({ actor: principal!.clientId, action: 'dashboard.delete', target: params.id, source }, now);
      deps.log.info({ dashboard: params.id, client: principal!.clientId, remote: source }, 'dashboard deleted');
      return { status: 204, body: null };
    },
  },
];
