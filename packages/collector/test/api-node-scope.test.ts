/**
 * Node-scoped API clients (SPEC §10) on a real ApiServer: the scope is set at creation and shown
 * in the list, collections are filtered to it, a node outside it named by ID answers 401 whether
 * it exists or not, /metrics refuses a scoped client, and the role check is unchanged by a scope.
 */
import t, { type Test } from 'tap';
import { parseNodeGlob } from '@ximp/shared';
import { AlertHistory } from '../dist/alerting/alert-history';
import type { KeptAlert } from '../src/alerting/alert-instances';
import { request, startApi, type Harness } from './helpers/api-harness';

const JSON_TYPE = { 'Content-Type': 'application/json' };
const NOW = Date.now();

function scopedToken(h: Harness, role: 'monitoring-viewer' | 'monitoring-editor' | 'monitoring-admin', glob: string): string {
  const created = h.deps.clients.create(`scoped ${role}`, role, NOW, parseNodeGlob(glob));
  return h.accessToken({ id: created.clientId, secret: created.clientSecret });
}

function alert(node: string | null, instance = node ?? 'api'): KeptAlert {
  return { rule: node === null ? 'cert-expiry' : 'agent-down', instance, node, labels: {}, status: 'firing', activeSince: NOW, firedAt: NOW, value: 1 };
}

async function setup(t: Test): Promise<{ h: Harness; admin: string }> {
  const h = await startApi(t);
  h.agents.push(
    { node: 'web-1', state: 'ACTIVE', lastSeenMs: NOW, address: '192.0.2.1:4000', version: '0.1.0', tokenId: 'aaaaaaaaaaaa', runtime: 'node v20.20.2' },
    { node: 'web-2', state: 'PENDING', lastSeenMs: null, address: null, version: null, tokenId: 'bbbbbbbbbbbb', runtime: null },
    { node: 'db-1', state: 'ACTIVE', lastSeenMs: NOW, address: '192.0.2.2:4000', version: '0.1.0', tokenId: 'cccccccccccc', runtime: 'node v24.22.3' },
  );
  const history = new AlertHistory(h.db);
  for (const [i, node] of (['web-1', 'db-1', null] as const).entries()) {
    history.record({ timeMs: NOW - 1000 + i, rule: 'r', instance: node ?? 'api', node, event: 'firing', value: 1, channel: null, outcome: null, detail: null });
  }
  h.deps.alerting = {
    rules: undefined as never,
    channels: undefined as never,
    active: () => [alert('web-1'), alert('db-1'), alert(null)],
    history,
    testChannel: () => Promise.reject(new Error('not in this test')),
  };
  return { h, admin: h.accessToken(h.createClient('monitoring-admin', 'admin')) };
}

t.test('a client is created with a node scope, validated, and listed with it', async (t) => {
  const { h, admin } = await setup(t);
  const created = await request(h, 'POST', '/api/v1/clients', {
    bearer: admin,
    headers: JSON_TYPE,
    body: JSON.stringify({ name: 'web team', role: 'monitoring-viewer', nodes: ' web-* , web-*' }),
  });
  t.equal(created.status, 201);
  t.equal(created.json.nodes, 'web-*', 'normalised: spaces and repeats gone');
  const bad = await request(h, 'POST', '/api/v1/clients', {
    bearer: admin,
    headers: JSON_TYPE,
    body: JSON.stringify({ name: 'x', role: 'monitoring-viewer', nodes: 'Web_*' }),
  });
  t.equal(bad.status, 400);
  t.match(bad.json.message, /^nodes: expected node names with \* and \?/);
  const empty = await request(h, 'POST', '/api/v1/clients', { bearer: admin, headers: JSON_TYPE, body: '{"name":"x","role":"monitoring-viewer","nodes":""}' });
  t.equal(empty.status, 400);
  const list = await request(h, 'GET', '/api/v1/clients', { bearer: admin });
  t.same(list.json.map((c: { name: string; nodes: string | null }) => [c.name, c.nodes]), [['admin', null], ['web team', 'web-*']]);
});

t.test('a scoped viewer sees only its nodes; others by ID answer 401', async (t) => {
  const { h, admin } = await setup(t);
  const web = scopedToken(h, 'monitoring-viewer', 'web-*');

  const agents = await request(h, 'GET', '/api/v1/agents', { bearer: web });
  t.same(agents.json.map((a: { node: string }) => a.node), ['web-1', 'web-2']);
  t.same((await request(h, 'GET', '/api/v1/agents?node=db-1', { bearer: web })).json, [], 'a filter on a hidden node finds nothing');
  t.equal((await request(h, 'GET', '/api/v1/agents/web-2', { bearer: web })).status, 200);

  for (const path of ['/api/v1/agents/db-1', '/api/v1/agents/db-9', '/api/v1/nodes/db-1/series?metric=node_load1']) {
    const res = await request(h, 'GET', path, { bearer: web });
    t.equal(res.status, 401, `${path}: 401, whether the node exists or not`);
    t.equal(res.json.error, 'node_not_visible');
    t.match(res.headers['www-authenticate'], /^Bearer realm="ximp"/);
    t.notMatch(res.text, /db-/, 'the answer does not repeat the hidden node');
  }
  t.equal((await request(h, 'GET', '/api/v1/nodes/web-1/series?metric=node_load1', { bearer: web })).status, 200);
  t.equal((await request(h, 'GET', '/api/v1/agents/db-1', { bearer: admin })).status, 200, 'an unscoped client sees every node');

  const active = await request(h, 'GET', '/api/v1/alerts', { bearer: web });
  t.same(active.json.map((a: { node: string }) => a.node), ['web-1'], "certificate alerts (no node) are not a scoped client's");
  t.equal((await request(h, 'GET', '/api/v1/alerts', { bearer: admin })).json.length, 3);
  const history = await request(h, 'GET', '/api/v1/alerts/history', { bearer: web });
  t.same(history.json.map((e: { node: string }) => e.node), ['web-1']);
  t.same((await request(h, 'GET', '/api/v1/alerts/history?node=db-1', { bearer: web })).json, []);
  t.equal((await request(h, 'GET', '/api/v1/alerts/history', { bearer: admin })).json.length, 3);

  const metrics = await request(h, 'GET', '/metrics', { bearer: web });
  t.equal(metrics.status, 403, '/metrics names every node');
  t.equal(metrics.json.error, 'insufficient_scope');
  t.equal((await request(h, 'GET', '/metrics', { bearer: h.accessToken(h.createClient('monitoring-viewer')) })).status, 200);
});

t.test('a scope limits what a role reads; it neither adds nor removes a permission', async (t) => {
  const { h } = await setup(t);
  const viewer = scopedToken(h, 'monitoring-viewer', 'web-*');
  t.equal((await request(h, 'GET', '/api/v1/agent-tokens', { bearer: viewer })).status, 403);
  const scopedAdmin = scopedToken(h, 'monitoring-admin', 'web-*');
  t.equal((await request(h, 'GET', '/api/v1/clients', { bearer: scopedAdmin })).status, 200, 'admin routes stay the role\'s');
  t.same((await request(h, 'GET', '/api/v1/agents', { bearer: scopedAdmin })).json.map((a: { node: string }) => a.node), ['web-1', 'web-2']);
});

t.test('the last active monitoring-admin cannot be revoked', async (t) => {
  const { h, admin } = await setup(t);
  const adminId = h.deps.clients.list()[0].id;
  const last = await request(h, 'DELETE', `/api/v1/clients/${adminId}`, { bearer: admin });
  t.equal(last.status, 409);
  t.equal(last.json.error, 'conflict');
  t.match(last.json.message, /last active monitoring-admin/);
  t.equal(h.deps.clients.get(adminId)!.status, 'active');
  t.equal((await request(h, 'GET', '/api/v1/clients', { bearer: admin })).status, 200, 'its token still works');

  // A scoped or revoked admin still counts as an admin; once another exists, the first may go.
  const second = h.deps.clients.create('second admin', 'monitoring-admin', NOW);
  t.equal((await request(h, 'DELETE', `/api/v1/clients/${adminId}`, { bearer: admin })).status, 200);
  const secondToken = h.accessToken({ id: second.clientId, secret: second.clientSecret });
  t.equal((await request(h, 'DELETE', `/api/v1/clients/${second.clientId}`, { bearer: secondToken })).status, 409, 'now the second is the last');
  t.same(
    h.deps.audit.list({ limit: 10 }).map((e: { action: string; target: string }) => [e.action, e.target]),
    [['client.revoke', adminId]],
    'a refused revocation leaves no audit entry',
  );
});

t.test('POST /api/v1/revoke (RFC 7009): own tokens at once, 200 for anything else', async (t) => {
  const { h } = await setup(t);
  const viewerClient = h.createClient('monitoring-viewer');
  const mine = h.accessToken(viewerClient);
  const other = h.accessToken(viewerClient);
  const someoneElses = h.accessToken(h.createClient('monitoring-editor'));
  const form = (body: Record<string, string>) => ({
    bearer: mine,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  });

  const foreign = await request(h, 'POST', '/api/v1/revoke', form({ token: someoneElses }));
  t.equal(foreign.status, 200, "another client's token: 200 all the same");
  t.equal((await request(h, 'GET', '/api/v1/agents', { bearer: someoneElses })).status, 200, 'and it still works');
  const unknown = await request(h, 'POST', '/api/v1/revoke', form({ token: 'xat_' + 'q'.repeat(52), token_type_hint: 'access_token' }));
  t.equal(unknown.status, 200, 'an unknown token: 200 (§2.2)');
  t.same(unknown.json, {});
  t.equal(unknown.headers['cache-control'], 'no-store');
  t.equal((await request(h, 'POST', '/api/v1/revoke', form({ token_type_hint: 'access_token' }))).status, 400, 'token is required');
  t.equal((await request(h, 'POST', '/api/v1/revoke', { bearer: mine })).status, 400, 'a form is required');
  t.equal((await request(h, 'POST', '/api/v1/revoke', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${mine}` })).status, 401, 'the caller authenticates');

  const revokedOther = await request(h, 'POST', '/api/v1/revoke', form({ token: other, token_type_hint: 'refresh_token' }));
  t.equal(revokedOther.status, 200, 'a wrong hint is ignored (§2.1)');
  t.equal((await request(h, 'GET', '/api/v1/agents', { bearer: other })).status, 401, 'revoked at once');
  t.equal((await request(h, 'POST', '/api/v1/revoke', form({ token: mine }))).status, 200, 'the token in use revokes itself');
  const after = await request(h, 'GET', '/api/v1/agents', { bearer: mine });
  t.equal(after.status, 401);
  t.equal(after.json.error, 'invalid_token');
  t.notMatch(h.logText(), mine.slice(4), 'no token in the log');
});
