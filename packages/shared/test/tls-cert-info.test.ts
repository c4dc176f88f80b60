import t from 'tap';
import { certificateInfo, parseSubjectAltName } from '../src/tls/cert-info';
import { FixtureCa } from './tls-fixture-pki';

const ca = new FixtureCa('info ca');
const leaf = ca.issue({ commonName: 'leaf one', dns: ['localhost', 'mon.example.net'], ips: ['127.0.0.1', '::1'], days: 10 });

t.test('reads subject, issuer, validity and SANs', async (t) => {
  const info = certificateInfo(leaf.certPem);
  t.equal(info.subject, 'CN=leaf one');
  t.equal(info.issuer, 'CN=info ca');
  t.ok(info.notBefore instanceof Date && !Number.isNaN(info.notBefore.getTime()));
  t.ok(info.notAfter instanceof Date && !Number.isNaN(info.notAfter.getTime()));
  const days = (info.notAfter.getTime() - Date.now()) / 86_400_000;
  t.ok(days > 9.9 && days <= 10, `notAfter about 10 days ahead (${days})`);
  t.same(info.sans, ['localhost', 'mon.example.net', '127.0.0.1', '::1']);
  t.match(info.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  t.equal(info.isCa, false);
  t.equal(certificateInfo(ca.certPem).isCa, true);
});

t.test('an empty subjectAltName extension reads as no names, on every runtime', async (t) => {
  // Node 24 throws when asked to render it; Node 20 renders "".
  const bare = ca.issue({ commonName: 'no names', dns: [], ips: [] });
  const info = certificateInfo(bare.certPem);
  t.same(info.sans, []);
  t.equal(info.subject, 'CN=no names', 'the rest is read as usual');
});

t.test('daysLeft counts whole days against the given clock', async (t) => {
  const info = certificateInfo(leaf.certPem);
  const end = info.notAfter.getTime();
  t.equal(info.daysLeft(end - 3 * 86_400_000), 3);
  t.equal(info.daysLeft(end - 3 * 86_400_000 + 1), 2);
  t.equal(info.daysLeft(end), 0);
  t.equal(info.daysLeft(end + 1), -1, 'negative once expired');
});

t.test('a non-certificate is XIMP_ERR_PKI_INVALID', async (t) => {
  t.throws(() => certificateInfo('not a pem'), { name: 'XimpError', code: 'XIMP_ERR_PKI_INVALID' });
  t.throws(() => certificateInfo(leaf.keyPem), { name: 'XimpError', code: 'XIMP_ERR_PKI_INVALID' });
});

t.test('parseSubjectAltName keeps DNS and IP entries, unquoting escaped values', async (t) => {
  t.same(
    parseSubjectAltName('DNS:a.example, IP Address:10.0.0.1, email:x@y, DNS:"we,ird", IP Address:FE80:0:0:0:0:0:0:1'),
    ['a.example', '10.0.0.1', 'we,ird', 'fe80::1'],
  );
  t.same(parseSubjectAltName(''), []);
});
