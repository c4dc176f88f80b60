/**
 * A receiver that is not trusted (a webhook or an Alertmanager with certificates of its own) gets
 * nothing, and the delivery detail says what to change in the channel or on the receiver, in
 * words of its own: never the collector's CA or `ximp tls renew`, which do not apply to it.
 */
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { alertmanagerDeliverer } from '../src/alerting/alertmanager-deliverer';
import { describeReceiverTrustFailure } from '../src/alerting/https-post';
import { testNotification } from '../src/alerting/notification';
import { webhookDeliverer } from '../src/alerting/webhook-deliverer';
import { CertificateAuthority, type CertificateAndKey } from '../src/pki/certificate-authority';

const DAY_MS = 86_400_000;
const ca = CertificateAuthority.create({ commonName: 'receiver test CA' });
const CA = Buffer.from(ca.certPem);
const LOOPBACK = [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }] as const;

async function receiver(t: Test, pair: CertificateAndKey, versions: { minVersion: 'TLSv1.2' | 'TLSv1.3'; maxVersion: 'TLSv1.2' | 'TLSv1.3' } = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' }) {
  const got: string[] = [];
  const server = https.createServer({ cert: pair.certPem, key: pair.keyPem, ...versions }, (req, res) => {
    got.push(req.url ?? '');
    req.resume();
    res.writeHead(200).end();
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, got };
}

const notification = testNotification('hook', Date.now());

function webhook(url: string, ca: Buffer | null) {
  return webhookDeliverer({ url, ca_file: ca === null ? null : '/etc/ximp/hooks-ca.pem' }, { secret: 'k' }, { ca, timeoutMs: 5000, externalUrl: '' });
}

/** Nothing of the collector's own trust advice may appear in a receiver's detail. */
const COLLECTOR_WORDS = /collector|pki\/ca\.pem|ximp tls|tls\.hostnames/;

t.test('a receiver signed by another CA than ca_file names: set ca_file to its issuer', async (t) => {
  const r = await receiver(t, ca.issue({ commonName: 'localhost', usage: 'server', sans: [...LOOPBACK] }));
  const other = Buffer.from(CertificateAuthority.create({ commonName: 'not the issuer' }).certPem);
  const res = await webhook(`https://localhost:${r.port}/hook`, other).deliver(notification);
  t.match(res, { ok: false, retry: true, detail: /^the receiver's certificate is not signed by the CA in the channel's ca_file \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): set ca_file to the CA that issued the receiver's certificate$/ });
  t.notMatch(res.detail, COLLECTOR_WORDS);
  // Without ca_file the system's CAs decide; the test CA is none of them.
  const am = alertmanagerDeliverer({ url: `https://localhost:${r.port}/`, ca_file: null }, {}, { ca: null, timeoutMs: 5000, externalUrl: '' });
  const res2 = await am.deliver(notification);
  t.match(res2, { ok: false, detail: /^the receiver's certificate is not signed by a CA of this system \(\w+\): set the channel's ca_file to the CA that issued the receiver's certificate$/ });
  t.notMatch(res2.detail, COLLECTOR_WORDS);
  t.same(r.got, [], 'no request reached the receiver');
});

t.test('a certificate for another host: the url or the receiver must change', async (t) => {
  const r = await receiver(t, ca.issue({ commonName: 'hooks.example.net', usage: 'server', sans: [{ type: 'dns', value: 'hooks.example.net' }] }));
  const res = await webhook(`https://127.0.0.1:${r.port}/hook`, CA).deliver(notification);
  t.match(res, { ok: false, detail: /^the receiver's certificate does not name host 127\.0\.0\.1 \(its SANs: DNS:hooks\.example\.net\): use a name it holds in the channel's url, or give the receiver a certificate for 127\.0\.0\.1$/ });
  t.notMatch(res.detail, COLLECTOR_WORDS);
  t.same(r.got, []);
});

t.test('an expired certificate is named with its end; one not valid yet points at the clocks', async (t) => {
  const expired = ca.issue({ commonName: 'localhost', usage: 'server', sans: [...LOOPBACK], now: Date.now() - 30 * DAY_MS, validityDays: 10 });
  const r = await receiver(t, expired);
  const res = await webhook(`https://localhost:${r.port}/hook`, CA).deliver(notification);
  t.match(res, { ok: false, detail: /^the receiver's certificate has expired \(NOT-AFTER \d{4}-\d\d-\d\dT[\d:.]+Z\): the receiver needs a new certificate$/ });
  t.notMatch(res.detail, COLLECTOR_WORDS);

  const future = ca.issue({ commonName: 'localhost', usage: 'server', sans: [...LOOPBACK], now: Date.now() + 30 * DAY_MS });
  const f = await receiver(t, future);
  const res2 = await webhook(`https://localhost:${f.port}/hook`, CA).deliver(notification);
  t.match(res2, { ok: false, detail: /^the receiver's certificate is not valid yet \(NOT-BEFORE \d{4}-[^)]+\): check this machine's clock and the receiver's$/ });
  t.same(r.got.length + f.got.length, 0);
});

t.test('a receiver below TLS 1.3 is told to enable it, not to look for a XIMP collector', async (t) => {
  const r = await receiver(t, ca.issue({ commonName: 'localhost', usage: 'server', sans: [...LOOPBACK] }), { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
  const res = await webhook(`https://localhost:${r.port}/hook`, CA).deliver(notification);
  t.match(res, { ok: false, retry: true, detail: /^the receiver offers only a TLS version below 1\.3 \([^)]+\): alerts are sent over TLS 1\.3 only; enable it on the receiver or the proxy in front of it$/ });
  t.notMatch(res.detail, COLLECTOR_WORDS);
  t.same(r.got, []);
});

t.test('an error that is no trust failure is not described as one', async (t) => {
  t.equal(await describeReceiverTrustFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), new URL('https://localhost:1/'), true), null);
});
