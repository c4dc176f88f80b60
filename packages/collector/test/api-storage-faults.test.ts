/**
 * A storage error under any API route answers 503 with Retry-After and a JSON body that names
 * no internal detail; it is logged once per minute however often it happens, and the server
 * keeps serving once storage is back.
 */
import t from 'tap';
import { request, startApi } from './helpers/api-harness';

t.test('a write refused by the database answers 503 with Retry-After', async (t) => {
  const h = await startApi(t);
  const admin = h.accessToken(h.createClient('monitoring-admin'));
  // Every write now fails as on a read-only or full disk (SQLITE_READONLY from SQLite itself).
  h.db.pragma('query_only = ON');
  for (let i = 0; i < 3; i++) {
    const res = await request(h, 'POST', '/api/v1/agent-tokens', {
      bearer: admin,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ node: 'node-a' }),
    });
    t.equal(res.status, 503, 'storage fault: 503');
    t.equal(res.headers['retry-after'], '5');
    t.same(res.json, { error: 'unavailable', message: 'storage is unavailable, retry later' }, 'no SQLite text leaks');
  }
  const lines = h.logText().split('\n').filter((l) => l.includes('"api_storage"'));
  t.equal(lines.length, 1, 'three faults, one log line');
  t.match(lines[0], /SQLITE_READONLY/, 'the log has the cause');
  h.db.pragma('query_only = OFF');
  const ok = await request(h, 'POST', '/api/v1/agent-tokens', {
    bearer: admin,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ node: 'node-a' }),
  });
  t.equal(ok.status, 201, 'the same route works once storage is back');
});

t.test('a read failing under a route, and under the bearer check, answers 503', async (t) => {
  const h = await startApi(t);
  const viewer = h.accessToken(h.createClient('monitoring-viewer'));
  const original = h.deps.agents.list;
  h.deps.agents.list = () => {
    throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
  };
  const busy = await request(h, 'GET', '/api/v1/agents', { bearer: viewer });
  t.equal(busy.status, 503);
  t.equal(busy.headers['retry-after'], '5');
  t.equal(busy.json.error, 'unavailable');
  h.deps.agents.list = original;
  t.equal((await request(h, 'GET', '/api/v1/agents', { bearer: viewer })).status, 200);

  // The access-token lookup itself fails: still 503, not 500 or a dropped connection.
  const verify = h.deps.accessTokens.verify.bind(h.deps.accessTokens);
  h.deps.accessTokens.verify = () => {
    throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
  };
  t.equal((await request(h, 'GET', '/api/v1/agents', { bearer: viewer })).status, 503);
  h.deps.accessTokens.verify = verify;
  t.equal((await request(h, 'GET', '/healthz')).status, 200, 'still serving');
});
