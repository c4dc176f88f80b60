import * as crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import * as forge from 'node-forge';
import t from 'tap';
import { certificateComponent } from '@ximp/shared';
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

t.test('the CA and every leaf have ECDSA P-256 keys, signed ecdsa-with-SHA256', async (t) => {
  t.equal(caCert.publicKey.asymmetricKeyType, 'ec');
  t.equal(caCert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  t.equal(crypto.createPrivateKey(ca.keyPem).asymmetricKeyType, 'ec');
  for (const usage of ['server', 'client'] as const) {
    const leaf = ca.issue({ commonName: `x (${usage})`, sans, usage, now });
    const cert = new crypto.X509Certificate(leaf.certPem);
    t.equal(cert.publicKey.asymmetricKeyType, 'ec', `${usage} leaf key is EC`);
    t.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1', `${usage} leaf on P-256`);
    t.ok(cert.verify(caCert.publicKey));
    t.match(cert.toLegacyObject().subject, { CN: `x (${usage})` });
  }
  // The signature algorithm OID 1.2.840.10045.4.3.2 (ecdsa-with-SHA256) sits in the DER.
  const leaf = new crypto.X509Certificate(ca.issue({ commonName: 'y', sans, usage: 'server', now }).certPem);
  t.ok(leaf.raw.includes(Buffer.from('06082a8648ce3d040302', 'hex')), 'ecdsa-with-SHA256');
});

t.test('each leaf carries its component marker; the CA and unnamed leaves carry none', async (t) => {
  for (const component of ['collector', 'api', 'store-client'] as const) {
    const leaf = ca.issue({ commonName: `${component} (mon1)`, sans, usage: component === 'store-client' ? 'client' : 'server', now });
    const cert = new crypto.X509Certificate(leaf.certPem);
    t.equal(certificateComponent(cert.toLegacyObject()), component, `${component} marked`);
    t.match(cert.subject, new RegExp(`OU=ximp-component=${component}`));
  }
  const explicit = ca.issue({ commonName: 'anything', component: 'api', sans, usage: 'server', now });
  t.equal(certificateComponent(new crypto.X509Certificate(explicit.certPem).toLegacyObject()), 'api', 'explicit component wins');
  const unnamed = ca.issue({ commonName: 'localhost', sans, usage: 'server', now });
  t.equal(certificateComponent(new crypto.X509Certificate(unnamed.certPem).toLegacyObject()), null);
  t.equal(certificateComponent(caCert.toLegacyObject()), null);
});

/** An RSA-2048 CA the way earlier versions wrote it (node-forge, SKI extension, pathlen 0). */
function earlierRsaCa(): { certPem: string; keyPem: string } {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(now - 86_400_000);
  cert.validity.notAfter = new Date(now + 3650 * 86_400_000);
  const name = [{ name: 'commonName', value: 'XIMP CA (old)' }, { name: 'organizationName', value: 'XIMP' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKey };
}

t.test('an RSA CA written by an earlier version still loads and issues ECDSA leaves that TLS accepts', async (t) => {
  const old = earlierRsaCa();
  const oldCa = CertificateAuthority.fromPem(old.certPem, old.keyPem);
  const oldCert = new crypto.X509Certificate(old.certPem);
  const leaf = oldCa.issue({ commonName: 'collector (old)', sans, usage: 'server', now });
  const cert = new crypto.X509Certificate(leaf.certPem);
  t.ok(cert.checkIssued(oldCert), 'issuer and key identifiers match the old CA');
  t.ok(cert.verify(oldCert.publicKey), 'signed by the RSA key');
  t.equal(cert.publicKey.asymmetricKeyType, 'ec');
  t.equal(certificateComponent(cert.toLegacyObject()), 'collector');

  const server = tls.createServer({ cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.3' }, (s) => s.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: old.certPem, servername: 'localhost', minVersion: 'TLSv1.3' });
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  t.equal(answer, 'ok', 'a TLS 1.3 client trusting the old CA accepts the new leaf');
});

t.test('a leaf without names carries no subjectAltName extension at all (an empty one is invalid)', async (t) => {
  const ca = CertificateAuthority.create({ commonName: 'XIMP CA (no names)' });
  const leaf = ca.issue({ commonName: 'store-client (x)', sans: [], usage: 'client' });
  const x = new crypto.X509Certificate(leaf.certPem);
  t.equal(x.subjectAltName, undefined);
  t.ok(x.verify(new crypto.X509Certificate(ca.certPem).publicKey));
});
