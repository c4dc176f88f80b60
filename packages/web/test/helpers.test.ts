// The dashboard's pure helpers: formatting, path matching, the role check, the fleet
// filter, where sign-in leads and the new-password rule.
import type { AgentJson } from '@ximp/shared';
import t from 'tap';
import * as server from '../../collector/src/auth/roles';
import { bytes, duration, localTime, relative, utcTime } from '../src/format';
import { filterAgents } from '../src/pages/fleet-filter';
import { passwordProblem } from '../src/pages/password-rule';
import { nextPath } from '../src/pages/signin-next';
import { findRoute, matchPath } from '../src/router';
import { PERMISSIONS, ROLES, roleCan } from '../src/roles';

t.test('bytes uses binary units with at most three significant digits', async (t) => {
  t.equal(bytes(0), '0 B');
  t.equal(bytes(1023), '1023 B');
  t.equal(bytes(1536), '1.5 KiB');
  t.equal(bytes(10 * 1024 * 1024 + 512 * 1024), '10.5 MiB');
  t.equal(bytes(500 * 1024 ** 3), '500 GiB');
  t.equal(bytes(-2048), '-2 KiB');
});

t.test('duration shows the two largest units, milliseconds under a second', async (t) => {
  t.equal(duration(250), '250 ms');
  t.equal(duration(93_000), '1m 33s');
  t.equal(duration(90_061_000), '1d 1h');
  t.equal(duration(3_600_000), '1h');
  t.equal(duration(-5000), '-5s');
  t.equal(duration(93_000, 1), '1m');
});

t.test('relative says how long ago or how long until', async (t) => {
  const now = Date.UTC(2026, 0, 1, 12);
  t.equal(relative(now - 12_000, now), '12s ago');
  t.equal(relative(now + 3 * 86_400_000, now), 'in 3d');
  t.equal(relative(now - 200, now), 'just now');
});

t.test('times: local wall clock, and UTC for the title', async (t) => {
  const ms = Date.UTC(2026, 11, 1, 22, 4, 5);
  t.equal(utcTime(ms), '2026-12-01 22:04:05 UTC');
  t.equal(utcTime('2026-12-01T22:04:05.000Z'), '2026-12-01 22:04:05 UTC');
  const d = new Date(ms);
  t.match(localTime(ms), new RegExp(`^\\d{4}-\\d{2}-\\d{2} ${String(d.getHours()).padStart(2, '0')}:04:05$`));
});

t.test('paths match patterns segment by segment, parameters decoded', async (t) => {
  t.same(matchPath('/fleet', '/fleet'), {});
  t.same(matchPath('/fleet', '/fleet/'), {});
  t.same(matchPath('/nodes/{node}', '/nodes/web%2D1'), { node: 'web-1' });
  t.equal(matchPath('/nodes/{node}', '/nodes'), null);
  t.equal(matchPath('/nodes/{node}', '/nodes/a/b'), null);
  t.equal(matchPath('/nodes/{node}', '/nodes/%E0%A4%A'), null, 'a malformed escape matches nothing');
  const page = (): void => undefined;
  const routes = [
    { path: '/dashboards', page, title: 'list' },
    { path: '/dashboards/{id}', page, title: 'one' },
  ];
  t.equal(findRoute(routes, '/dashboards/x')?.route.title, 'one');
  t.same(findRoute(routes, '/dashboards/x')?.params, { id: 'x' });
  t.equal(findRoute(routes, '/nowhere'), null);
});

t.test("the dashboard checks roles with the collector's table", async (t) => {
  t.same([...ROLES], [...server.ROLES]);
  t.same([...PERMISSIONS], [...server.PERMISSIONS]);
  for (const role of ROLES) {
    for (const permission of PERMISSIONS) t.equal(roleCan(role, permission), server.can(role, permission), `${role} ${permission}`);
  }
  t.notOk(roleCan('monitoring-viewer', 'users:manage'), 'a viewer may not manage users');
  t.ok(roleCan('monitoring-admin', 'users:manage'), 'an admin may');
  t.notOk(roleCan('root', 'agents:read'), 'an unknown role may do nothing');
  t.notOk(roleCan('constructor', 'agents:read'), 'not even through Object.prototype');
});

t.test('the fleet search matches node, address, version and token; the state filter is exact', async (t) => {
  const a = (node: string, state: string, address: string | null): AgentJson => ({
    node,
    state,
    address,
    last_seen: null,
    version: '0.1.0',
    token_id: null,
    runtime: null,
    store: 'ok',
    token_expires_at: null,
    clock_skew_ms: null,
    spool_backlog: null,
  });
  const agents = [a('web-2', 'ACTIVE', '10.0.0.2'), a('db-1', 'DISCONNECTED', '10.0.0.9'), a('web-1', 'STALE', null)];
  t.same(filterAgents(agents, '', '').map((x) => x.node), ['db-1', 'web-1', 'web-2'], 'sorted by node');
  t.same(filterAgents(agents, 'WEB', '').map((x) => x.node), ['web-1', 'web-2']);
  t.same(filterAgents(agents, '10.0.0.9', '').map((x) => x.node), ['db-1']);
  t.same(filterAgents(agents, '', 'DISCONNECTED').map((x) => x.node), ['db-1']);
  t.same(filterAgents(agents, 'web', 'ACTIVE').map((x) => x.node), ['web-2']);
});

t.test('after sign-in only a path of this app is followed', async (t) => {
  t.equal(nextPath('?next=%2Fnodes%2Fweb-1'), '/nodes/web-1');
  t.equal(nextPath('?next=https%3A%2F%2Fevil.example'), '/fleet');
  t.equal(nextPath('?next=%2F%2Fevil.example'), '/fleet');
  t.equal(nextPath('?next=%2F%5Cevil.example'), '/fleet');
  t.equal(nextPath(''), '/fleet');
});

t.test('a new password needs 12 characters, must differ from the old and be typed twice alike', async (t) => {
  t.match(passwordProblem('old-password-1', 'short', 'short'), /12 characters/);
  t.match(passwordProblem('same-password-1', 'same-password-1', 'same-password-1'), /differ from the current/);
  t.match(passwordProblem('old-password-1', 'new-password-12', 'new-password-13'), /differ/);
  t.equal(passwordProblem('old-password-1', 'new-password-12', 'new-password-12'), null);
});
