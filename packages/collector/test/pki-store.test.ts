import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import t from 'tap';
import { clientTlsOptions, serverTlsOptions } from '@ximp/shared';
import { CertificateAuthority } from '../src/pki/certificate-authority';
import { PkiStore } from '../src/pki/pki-store';
import { defaultSubjectAltNames } from '../src/pki/subject-alt-names';

const DAY_MS = 86_400_000;

function tempDataDir(t: Tap): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-pki-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
type Tap = Pick<typeof t, 'teardown'>;

/** A private copy of the shared PKI, to damage or renew without generating keys again. */
function copyOfShared(t: Tap): PkiStore {
  const dataDir = tempDataDir(t);
  fs.cpSync(path.join(shared, 'pki'), path.join(dataDir, 'pki'), { recursive: true });
  return new PkiStore(dataDir, 'machine-a');
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) out[name] = fs.readFileSync(path.join(dir, name), 'hex');
  return out;
}

// One PKI shared by the read-only tests below (key generation is the slow part).
const now = Date.now();
const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-pki-shared-'));
t.teardown(() => fs.rmSync(shared, { recursive: true, force: true }));
const store = new PkiStore(shared, 'machine-a');
store.create(defaultSubjectAltNames(['mon.example.net', '10.0.0.5'], 'machine-a'), now);

t.test('create writes the CA and three leaves with tight modes', async (t) => {
  t.equal(store.exists(), true);
  t.equal(store.dir, path.join(shared, 'pki'));
  t.equal(mode(store.dir), 0o700);
  t.same(fs.readdirSync(store.dir).sort(), [
    'api-key.pem',
    'api.pem',
    'ca-key.pem',
    'ca.pem',
    'collector-key.pem',
    'collector.pem',
    'store-client-key.pem',
    'store-client.pem',
  ]);
  for (const component of ['ca', 'collector', 'api', 'store-client'] as const) {
    const { cert, key } = store.paths(component);
    t.equal(mode(key), 0o600, `${component} key is 0600`);
    t.equal(mode(cert), 0o644, `${component} certificate is 0644`);
  }
  t.equal(store.caPem(), fs.readFileSync(path.join(shared, 'pki', 'ca.pem'), 'utf8'));
});

t.test('every leaf is signed by the CA, names the host and carries the SANs', async (t) => {
  const ca = new crypto.X509Certificate(store.caPem());
  t.equal(ca.ca, true);
  t.match(ca.subject, /CN=XIMP CA \(mon\.example\.net\)/);
  for (const component of ['collector', 'api', 'store-client'] as const) {
    const { certPem, keyPem } = store.load(component);
    const cert = new crypto.X509Certificate(certPem);
    t.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), `${component} verifies against ca.pem`);
    t.equal(cert.ca, false);
    t.ok(cert.checkPrivateKey(crypto.createPrivateKey(keyPem)));
    t.match(cert.subject, new RegExp(`CN=${component} \\(mon\\.example\\.net\\)`));
    for (const host of ['mon.example.net', 'machine-a', 'localhost']) t.equal(cert.checkHost(host), host);
    for (const ip of ['10.0.0.5', '127.0.0.1', '::1']) t.equal(cert.checkIP(ip), ip);
  }
  t.throws(() => new PkiStore(path.join(shared, 'nowhere')).load('api'), { code: 'XIMP_ERR_PKI_INVALID' });
});

t.test('the collector certificate serves TLS 1.3 to clients trusting ca.pem and refuses TLS 1.2', async (t) => {
  const { certPem, keyPem } = store.load('collector');
  const server = tls.createServer(serverTlsOptions({ cert: certPem, key: keyPem }), (socket) => {
    socket.on('error', () => {});
    socket.end('hello\n');
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;

  const read = (options: tls.ConnectionOptions): Promise<{ text: string; protocol: string | null }> =>
    new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ...options });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve({ text, protocol: socket.getProtocol() }));
      socket.on('error', reject);
    });

  const caPem = store.caPem();
  t.same(await read(clientTlsOptions({ ca: caPem, servername: '127.0.0.1' })), { text: 'hello\n', protocol: 'TLSv1.3' });
  t.same((await read(clientTlsOptions({ ca: caPem, servername: 'mon.example.net' }))).text, 'hello\n');
  await t.rejects(read({ ca: caPem, servername: 'localhost', maxVersion: 'TLSv1.2' }), 'TLS 1.2 is refused');
  await t.rejects(read(clientTlsOptions({ servername: 'localhost' })), 'not trusted without ca.pem');
});

t.test('the store-client certificate passes a server demanding client certificates of the CA', async (t) => {
  const serverCert = store.load('collector');
  const client = store.load('store-client');
  const caPem = store.caPem();
  const server = tls.createServer(
    serverTlsOptions({ cert: serverCert.certPem, key: serverCert.keyPem, ca: caPem, requestCert: true }),
    (socket) => {
      socket.on('error', () => {});
      socket.end(`${socket.getPeerX509Certificate()?.subject ?? ''}\n`);
    },
  );
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const text = await new Promise<string>((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ...clientTlsOptions({ ca: caPem, cert: client.certPem, key: client.keyPem, servername: 'localhost' }),
    });
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (out += chunk));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
  t.match(text, /CN=store-client/);
});

t.test('create never overwrites: a second run throws XIMP_ERR_PKI_EXISTS and changes nothing', async (t) => {
  const before = snapshot(store.dir);
  t.throws(() => store.create(defaultSubjectAltNames([], 'machine-a')), { code: 'XIMP_ERR_PKI_EXISTS' });
  t.same(snapshot(store.dir), before);

  // Any single key left over is enough to refuse, and the message names it.
  const dataDir = tempDataDir(t);
  const lone = new PkiStore(dataDir);
  fs.mkdirSync(lone.dir, { recursive: true });
  fs.writeFileSync(lone.paths('api').key, 'old key');
  t.equal(lone.exists(), false, 'no CA yet');
  t.throws(() => lone.create(defaultSubjectAltNames([], 'm')), {
    code: 'XIMP_ERR_PKI_EXISTS',
    message: new RegExp(lone.paths('api').key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
  });
  t.same(fs.readdirSync(lone.dir), ['api-key.pem']);
  t.equal(fs.readFileSync(lone.paths('api').key, 'utf8'), 'old key');
});

t.test('status reports ok, renew-due, expired and error', async (t) => {
  const rows = store.status(now);
  t.same(
    rows.map((r) => [r.component, r.status, r.source]),
    [
      ['ca', 'ok', 'managed'],
      ['collector', 'ok', 'managed'],
      ['api', 'ok', 'managed'],
      ['store-client', 'ok', 'managed'],
    ],
  );
  const collector = rows[1];
  t.match(collector.subject, /CN=collector/);
  t.match(collector.issuer, /CN=XIMP CA/);
  t.ok(collector.notAfter instanceof Date);
  t.equal(collector.daysLeft, 396, '397 days less a moment');

  const dueAt = collector.notAfter!.getTime() - 10 * DAY_MS;
  t.same(
    store.status(dueAt).map((r) => r.status),
    ['ok', 'renew-due', 'renew-due', 'renew-due'],
    'within 30 days of expiry',
  );
  t.same(store.status(dueAt, 5 * DAY_MS).map((r) => r.status), ['ok', 'ok', 'ok', 'ok'], 'renewBeforeMs is honoured');
  t.same(
    store.status(collector.notAfter!.getTime() + 1).map((r) => r.status),
    ['ok', 'expired', 'expired', 'expired'],
  );
  t.equal(store.status(collector.notAfter!.getTime() + 1)[1].daysLeft, -1);
});

t.test('status is error for a missing file, a mismatched key or a foreign signer', async (t) => {
  t.same(
    new PkiStore(tempDataDir(t)).status().map((r) => r.status),
    ['error', 'error', 'error', 'error'],
    'nothing there yet',
  );
  const pki = copyOfShared(t);
  fs.copyFileSync(pki.paths('collector').key, pki.paths('api').key);
  const foreignCa = CertificateAuthority.create({ commonName: 'someone else' });
  const foreign = foreignCa.issue({ commonName: 'store-client (x)', sans: [], usage: 'client' });
  fs.writeFileSync(pki.paths('store-client').cert, foreign.certPem);
  fs.writeFileSync(pki.paths('store-client').key, foreign.keyPem);
  const rows = pki.status(now);
  t.same(rows.map((r) => r.status), ['ok', 'ok', 'error', 'error']);
  t.match(rows[2].error, /does not match/);
  t.match(rows[3].error, /not signed by the current CA/);
  t.match(rows[2].subject, /CN=api/, 'what could be read is still shown');
  for (const row of rows) t.notMatch(row.error ?? '', /BEGIN/);
});

t.test('issue renews a leaf in place, keeping its names and the CA', async (t) => {
  const pki = copyOfShared(t);
  const caBefore = fs.readFileSync(pki.paths('ca').cert);
  const caKeyBefore = fs.readFileSync(pki.paths('ca').key);
  const old = pki.load('api');

  const later = now + 380 * DAY_MS;
  const issued = pki.issue('api', undefined, later);
  t.equal(issued.component, 'api');
  const renewed = pki.load('api');
  t.equal(renewed.certPem, issued.certPem);
  t.not(renewed.keyPem, old.keyPem, 'a new key');
  t.equal(mode(pki.paths('api').key), 0o600);
  const cert = new crypto.X509Certificate(renewed.certPem);
  t.ok(cert.verify(new crypto.X509Certificate(caBefore).publicKey));
  t.equal(cert.checkHost('mon.example.net'), 'mon.example.net', 'names carried over');
  t.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
  t.ok(issued.notAfter.getTime() - later >= 90 * DAY_MS, 'at least 90 days left after renewal');
  t.ok(fs.readFileSync(pki.paths('ca').cert).equals(caBefore));
  t.ok(fs.readFileSync(pki.paths('ca').key).equals(caKeyBefore));
  t.equal(pki.status(later)[2].status, 'ok');

  pki.issue('collector', ['other.example.net', '192.0.2.1']);
  const replaced = new crypto.X509Certificate(pki.load('collector').certPem);
  t.equal(replaced.checkHost('other.example.net'), 'other.example.net');
  t.equal(replaced.checkHost('mon.example.net'), undefined, 'explicit names replace the old ones');
  t.throws(() => pki.issue('collector', ['bad name']), { code: 'XIMP_ERR_PKI_INVALID' });
});
