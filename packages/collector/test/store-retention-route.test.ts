/**
 * GET/PUT /api/v1/store/retention over real TLS 1.3 on loopback (SPEC §9, §10): every role reads
 * the retention in force and where it comes from; only a monitoring-admin changes it, refused
 * before the body is read for the others; a change is audited with the old and new values and
 * outlives the API (it is stored in the settings table); bad values answer 400 naming the field.
 */
import t from 'tap';
import { RetentionSetting } from '../dist/store/retention-setting';
import { SettingsStore } from '../dist/store/settings-store';
import { request, startApi } from './helpers/api-harness';

const JSON_TYPE = { 'Content-Type': 'application/json' };
const DAY_S = 86_400;

t.test('every role reads the retention: the config default until an admin sets one', async (t) => {
  const h = await startApi(t, { retentionMs: 15 * DAY_S * 1000 });
  for (const role of ['monitoring-viewer', 'monitoring-editor', 'monitoring-admin'] as const) {
    const res = await request(h, 'GET', '/api/v1/store/retention', { bearer: h.accessToken(h.createClient(role)) });
    t.equal(res.status, 200, role);
    t.same(res.json, { retention: '15d', retention_seconds: 15 * DAY_S, source: 'default' }, role);
  }
  const anonymous = await request(h, 'GET', '/api/v1/store/retention');
  t.equal(anonymous.status, 401);
});

t.test('an admin changes the retention: answered, audited with old and new values, stored', async (t) => {
  const h = await startApi(t);
  const admin = h.createClient('monitoring-admin');
  const token = h.accessToken(admin);
  const res = await request(h, 'PUT', '/api/v1/store/retention', { bearer: token, headers: JSON_TYPE, body: '{"retention":"30d"}' });
  t.equal(res.status, 200);
  t.same(res.json, { retention: '30d', retention_seconds: 30 * DAY_S, source: 'setting' });

  const read = await request(h, 'GET', '/api/v1/store/retention', { bearer: h.accessToken(h.createClient('monitoring-viewer')) });
  t.same(read.json, { retention: '30d', retention_seconds: 30 * DAY_S, source: 'setting' });

  const audit = h.deps.audit.list();
  t.equal(audit.length, 1);
  t.match(audit[0], { actor: admin.id, action: 'store.retention.update', target: 'store.retention: 15d -> 30d', source: '127.0.0.1' });

  const again = await request(h, 'PUT', '/api/v1/store/retention', { bearer: token, headers: JSON_TYPE, body: '{"retention":"1h30m"}' });
  t.same(again.json, { retention: '1h30m', retention_seconds: 5400, source: 'setting' });
  t.equal(h.deps.audit.list()[0].target, 'store.retention: 30d -> 1h30m', 'the old value is the one in force, not the default');
  t.match(h.logText(), /"msg":"retention changed"/);

  // A new process over the same database (a restart) keeps the admin's value, whatever its default.
  t.same(new RetentionSetting(new SettingsStore(h.db), 7 * DAY_S * 1000).current(), { ms: 5400_000, source: 'setting' });
});

t.test('editors and viewers are refused with 403 before the body is read; nothing changes', async (t) => {
  const h = await startApi(t);
  for (const role of ['monitoring-viewer', 'monitoring-editor'] as const) {
    const bearer = h.accessToken(h.createClient(role));
    const res = await request(h, 'PUT', '/api/v1/store/retention', { bearer, headers: JSON_TYPE, body: 'not even JSON' });
    t.equal(res.status, 403, role);
    t.equal(res.json.error, 'insufficient_scope', role);
  }
  t.same(h.deps.retention.current(), { ms: 15 * DAY_S * 1000, source: 'default' });
  t.same(h.deps.audit.list(), [], 'no audit entry for a refusal');
});

t.test('bad values answer 400 naming the field; the bounds are 1m and 3650d', async (t) => {
  const h = await startApi(t);
  const bearer = h.accessToken(h.createClient('monitoring-admin'));
  const cases: [string, RegExp][] = [
    ['{}', /^retention: required$/],
    ['{"retention":30}', /^retention: expected a string \(actual: number\)$/],
    ['{"retention":"30 days"}', /^retention: expected a duration like "30d" or "12h"$/],
    ['{"retention":"-1d"}', /^retention: expected a duration/],
    ['{"retention":""}', /^retention: expected a duration/],
    ['{"retention":"59s"}', /^retention: must be between 1m and 3650d$/],
    ['{"retention":"0"}', /^retention: must be between 1m and 3650d$/],
    ['{"retention":"3650d1ms"}', /^retention: must be between 1m and 3650d$/],
    ['{"retention":"30d","extra":1}', /^extra: unknown field \(expected retention\)$/],
    ['[]', /^body: expected a JSON object$/],
    ['{', /^body: not valid JSON$/],
  ];
  for (const [body, message] of cases) {
    const res = await request(h, 'PUT', '/api/v1/store/retention', { bearer, headers: JSON_TYPE, body });
    t.equal(res.status, 400, body);
    t.equal(res.json.error, 'invalid_request', body);
    t.match(res.json.message, message, body);
  }
  t.same(h.deps.audit.list(), [], 'nothing audited');
  t.equal(h.deps.retention.current().source, 'default', 'nothing stored');

  for (const [text, seconds] of [['1m', 60], ['3650d', 3650 * DAY_S]] as const) {
    const res = await request(h, 'PUT', '/api/v1/store/retention', { bearer, headers: JSON_TYPE, body: JSON.stringify({ retention: text }) });
    t.equal(res.status, 200, `${text} is allowed`);
    t.equal(res.json.retention_seconds, seconds);
  }
});
