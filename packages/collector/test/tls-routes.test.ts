/**
 * GET /api/v1/tls/certificates and POST /api/v1/tls/renew over real TLS 1.3 on loopback (SPEC §6,
 * §10), against a fake certificate manager: admin only (viewers and editors 403 before the body
 * is read), answers in the API's JSON form, one tls.renew audit entry per renewal naming the
 * components, bad bodies 400 naming the field, 503 while no manager is wired in, and a renewal
 * failure 500 `renewal_failed` with the manager's reason.
 */
import { ErrorCodes, XimpError } from '@ximp/shared';
import t from 'tap';
import { request, startApi } from './helpers/api-harness';
import { fakeCertificates } from './helpers/fake-certificates';

const JSON_TYPE = { 'Content-Type': 'application/json' };
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

t.test('an admin lists every certificate, or one component', async (t) => {
  const fake = fakeCertificates();
  const h = await startApi(t, { certificates: fake });
  const bearer = h.accessToken(h.createClient('monitoring-admin'));

  const all = await request(h, 'GET', '/api/v1/tls/certificates', { bearer });
  t.equal(all.status, 200);
  t.same(all.json.map((c: { component: string }) => c.component), ['ca', 'collector', 'api', 'store-client']);
  const api = all.json[2];
  t.same(Object.keys(api), ['component', 'subject', 'issuer', 'serial', 'not_before', 'not_after', 'days_left', 'status', 'source', 'error']);
  t.match(api, { subject: 'CN=ximp api', issuer: 'CN=ximp CA', serial: '03c', days_left: 20, status: 'error', source: 'managed', error: 'cannot write pki/api.key: EACCES' });
  t.match(api.not_after, ISO);
  t.equal(api.not_after, fake.views[2].notAfter.toISOString());
  t.equal(api.not_before, fake.views[2].notBefore.toISOString());
  t.equal(all.json[1].error, null);

  const one = await request(h, 'GET', '/api/v1/tls/certificates?component=store-client', { bearer });
  t.equal(one.status, 200);
  t.same(one.json.map((c: { component: string; source: string }) => [c.component, c.source]), [['store-client', 'file']]);

  const unknown = await request(h, 'GET', '/api/v1/tls/certificates?component=agent', { bearer });
  t.equal(unknown.status, 400);
  t.equal(unknown.json.error, 'invalid_request');
  t.match(unknown.json.message, /^component: unknown component "agent" \(expected ca, collector, api, store-client\)$/);
  const odd = await request(h, 'GET', `/api/v1/tls/certificates?component=${encodeURIComponent('ximp_secret/..')}`, { bearer });
  t.equal(odd.status, 400);
  t.notMatch(odd.json.message, /ximp_secret/, 'a value not shaped like a name is not repeated back');
  const extra = await request(h, 'GET', '/api/v1/tls/certificates?node=web-1', { bearer });
  t.equal(extra.status, 400);
  t.match(extra.json.message, /^node: unknown parameter/);
  const twice = await request(h, 'GET', '/api/v1/tls/certificates?component=ca&component=api', { bearer });
  t.equal(twice.status, 400);
  t.match(twice.json.message, /^component: given more than once/);
});

t.test('viewers and editors are refused both routes with 403, before the body is read', async (t) => {
  const fake = fakeCertificates();
  const h = await startApi(t, { certificates: fake });
  for (const role of ['monitoring-viewer', 'monitoring-editor'] as const) {
    const bearer = h.accessToken(h.createClient(role));
    const list = await request(h, 'GET', '/api/v1/tls/certificates', { bearer });
    t.equal(list.status, 403, role);
    t.equal(list.json.error, 'insufficient_scope', role);
    const renew = await request(h, 'POST', '/api/v1/tls/renew', { bearer, headers: JSON_TYPE, body: 'not even JSON' });
    t.equal(renew.status, 403, role);
    t.equal(renew.json.error, 'insufficient_scope', role);
  }
  t.equal((await request(h, 'GET', '/api/v1/tls/certificates')).status, 401, 'no token');
  t.same(fake.renewCalls, []);
  t.same(h.deps.audit.list(), [], 'no audit entry for a refusal');
});

t.test('an admin renews one component or all: answered with the new expiry, one audit entry each', async (t) => {
  const fake = fakeCertificates();
  const h = await startApi(t, { certificates: fake });
  const admin = h.createClient('monitoring-admin');
  const bearer = h.accessToken(admin);

  const one = await request(h, 'POST', '/api/v1/tls/renew', { bearer, headers: JSON_TYPE, body: '{"component":"collector"}' });
  t.equal(one.status, 200);
  t.same(Object.keys(one.json[0]), ['component', 'serial', 'not_after']);
  t.match(one.json, [{ component: 'collector', serial: 'f0', not_after: ISO }]);
  t.same(fake.renewCalls, [['collector']]);
  let audit = h.deps.audit.list();
  t.equal(audit.length, 1);
  t.match(audit[0], { actor: admin.id, action: 'tls.renew', target: 'collector', source: '127.0.0.1' });

  const all = await request(h, 'POST', '/api/v1/tls/renew', { bearer, headers: JSON_TYPE, body: '{"all":true}' });
  t.equal(all.status, 200);
  t.same(all.json.map((r: { component: string }) => r.component), ['collector', 'api']);
  t.same(fake.renewCalls, [['collector'], 'all']);
  audit = h.deps.audit.list();
  t.equal(audit.length, 2, 'one entry for the whole --all');
  t.match(audit[0], { actor: admin.id, action: 'tls.renew', target: 'collector,api' });
  t.match(h.logText(), /"msg":"certificates renewed"/);

  fake.managed = [];
  const none = await request(h, 'POST', '/api/v1/tls/renew', { bearer, headers: JSON_TYPE, body: '{"all":true}' });
  t.equal(none.status, 200);
  t.same(none.json, [], 'every leaf from operator files: nothing to renew');
  t.equal(h.deps.audit.list().length, 2, 'nothing changed, no entry');
});

t.test('bad bodies answer 400 naming the field; nothing is renewed', async (t) => {
  const fake = fakeCertificates();
  const h = await startApi(t, { certificates: fake });
  const bearer = h.accessToken(h.createClient('monitoring-admin'));
  const cases: [string, RegExp][] = [
    ['{"component":"ca","step":"later"}', /^step: expected one of bundle, switch, drop-old$/],
    ['{"component":"api","step":"switch"}', /^step: only with "component": "ca"/],
    ['{"component":"agent"}', /^component: unknown component "agent" \(expected collector, api, store-client\)$/],
    ['{"component":7}', /^component: expected a string/],
    ['{"all":true,"component":"api"}', /^all, component: give one of them, not both$/],
    ['{}', /^component: required/],
    ['{"all":false}', /^all: expected true$/],
    ['{"all":"yes"}', /^all: expected true$/],
    ['{"all":true,"force":true}', /^force: unknown field/],
    ['[]', /^body: expected a JSON object$/],
    ['', /^body: not valid JSON$/],
  ];
  for (const [body, message] of cases) {
    const res = await request(h, 'POST', '/api/v1/tls/renew', { bearer, headers: JSON_TYPE, body });
    t.equal(res.status, 400, body);
    t.equal(res.json.error, 'invalid_request', body);
    t.match(res.json.message, message, body);
  }
  t.same(fake.renewCalls, []);
  t.same(h.deps.audit.list(), []);
});

t.test('without a certificate manager both routes answer 503 with the reason', async (t) => {
  const h = await startApi(t);
  const bearer = h.accessToken(h.createClient('monitoring-admin'));
  const list = await request(h, 'GET', '/api/v1/tls/certificates', { bearer });
  t.equal(list.status, 503);
  t.same(list.json, { error: 'unavailable', message: 'certificate management is not available in this collector' });
  const renew = await request(h, 'POST', '/api/v1/tls/renew', { bearer, headers: JSON_TYPE, body: '{"all":true}' });
  t.equal(renew.status, 503);
  t.equal(renew.json.message, 'certificate management is not available in this collector');
  t.same(h.deps.audit.list(), []);
});

t.test('a failed renewal answers 500 renewal_failed with the reason, and is not audited', async (t) => {
  const fake = fakeCertificates();
  const h = await startApi(t, { certificates: fake });
  const bearer = h.accessToken(h.createClient('monitoring-admin'));
  fake.failure = new XimpError(ErrorCodes.PKI_RENEW_FAILED, 'cannot write pki/collector.pem: EACCES');
  const res = await request(h, 'POST', '/api/v1/tls/renew', { bearer, headers: JSON_TYPE, body: '{"component":"collector"}' });
  t.equal(res.status, 500);
  t.same(res.json, { error: 'renewal_failed', message: 'cannot write pki/collector.pem: EACCES' });
  t.match(h.logText(), /"msg":"certificate renewal failed"/);

  // Not a failure the manager describes: the caller learns nothing of our internals.
  fake.failure = new TypeError('x is undefined at /opt/ximp/secret-path.js');
  const internal = await request(h, 'POST', '/api/v1/tls/renew', { bearer, headers: JSON_TYPE, body: '{"all":true}' });
  t.equal(internal.status, 500);
  t.same(internal.json, { error: 'server_error', message: 'internal error' });
  t.same(h.deps.audit.list(), []);

  fake.failure = null;
  const retry = await request(h, 'POST', '/api/v1/tls/renew', { bearer, headers: JSON_TYPE, body: '{"component":"collector"}' });
  t.equal(retry.status, 200, 'the next attempt after the fault succeeds');
  t.equal(h.deps.audit.list().length, 1);
});
