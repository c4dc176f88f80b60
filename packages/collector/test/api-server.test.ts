import * as net from 'node:net';
import * as tls from 'node:tls';
import t, { type Test } from 'tap';
import { ApiServer } from '../dist/api/api-server';
import { HSTS_VALUE } from '../dist/api/json-response';
import { request, startApi, type Harness } from './helpers/api-harness';

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const JSON_TYPE = { 'Content-Type': 'application/json' };

function basic(id: string, secret: string): string {
  return 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');
}

t.test('HSTS on every response, errors included', async (t) => {
  const h = await startApi(t);
  const viewer = h.accessToken(h.createClient('monitoring-viewer'));
  const cases: [string, string, number, string?][] = [
    ['GET', '/healthz', 200],
    ['GET', '/api/v1/agents', 401],
    ['GET', '/nope', 404],
    ['PUT', '/api/v1/agents', 405],
    ['POST', '/api/v1/agent-tokens', 403, viewer],
    ['POST', '/api/v1/token', 400],
  ];
  for (const [method, path, status, bearer] of cases) {
    const res = await request(h, method, path, { bearer, headers: method === 'POST' ? FORM : {} });
    t.equal(res.status, status, `${method} ${path}`);
    t.equal(res.headers['strict-transport-security'], HSTS_VALUE, `${method} ${path} carries HSTS`);
    t.match(res.headers['content-type'], /^application\/json/);
  }
  // A request Node's parser refuses still gets HSTS.
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: h.server.address().port, ca: h.caPem, servername: 'localhost' }, () => {
      socket.write('GARBAGE / HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  t.match(raw, /^HTTP\/1\.1 400 /);
  t.match(raw, /Strict-Transport-Security: max-age=31536000; includeSubDomains/);
  const health = await request(h, 'GET', '/healthz');
  t.same(health.json, { status: 'ok' });
  const wrongMethod = await request(h, 'PUT', '/api/v1/agents');
  t.equal(wrongMethod.headers.allow, 'GET');
});

t.test('client credentials grant (RFC 6749 §4.4)', async (t) => {
  const h = await startApi(t, { accessTokenTtlMs: 600_000 });
  const admin = h.createClient('monitoring-admin');

  const viaBody = await request(h, 'POST', '/api/v1/token', {
    headers: FORM,
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: admin.id, client_secret: admin.secret }).toString(),
  });
  t.equal(viaBody.status, 200);
  t.equal(viaBody.json.token_type, 'bearer');
  t.equal(viaBody.json.expires_in, 600);
  t.match(viaBody.json.access_token, /^xat_[a-z0-9]{52}$/);
  t.equal(viaBody.headers['cache-control'], 'no-store');

  const viaBasic = await request(h, 'POST', '/api/v1/token', {
    headers: { ...FORM, Authorization: basic(admin.id, admin.secret) },
    body: 'grant_type=client_credentials',
  });
  t.equal(viaBasic.status, 200);
  t.not(viaBasic.json.access_token, viaBody.json.access_token);

  // Both tokens work on a protected route.
  for (const token of [viaBody.json.access_token, viaBasic.json.access_token]) {
    t.equal((await request(h, 'GET', '/api/v1/agents', { bearer: token })).status, 200);
  }

  // Its last character changed, always to a different one (a secret may already end in "x").
  const wrongSecret = admin.secret.slice(0, -1) + (admin.secret.endsWith('x') ? 'y' : 'x');
  const wrongBasic = await request(h, 'POST', '/api/v1/token', {
    headers: { ...FORM, Authorization: basic(admin.id, wrongSecret) },
    body: 'grant_type=client_credentials',
  });
  t.equal(wrongBasic.status, 401);
  t.equal(wrongBasic.json.error, 'invalid_client');
  t.match(wrongBasic.headers['www-authenticate'], /^Basic /);
  t.equal(wrongBasic.headers['cache-control'], 'no-store');

  const wrongBody = await request(h, 'POST', '/api/v1/token', {
    headers: FORM,
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: admin.id, client_secret: 'nope' }).toString(),
  });
  t.equal(wrongBody.status, 401);
  t.equal(wrongBody.json.error, 'invalid_client');
  t.equal(wrongBody.headers['www-authenticate'], undefined, 'no Basic challenge when Basic was not used');

  const unknownClient = await request(h, 'POST', '/api/v1/token', {
    headers: FORM,
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'xc_000000000000', client_secret: admin.secret }).toString(),
  });
  t.equal(unknownClient.json.error, 'invalid_client');

  const noCredentials = await request(h, 'POST', '/api/v1/token', { headers: FORM, body: 'grant_type=client_credentials' });
  t.equal(noCredentials.status, 401);
  t.equal(noCredentials.json.error, 'invalid_client');

  const badGrant = await request(h, 'POST', '/api/v1/token', {
    headers: { ...FORM, Authorization: basic(admin.id, admin.secret) },
    body: 'grant_type=password',
  });
  t.equal(badGrant.status, 400);
  t.equal(badGrant.json.error, 'unsupported_grant_type');

  const noGrant = await request(h, 'POST', '/api/v1/token', { headers: FORM, body: 'client_id=x' });
  t.equal(noGrant.status, 400);
  t.equal(noGrant.json.error, 'invalid_request');

  const twice = await request(h, 'POST', '/api/v1/token', {
    headers: FORM,
    body: 'grant_type=client_credentials&grant_type=client_credentials',
  });
  t.equal(twice.json.error, 'invalid_request');

  const bothMethods = await request(h, 'POST', '/api/v1/token', {
    headers: { ...FORM, Authorization: basic(admin.id, admin.secret) },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_secret: admin.secret }).toString(),
  });
  t.equal(bothMethods.json.error, 'invalid_request');

  const jsonBody = await request(h, 'POST', '/api/v1/token', {
    headers: { ...JSON_TYPE, Authorization: basic(admin.id, admin.secret) },
    body: '{"grant_type":"client_credentials"}',
  });
  t.equal(jsonBody.status, 400);
  t.equal(jsonBody.json.error, 'invalid_request');

  t.notMatch(h.logText(), admin.secret, 'the client secret never reaches the log');
  t.notMatch(h.logText(), viaBody.json.access_token, 'nor an access token');
});

t.test('bearer check', async (t) => {
  const h = await startApi(t);
  const none = await request(h, 'GET', '/api/v1/agents');
  t.equal(none.status, 401);
  t.equal(none.headers['www-authenticate'], 'Bearer realm="ximp"');

  const bad = await request(h, 'GET', '/api/v1/agents', { bearer: 'xat_' + 'a'.repeat(52) });
  t.equal(bad.status, 401);
  t.match(bad.headers['www-authenticate'], /^Bearer .*error="invalid_token"/);
  t.equal(bad.json.error, 'invalid_token');

  const otherScheme = await request(h, 'GET', '/api/v1/agents', { headers: { Authorization: 'Basic Zm9vOmJhcg==' } });
  t.equal(otherScheme.status, 401);

  // /metrics needs a viewer token as well.
  t.equal((await request(h, 'GET', '/metrics')).status, 401);
  const viewer = h.accessToken(h.createClient('monitoring-viewer'));
  const metrics = await request(h, 'GET', '/metrics', { bearer: viewer });
  t.equal(metrics.status, 200);
  t.match(metrics.text, /^# TYPE ximp_collector_agents gauge/);
  t.equal(metrics.headers['strict-transport-security'], HSTS_VALUE);
});

t.test('an expired access token is refused', async (t) => {
  const h = await startApi(t, { accessTokenTtlMs: 1000 });
  const admin = h.createClient('monitoring-admin');
  const token = h.accessToken(admin);
  t.equal((await request(h, 'GET', '/api/v1/agents', { bearer: token })).status, 200);
  const realNow = h.deps.now;
  h.deps.now = () => realNow() + 2000;
  const res = await request(h, 'GET', '/api/v1/agents', { bearer: token });
  t.equal(res.status, 401);
  t.match(res.headers['www-authenticate'], /error="invalid_token"/);
});

t.test('role check comes before the body is read or validated', async (t) => {
  const h = await startApi(t);
  const viewer = h.accessToken(h.createClient('monitoring-viewer'));
  const editor = h.accessToken(h.createClient('monitoring-editor'));
  for (const body of ['{not json', '{"node":"Bad Node!"}', '{"node":"ok"}', 'x'.repeat(100_000)]) {
    const res = await request(h, 'POST', '/api/v1/agent-tokens', { bearer: viewer, headers: JSON_TYPE, body });
    t.equal(res.status, 403);
    t.equal(res.json.error, 'insufficient_scope');
    t.match(res.headers['www-authenticate'], /error="insufficient_scope"/);
  }
  for (const [method, path] of [
    ['GET', '/api/v1/agent-tokens'],
    ['DELETE', '/api/v1/agent-tokens/abcdefabcdef'],
    ['GET', '/api/v1/clients'],
    ['POST', '/api/v1/clients'],
    ['DELETE', '/api/v1/clients/xc_abcdefabcdef'],
    ['POST', '/api/v1/clients/xc_abcdefabcdef/rotate-secret'],
    ['GET', '/api/v1/audit'],
  ]) {
    t.equal((await request(h, method, path, { bearer: editor })).status, 403, `editor: ${method} ${path}`);
  }
  t.equal((await request(h, 'GET', '/api/v1/agents', { bearer: viewer })).status, 200);
  t.equal(h.deps.tokens.list().length, 0, 'nothing was created');
});

t.test('allow_cidrs refuses other addresses when the connection is accepted, before TLS', async (t) => {
  const outside = await startApi(t, { allowCidrs: ['10.0.0.0/8', 'fd00::/8'] });
  for (const path of ['/healthz', '/api/v1/agents', '/api/v1/token']) {
    await t.rejects(request(outside, 'GET', path), `${path}: no TLS, no answer`);
  }
  // A plain TCP connection is closed at once, without a byte: the handshake never starts.
  const { port } = outside.server.address();
  const seen = await new Promise<{ bytes: number; ms: number }>((resolve) => {
    const started = Date.now();
    let bytes = 0;
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('data', (d: Buffer) => (bytes += d.length));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ bytes, ms: Date.now() - started }));
  });
  t.equal(seen.bytes, 0, 'nothing was sent');
  t.ok(seen.ms < 1000, `closed at accept (${seen.ms} ms)`);
  const inside = await startApi(t, { allowCidrs: ['127.0.0.0/8'] });
  t.equal((await request(inside, 'GET', '/healthz')).status, 200);
});

t.test('TLS 1.2 clients are refused at the handshake', async (t) => {
  const h = await startApi(t);
  const { port } = h.server.address();
  const err = await new Promise<Error | null>((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: h.caPem, maxVersion: 'TLSv1.2', servername: 'localhost' });
    socket.on('secureConnect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.on('error', resolve);
  });
  t.ok(err, 'handshake failed');
  t.match(String((err as NodeJS.ErrnoException)?.code ?? err?.message), /PROTOCOL|VERSION|ALERT/);

  const ok = await new Promise<string>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: h.caPem, servername: 'localhost' });
    socket.on('secureConnect', () => {
      const version = socket.getProtocol() ?? '';
      socket.destroy();
      resolve(version);
    });
    socket.on('error', reject);
  });
  t.equal(ok, 'TLSv1.3');
});

t.test('request bodies: size bound, JSON, fields', async (t) => {
  const h = await startApi(t);
  const admin = h.accessToken(h.createClient('monitoring-admin'));
  const post = (body: string, headers: Record<string, string> = JSON_TYPE) =>
    request(h, 'POST', '/api/v1/agent-tokens', { bearer: admin, headers, body });

  const big = await post(JSON.stringify({ node: 'n1', pad: 'x'.repeat(70 * 1024) }));
  t.equal(big.status, 413);
  t.equal(big.headers['strict-transport-security'], HSTS_VALUE);

  const notJson = await post('{"node":');
  t.equal(notJson.status, 400);
  t.equal(notJson.json.error, 'invalid_request');

  const array = await post('[]');
  t.equal(array.json.error, 'invalid_request');

  const missing = await post('{}');
  t.match(missing.json.message, /^node:/);

  const wrongType = await post('{"node": 5}');
  t.match(wrongType.json.message, /^node: expected a string/);

  const badNode = await post('{"node":"Compute_01"}');
  t.equal(badNode.status, 400);
  t.match(badNode.json.message, /^node:/);

  const longNode = await post(JSON.stringify({ node: 'a'.repeat(254) }));
  t.equal(longNode.status, 400);

  const unknown = await post('{"node":"n1","nodes":"n2"}');
  t.match(unknown.json.message, /^nodes: unknown field/);

  const badExpiry = await post('{"node":"n1","expires":"forever"}');
  t.match(badExpiry.json.message, /^expires:/);

  const textType = await post('{"node":"n1"}', { 'Content-Type': 'text/plain' });
  t.equal(textType.status, 415);

  t.equal(h.deps.tokens.list().length, 0);
});

async function adminSetup(t: Test): Promise<{ h: Harness; admin: string; adminId: string }> {
  const h = await startApi(t);
  const client = h.createClient('monitoring-admin');
  return { h, admin: h.accessToken(client), adminId: client.id };
}

t.test('agent tokens: create, list, revoke, audit', async (t) => {
  const { h, admin, adminId } = await adminSetup(t);
  const before = Date.now();
  const created = await request(h, 'POST', '/api/v1/agent-tokens', {
    bearer: admin,
    headers: JSON_TYPE,
    body: JSON.stringify({ node: 'compute-01', expires: '30d' }),
  });
  t.equal(created.status, 201);
  t.same(Object.keys(created.json).sort(), ['created', 'expires', 'id', 'node', 'token']);
  t.match(created.json.token, new RegExp(`^ximp_${created.json.id}_[a-z0-9]{52}$`));
  t.equal(created.headers['cache-control'], 'no-store');
  const expiresMs = Date.parse(created.json.expires);
  t.ok(expiresMs >= before + 30 * 86_400_000 && expiresMs <= Date.now() + 30 * 86_400_000);
  t.match(created.json.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  const defaultExpiry = await request(h, 'POST', '/api/v1/agent-tokens', { bearer: admin, headers: JSON_TYPE, body: '{"node":"compute-02"}' });
  t.ok(Date.parse(defaultExpiry.json.expires) - Date.parse(defaultExpiry.json.created) === 365 * 86_400_000);

  const all = await request(h, 'GET', '/api/v1/agent-tokens', { bearer: admin });
  t.equal(all.json.length, 2);
  t.same(Object.keys(all.json[0]).sort(), ['created', 'days_left', 'expires', 'id', 'last_used', 'node', 'revoked', 'status']);
  t.equal(all.json[0].status, 'valid');
  t.equal(all.json[0].days_left, 29);
  t.equal(all.json[0].last_used, null);
  t.notMatch(all.text, created.json.token, 'a list never shows the token');

  const one = await request(h, 'GET', '/api/v1/agent-tokens?node=compute-02', { bearer: admin });
  t.same(one.json.map((x: { node: string }) => x.node), ['compute-02']);
  const none = await request(h, 'GET', '/api/v1/agent-tokens?node=nothing-here', { bearer: admin });
  t.same(none.json, []);

  h.liveSessions.set(created.json.id, [{ node: 'compute-01', address: '192.0.2.7:50412' }]);
  const revoked = await request(h, 'DELETE', `/api/v1/agent-tokens/${created.json.id}`, { bearer: admin });
  t.equal(revoked.status, 200);
  t.same(revoked.json, { id: created.json.id, status: 'revoked', closed_sessions: [{ node: 'compute-01', address: '192.0.2.7:50412' }] });
  t.same(h.closeCalls, [{ tokenId: created.json.id, code: 4001, reason: 'token revoked' }]);

  const again = await request(h, 'DELETE', `/api/v1/agent-tokens/${created.json.id}`, { bearer: admin });
  t.equal(again.status, 200);
  t.equal(again.json.status, 'already_revoked');
  t.same(again.json.closed_sessions, []);

  const unknown = await request(h, 'DELETE', '/api/v1/agent-tokens/zzzzzzzzzzzz', { bearer: admin });
  t.equal(unknown.status, 404);
  const malformed = await request(h, 'DELETE', `/api/v1/agent-tokens/${encodeURIComponent(created.json.token)}`, { bearer: admin });
  t.equal(malformed.status, 404);
  t.notMatch(malformed.text, created.json.token, 'a pasted token is not echoed');

  const listed = await request(h, 'GET', '/api/v1/agent-tokens?node=compute-01', { bearer: admin });
  t.equal(listed.json[0].status, 'revoked');
  t.match(listed.json[0].revoked, /Z$/);

  const audit = h.deps.audit.list();
  t.same(
    audit.map((e) => [e.action, e.actor, e.target, e.source]).reverse(),
    [
      ['agent_token.create', adminId, created.json.id, '127.0.0.1'],
      ['agent_token.create', adminId, defaultExpiry.json.id, '127.0.0.1'],
      ['agent_token.revoke', adminId, created.json.id, '127.0.0.1'],
    ],
    'every change audited once, the repeat revoke not',
  );
  const logs = h.logText();
  t.notMatch(logs, created.json.token);
  t.notMatch(logs, defaultExpiry.json.token);
  t.match(logs, /"msg":"agent token created"/);
  t.match(logs, /"msg":"api request"/);
});

t.test('API clients: create, list, rotate, revoke takes effect at once', async (t) => {
  const { h, admin, adminId } = await adminSetup(t);
  const created = await request(h, 'POST', '/api/v1/clients', {
    bearer: admin,
    headers: JSON_TYPE,
    body: JSON.stringify({ name: 'grafana', role: 'monitoring-viewer' }),
  });
  t.equal(created.status, 201);
  t.equal(created.headers['cache-control'], 'no-store');
  t.same(Object.keys(created.json).sort(), ['client_id', 'client_secret', 'created', 'name', 'nodes', 'role']);
  const { client_id: id, client_secret: secret } = created.json;

  const badRole = await request(h, 'POST', '/api/v1/clients', { bearer: admin, headers: JSON_TYPE, body: '{"name":"x","role":"root"}' });
  t.equal(badRole.status, 400);
  t.match(badRole.json.message, /^role:/);
  const badName = await request(h, 'POST', '/api/v1/clients', {
    bearer: admin,
    headers: JSON_TYPE,
    body: '{"name":"","role":"monitoring-viewer"}',
  });
  t.match(badName.json.message, /^name:/);

  const list = await request(h, 'GET', '/api/v1/clients', { bearer: admin });
  t.equal(list.json.length, 2);
  t.notMatch(list.text, secret);
  t.same(Object.keys(list.json[1]).sort(), ['created', 'id', 'last_used', 'name', 'nodes', 'revoked', 'role', 'secret_rotated', 'status']);

  const viewerToken = h.accessToken({ id, secret });
  t.equal((await request(h, 'GET', '/api/v1/agents', { bearer: viewerToken })).status, 200);

  const rotated = await request(h, 'POST', `/api/v1/clients/${id}/rotate-secret`, { bearer: admin });
  t.equal(rotated.status, 200);
  t.equal(rotated.headers['cache-control'], 'no-store');
  t.not(rotated.json.client_secret, secret);
  t.equal((await request(h, 'GET', '/api/v1/agents', { bearer: viewerToken })).status, 401, 'old access tokens die with the old secret');
  const newToken = h.accessToken({ id, secret: rotated.json.client_secret });

  const revoked = await request(h, 'DELETE', `/api/v1/clients/${id}`, { bearer: admin });
  t.same(revoked.json, { id, status: 'revoked' });
  t.equal((await request(h, 'GET', '/api/v1/agents', { bearer: newToken })).status, 401, 'revocation takes effect at once');
  const again = await request(h, 'DELETE', `/api/v1/clients/${id}`, { bearer: admin });
  t.same(again.json, { id, status: 'already_revoked' });
  t.equal((await request(h, 'DELETE', '/api/v1/clients/xc_000000000000', { bearer: admin })).status, 404);
  t.equal((await request(h, 'POST', `/api/v1/clients/${id}/rotate-secret`, { bearer: admin })).status, 409);
  t.equal((await request(h, 'POST', '/api/v1/clients/xc_000000000000/rotate-secret', { bearer: admin })).status, 404);

  t.same(
    h.deps.audit.list().map((e) => [e.action, e.actor, e.target]).reverse(),
    [
      ['client.create', adminId, id],
      ['client.rotate_secret', adminId, id],
      ['client.revoke', adminId, id],
    ],
  );
  const logs = h.logText();
  t.notMatch(logs, secret);
  t.notMatch(logs, rotated.json.client_secret);
});

t.test('agents and series', async (t) => {
  const { h, admin } = await adminSetup(t);
  const viewer = h.accessToken(h.createClient('monitoring-viewer'));
  h.agents.push(
    {
      node: 'web-1',
      state: 'ACTIVE',
      lastSeenMs: Date.UTC(2026, 10, 23, 19, 31, 5),
      address: '192.0.2.1:4000',
      version: '0.1.0',
      tokenId: 'aaaaaaaaaaaa',
      runtime: 'node v24.22.3',
      tokenExpiresMs: Date.UTC(2027, 10, 23),
      clockSkewMs: -120,
      spoolBacklog: 3,
      host: { hostname: 'web-1', os: 'Debian 12', kernel: '6.1.0', arch: 'x64', cpuModel: 'EPYC', cpuCount: 4, memoryBytes: 8e9, virtualization: 'kvm', runtime: 'node v24.22.3' },
    },
    { node: 'web-2', state: 'PENDING', lastSeenMs: null, address: null, version: null, tokenId: 'bbbbbbbbbbbb', runtime: null },
  );
  const list = await request(h, 'GET', '/api/v1/agents', { bearer: viewer });
  t.same(list.json[0], {
    node: 'web-1',
    state: 'ACTIVE',
    last_seen: '2026-11-23T19:31:05.000Z',
    address: '192.0.2.1:4000',
    version: '0.1.0',
    token_id: 'aaaaaaaaaaaa',
    runtime: 'node v24.22.3',
    store: 'ok',
    token_expires_at: '2027-11-23T00:00:00.000Z',
    clock_skew_ms: -120,
    spool_backlog: 3,
  });
  t.match(list.json[1], { token_expires_at: null, clock_skew_ms: null, spool_backlog: null }, 'null where the registry does not know them');
  t.notOk('host' in list.json[0], 'host facts only on the single-agent route');
  const one = await request(h, 'GET', '/api/v1/agents/web-1', { bearer: viewer });
  t.same(one.json.host, {
    hostname: 'web-1',
    os: 'Debian 12',
    kernel: '6.1.0',
    arch: 'x64',
    cpu_model: 'EPYC',
    cpu_count: 4,
    memory_bytes: 8e9,
    virtualization: 'kvm',
    runtime: 'node v24.22.3',
  }, 'the host facts of the Hello, snake_case');
  t.equal((await request(h, 'GET', '/api/v1/agents/web-2', { bearer: viewer })).json.host, null, 'before any Hello: null');
  t.equal(list.json[1].last_seen, null);
  t.equal(list.json[1].runtime, null, 'no Hello yet: no runtime');
  t.same((await request(h, 'GET', '/api/v1/agents?node=web-2', { bearer: viewer })).json.map((a: { node: string }) => a.node), ['web-2']);
  t.same((await request(h, 'GET', '/api/v1/agents?node=none', { bearer: viewer })).json, []);
  t.equal((await request(h, 'GET', '/api/v1/agents/web-2', { bearer: viewer })).json.state, 'PENDING');
  t.equal((await request(h, 'GET', '/api/v1/agents/web-3', { bearer: viewer })).status, 404);
  t.equal((await request(h, 'GET', '/api/v1/agents/Web_3', { bearer: viewer })).status, 400);

  const series = await request(h, 'GET', '/api/v1/nodes/web-1/series?metric=node_load1&from=1000&to=2000', { bearer: viewer });
  t.same(series.json, [], 'an empty store has no series (series-query.test.ts covers the rest)');
  t.equal((await request(h, 'GET', '/api/v1/nodes/web-1/series', { bearer: viewer })).status, 400);
  t.equal((await request(h, 'GET', '/api/v1/nodes/web-1/series?metric=a&from=3&to=2', { bearer: viewer })).status, 400);
  t.equal((await request(h, 'GET', '/api/v1/audit', { bearer: admin })).status, 200);
});

t.test('stop is idempotent and safe before start; reload swaps the certificate', async (t) => {
  const h = await startApi(t);
  t.throws(() => h.server.reload({ cert: 'not a cert', key: 'not a key' }), { code: 'XIMP_ERR_PKI_INVALID' });
  t.equal((await request(h, 'GET', '/healthz')).status, 200, 'the old certificate still serves');
  h.server.reload({ ...h.deps.tls });
  t.equal((await request(h, 'GET', '/healthz')).status, 200);
  await Promise.all([h.server.stop(), h.server.stop()]);
  await h.server.stop();
  const idle = new ApiServer(h.deps, { host: '127.0.0.1', port: 0 });
  await idle.stop();
});
