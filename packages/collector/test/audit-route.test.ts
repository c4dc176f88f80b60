/**
 * GET /api/v1/audit over real TLS 1.3 on loopback (SPEC §10): `since` (a duration back from now
 * or an ISO 8601 time) keeps the entries from then on, newest first; a bad one answers 400 naming
 * the parameter; without it the newest entries are listed as before.
 */
import t from 'tap';
import { request, startApi } from './helpers/api-harness';

const HOUR = 3_600_000;

t.test('since filters by time; absent lists everything; a bad value is a 400', async (t) => {
  const h = await startApi(t);
  const admin = h.accessToken(h.createClient('monitoring-admin'));
  const now = Date.now();
  const at = (hoursAgo: number, target: string): void => {
    h.deps.audit.record({ actor: 'xc_test', action: 'agent_token.create', target, source: '127.0.0.1' }, now - hoursAgo * HOUR);
  };
  at(48, 'two-days-ago');
  at(5, 'five-hours-ago');
  at(1, 'an-hour-ago');
  const targets = async (query: string): Promise<unknown> => {
    const res = await request(h, 'GET', `/api/v1/audit${query}`, { bearer: admin });
    t.equal(res.status, 200, query);
    return (res.json as { target: string }[]).map((e) => e.target);
  };
  t.same(await targets('?since=24h'), ['an-hour-ago', 'five-hours-ago']);
  t.same(await targets('?since=2h'), ['an-hour-ago']);
  t.same(await targets(`?since=${encodeURIComponent(new Date(now - 6 * HOUR).toISOString())}`), ['an-hour-ago', 'five-hours-ago']);
  t.same(await targets('?since=1m'), []);
  t.same(await targets('?since=24h&limit=1'), ['an-hour-ago']);
  t.same(await targets(''), ['an-hour-ago', 'five-hours-ago', 'two-days-ago']);

  for (const bad of ['yesterday', '24', '2026-13-99T00:00:00Z']) {
    const res = await request(h, 'GET', `/api/v1/audit?since=${encodeURIComponent(bad)}`, { bearer: admin });
    t.equal(res.status, 400, bad);
    t.same(res.json, { error: 'invalid_request', message: 'since: expected a duration like "24h" or an ISO 8601 time' }, bad);
  }
  const viewer = h.accessToken(h.createClient('monitoring-viewer'));
  t.equal((await request(h, 'GET', '/api/v1/audit?since=24h', { bearer: viewer })).status, 403, 'still admin only');
});
