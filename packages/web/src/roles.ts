/**
 * A copy of the collector's role → permission table (packages/collector/src/auth/roles.ts, SPEC
 * §10), used only to hide what a role may not do; the server refuses anyway. A unit test keeps the
 * two equal.
 */
export const ROLES = ['monitoring-viewer', 'monitoring-editor', 'monitoring-admin'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'own_token:revoke',
  'agents:read',
  'metrics:read',
  'dashboards:read',
  'alerts:read',
  'retention:read',
  'dashboards:write',
  'rules:write',
  'channels:write',
  'agents:manage',
  'agent_tokens:manage',
  'clients:manage',
  'tls:manage',
  'tls:read',
  'tls:renew',
  'retention:write',
  'security:manage',
  'audit:read',
  'users:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const VIEWER: readonly Permission[] = ['own_token:revoke', 'agents:read', 'metrics:read', 'dashboards:read', 'alerts:read', 'retention:read'];
const EDITOR: readonly Permission[] = [...VIEWER, 'dashboards:write', 'rules:write', 'channels:write'];

const GRANTS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  'monitoring-viewer': new Set(VIEWER),
  'monitoring-editor': new Set(EDITOR),
  'monitoring-admin': new Set(PERMISSIONS),
};

/** True when `role` may do `permission`; unknown roles fail closed. */
export function roleCan(role: string, permission: Permission): boolean {
  if (!Object.prototype.hasOwnProperty.call(GRANTS, role)) return false;
  return GRANTS[role as Role].has(permission);
}
