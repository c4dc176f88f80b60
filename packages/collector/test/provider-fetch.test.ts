import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { providerFetch } from '../src/web/provider-fetch';
import { testPki } from './helpers/test-pki';

async function server(t: Test, tlsVersion: 'TLSv1.2' | 'TLSv1.3', answer = '{"issuer":"x"}'): Promise<string> {
  const { server: pair } = testPki();
  const s = https.createServer({ ...pair, minVersion: tlsVersion, maxVersion: tlsVersion }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json', 'X-Seen': `${req.method} ${body}` }).end(answer));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => s.close(() => resolve())));
  return `https://127.0.0.1:${(s.address() as AddressInfo).port}/.well-known/openid-configuration`;
}

t.test('TLS 1.3 to a provider whose certificate chains to the configured CA', async (t) => {
  const url = await server(t, 'TLSv1.3');
  const fetch = providerFetch({ ca: [testPki().caPem] });
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ a: 'b' }) });
  t.equal(res.status, 200);
  t.equal(res.headers.get('x-seen'), 'POST a=b');
  t.same(await res.json(), { issuer: 'x' });
});

t.test('a provider offering only TLS 1.2 is refused', async (t) => {
  const url = await server(t, 'TLSv1.2');
  await t.rejects(providerFetch({ ca: [testPki().caPem] })(url, { method: 'GET', headers: {} }), { code: /ERR_SSL|EPROTO/ });
});

t.test('a certificate the configured CAs do not vouch for is refused', async (t) => {
  const url = await server(t, 'TLSv1.3');
  await t.rejects(providerFetch()(url, { method: 'GET', headers: {} }), { code: /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/ });
});

t.test('plain http is refused before connecting; an answer beyond the bound is cut', async (t) => {
  await t.rejects(providerFetch()('http://127.0.0.1:1/', { method: 'GET', headers: {} }), { code: 'XIMP_ERR_TLS_UNTRUSTED' });
  const url = await server(t, 'TLSv1.3', 'x'.repeat(5000));
  await t.rejects(providerFetch({ ca: [testPki().caPem], maxBytes: 1000 })(url, { method: 'GET', headers: {} }), /larger than 1000 bytes/);
});

t.test('a body of another kind is refused, not sent as "[object Object]"', async (t) => {
  await t.rejects(providerFetch()('https://127.0.0.1:1/', { method: 'POST', headers: {}, body: { a: 1 } }), TypeError);
});
