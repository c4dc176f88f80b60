import * as crypto from 'node:crypto';
import t from 'tap';
import { CA_VALIDITY_DAYS, CertificateAuthority, LEAF_VALIDITY_DAYS } from '../src/pki/certificate-authority';
import { defaultSubjectAltNames } from '../src/pki/subject-alt-names';

const DAY_MS = 86_400_000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

const now = Date.now();
const ca = CertificateAuthority.create({ commonName: 'XIMP CA (t)', now });
const caCert = new crypto.X509Certificate(ca.certPem);
const sans = defaultSubjectAltNames(['mon.example.net', '10.1.2.3', 'fd00::7'], 'machine-a');

t.test('the CA is a self-signed CA valid for ten years', async (t) => {
  t.equal(caCert.ca, true);
  t.equal(caCert.subject, caCert.issuer);
  t.ok(caCert.verify(caCert.publicKey), 'self-signed');
  t.match(caCert.subject, /CN=XIMP CA \(t\)/);
  const days = (new Date(caCert.validTo).getTime() - now) / DAY_MS;
  t.ok(Math.abs(days - CA_VALIDITY_DAYS) < 1, `about ${CA_VALIDITY_DAYS} days (${days})`);
  t.ok(caCert.checkPrivateKey(crypto.createPrivateKey(ca.keyPem)));
  t.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  t.notMatch(ca.certPem, /\r/, 'LF line ends');
});

t.test('a server leaf verifies against the CA and carries the SANs', async (t) => {
  const leaf = ca.issue({ commonName: 'collector (mon.example.net)', sans, usage: 'server', now });
  const cert = new crypto.X509Certificate(leaf.certPem);
  t.equal(cert.ca, false);
  t.ok(cert.checkIssued(caCert), 'issuer matches the CA');
  t.ok(cert.verify(caCert.publicKey), 'signed by the CA key');
  t.ok(cert.checkPrivateKey(crypto.createPrivateKey(leaf.keyPem)));
  t.same(cert.keyUsage, [SERVER_AUTH]);
  t.equal(cert.checkHost('mon.example.net'), 'mon.example.net');
  t.equal(cert.checkHost('machine-a'), 'machine-a');
  t.equal(cert.checkHost('localhost'), 'localhost');
  t.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
  t.equal(cert.checkIP('10.1.2.3'), '10.1.2.3');
  t.equal(cert.checkIP('::1'), '::1');
  t.equal(cert.checkIP('fd00::7'), 'fd00::7');
  t.equal(cert.checkHost('other.example.net'), undefined);
  const days = (new Date(cert.validTo).getTime() - now) / DAY_MS;
  t.ok(days >= 90 && Math.abs(days - LEAF_VALIDITY_DAYS) < 1, `about ${LEAF_VALIDITY_DAYS} days (${days})`);
  t.ok(new Date(cert.validFrom).getTime() <= now, 'valid from now (backdated for clock skew)');
  const serial = BigInt(`0x${cert.serialNumber}`);
  t.ok(serial > 0n && cert.serialNumber.length >= 30, 'a large positive serial');
});

t.test('a client leaf is for client auth only; serials differ', async (t) => {
  const a = ca.issue({ commonName: 'store-client (t)', sans, usage: 'client', now });
  const b = ca.issue({ commonName: 'store-client (t)', sans, usage: 'client', now });
  const certA = new crypto.X509Certificate(a.certPem);
  t.same(certA.keyUsage, [CLIENT_AUTH]);
  t.not(certA.serialNumber, new crypto.X509Certificate(b.certPem).serialNumber);
  t.not(a.keyPem, b.keyPem, 'each certificate gets its own key');
});

t.test('fromPem reloads a CA that issues verifiable certificates; bad material is refused', async (t) => {
  const again = CertificateAuthority.fromPem(ca.certPem, ca.keyPem);
  const leaf = again.issue({ commonName: 'api (t)', sans, usage: 'server' });
  t.ok(new crypto.X509Certificate(leaf.certPem).verify(caCert.publicKey));

  const other = CertificateAuthority.create({ commonName: 'other' });
  t.throws(() => CertificateAuthority.fromPem(ca.certPem, other.keyPem), { code: 'XIMP_ERR_PKI_INVALID' });
  t.throws(() => CertificateAuthority.fromPem('nonsense', ca.keyPem), { code: 'XIMP_ERR_PKI_INVALID' });
  t.throws(() => CertificateAuthority.fromPem(leaf.certPem, leaf.keyPem), { code: 'XIMP_ERR_PKI_INVALID' }, 'a leaf is not a CA');
  try {
    CertificateAuthority.fromPem(ca.certPem, other.keyPem);
  } catch (err) {
    t.notMatch((err as Error).message, /PRIVATE KEY|BEGIN/, 'no key material in the error');
  }
});
