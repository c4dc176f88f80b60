/** SPEC §10: the three API roles, least to most privileged. */
export const ROLES = ['monitoring-viewer', 'monitoring-editor', 'monitoring-admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(x: unknown): x is Role {
  return typeof x === 'string' && (ROLES as readonly string[]).includes(x);
}

/** Every action the API guards, as `<resource>:<verb>`. */
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

export function isPermission(x: unknown): x is Permission {
  return typeof x === 'string' && (PERMISSIONS as readonly string[]).includes(x);
}

const VIEWER: readonly Permission[] = ['own_token:revoke', 'agents:read', 'metrics:read', 'dashboards:read', 'alerts:read', 'retention:read'];
const EDITOR: readonly Permission[] = [...VIEWER, 'dashboards:write', 'rules:write', 'channels:write'];
const ADMIN: readonly Permission[] = PERMISSIONS;

const GRANTS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  'monitoring-viewer': new Set(VIEWER),
  'monitoring-editor': new Set(EDITOR),
  'monitoring-admin': new Set(ADMIN),
};

/**
 * The one place a role check lives: true when `role` may do `permission`. Unknown roles and
 * unknown permissions are denied, so a typo or a corrupted row fails closed.
 */
export function can(role: Role, permission: Permission): boolean {
  if (!Object.prototype.hasOwnProperty.call(GRANTS, role)) return false;
  return GRANTS[role].has(permission);
}
