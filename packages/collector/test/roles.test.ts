import t from 'tap';
import { PERMISSIONS, ROLES, can, isPermission, isRole, type Permission, type Role } from '../src/auth/roles';

t.test('role names', async (t) => {
  t.same([...ROLES], ['monitoring-viewer', 'monitoring-editor', 'monitoring-admin']);
  for (const r of ROLES) t.ok(isRole(r));
  for (const bad of ['admin', 'Monitoring-Admin', '', null, 1, 'monitoring-admin ', '__proto__', 'toString']) t.notOk(isRole(bad));
  t.ok(isPermission('agents:read'));
  t.notOk(isPermission('agents:delete'));
});

t.test('permission matrix', async (t) => {
  const viewer: Permission[] = ['own_token:revoke', 'agents:read', 'metrics:read', 'dashboards:read', 'alerts:read', 'retention:read'];
  const editor: Permission[] = [...viewer, 'dashboards:write', 'rules:write', 'channels:write'];
  const expected: Record<Role, Set<Permission>> = {
    'monitoring-viewer': new Set(viewer),
    'monitoring-editor': new Set(editor),
    'monitoring-admin': new Set(PERMISSIONS),
  };
  for (const role of ROLES) {
    for (const p of PERMISSIONS) t.equal(can(role, p), expected[role].has(p), `${role} ${p}`);
  }
  // Spot checks the API relies on.
  t.notOk(can('monitoring-editor', 'agent_tokens:manage'));
  t.notOk(can('monitoring-editor', 'clients:manage'));
  t.notOk(can('monitoring-viewer', 'retention:write'));
  t.ok(can('monitoring-admin', 'tls:manage'));
  // Certificate status names hosts and expiries; renewing swaps listeners: admin only (SPEC §10).
  for (const p of ['tls:read', 'tls:renew'] as const) {
    t.ok(can('monitoring-admin', p), p);
    t.notOk(can('monitoring-editor', p), p);
    t.notOk(can('monitoring-viewer', p), p);
  }
  t.ok(can('monitoring-admin', 'audit:read'));
  t.notOk(can('monitoring-editor', 'audit:read'));
});

t.test('unknown roles and permissions fail closed', async (t) => {
  t.notOk(can('root' as Role, 'agents:read'));
  t.notOk(can('__proto__' as Role, 'agents:read'));
  t.notOk(can('monitoring-admin', 'everything' as Permission));
});
