import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger, serverTlsOptions } from '@ximp/shared';
import { CertificateManager, type CertificateManagerOptions, type TlsPair } from '../src/pki/certificate-manager';
import { DEFAULT_PKI_FILE_WRITER, type PkiFileWriter } from '../src/pki/pair-replacement';
import type { PkiComponent } from '../src/pki/components';
import { PkiStore } from '../src/pki/pki-store';
import { defaultSubjectAltNames } from '../src/pki/subject-alt-names';

const DAY_MS = 86_400_000;
type Tap = Pick<typeof t, 'teardown'>;

// One PKI generated per run (key generation is the slow part); each test works on a copy.
const created = Date.now();
const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-manager-shared-'));
t.teardown(() => fs.rmSync(shared, { recursive: true, force: true }));
new PkiStore(shared, 'machine-a').create(defaultSubjectAltNames(['mon.example.net'], 'machine-a'), created);

function copyOfShared(t: Tap): PkiStore {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-manager-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  fs.cpSync(path.join(shared, 'pki'), path.join(dataDir, 'pki'), { recursive: true });
  return new PkiStore(dataDir, 'machine-a');
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) out[name] = fs.readFileSync(path.join(dir, name), 'utf8');
  return out;
}

/** A real TLS 1.3 listener on loopback whose certificate the manager swaps, as AgentServer does. */
async function listener(t: Tap, pair: TlsPair): Promise<{ server: tls.Server; port: number }> {
  const server = tls.createServer(serverTlsOptions(pair), (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { server, port: (server.address() as AddressInfo).port };
}

/** The serial a new TLS 1.3 connection to `port` is served (verified against the CA). */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: 'TLSv1.3' }, () => {
      resolve(socket.getPeerX509Certificate()!.serialNumber);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

interface Harness {
  pki: PkiStore;
  manager: CertificateManager;
  ports: { collector: number; api: number };
  storeClientReloads: number;
  logs: string[];
  clock: { now: number };
  ca: string;
  served(): Promise<{ collector: string; api: string }>;
}

async function harness(t: Tap, extra: Partial<CertificateManagerOptions> & { failApi?: () => boolean } = {}): Promise<Harness> {
  const pki = copyOfShared(t);
  const pair = (c: 'collector' | 'api'): TlsPair => {
    const loaded = pki.load(c);
    return { cert: loaded.certPem, key: loaded.keyPem };
  };
  const collector = await listener(t, pair('collector'));
  const api = await listener(t, pair('api'));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
      done();
    },
  });
  const clock = { now: created };
  const h: Harness = {
    pki,
    logs,
    clock,
    ports: { collector: collector.port, api: api.port },
    storeClientReloads: 0,
    ca: pki.caPem(),
    manager: undefined as unknown as CertificateManager,
    served: async () => ({ collector: await servedSerial(collector.port, h.ca), api: await servedSerial(api.port, h.ca) }),
  };
  h.manager = new CertificateManager({
    pki,
    renewBeforeMs: 30 * DAY_MS,
    leafValidityMs: 365 * DAY_MS,
    hostnames: ['extra.example.net', '192.0.2.7'],
    targets: {
      collector: (p) => collector.server.setSecureContext(serverTlsOptions(p)),
      api: (p) => {
        if (extra.failApi?.()) throw new Error('injected api swap fault');
        api.server.setSecureContext(serverTlsOptions(p));
      },
      storeClient: () => h.storeClientReloads++,
    },
    log: createLogger({ name: 'test', level: 'debug', destination: sink }),
    now: () => clock.now,
    ...extra,
  });
  t.teardown(() => h.manager.stop());
  return h;
}

function serialOf(pem: string): string {
  return new crypto.X509Certificate(pem).serialNumber;
}

/**
 * A writer that fails writes of files whose name matches `pattern` while `on()`: each such file
 * once (the writes that put it back then work), or every time with `always`, like a read-only folder.
 */
function failingWriter(pattern: RegExp, on: () => boolean, always = false): PkiFileWriter {
  let failed = new Set<string>();
  const fail = (file: string): void => {
    if (!on()) failed = new Set();
    else if (pattern.test(path.basename(file)) && (always || !failed.has(file))) {
      failed.add(file);
      throw Object.assign(new Error(`EROFS: read-only file system, open '${file}'`), { code: 'EROFS' });
    }
  };
  return {
    writeSecret: (file, data) => {
      fail(file);
      DEFAULT_PKI_FILE_WRITER.writeSecret(file, data);
    },
    writePublic: (file, data) => {
      fail(file);
      DEFAULT_PKI_FILE_WRITER.writePublic(file, data);
    },
    remove: (file) => DEFAULT_PKI_FILE_WRITER.remove(file),
  };
}

t.test('status lists every component with the dates, serial and days left of its file', async (t) => {
  const h = await harness(t);
  const rows = h.manager.status();
  t.same(rows.map((r) => r.component), ['ca', 'collector', 'api', 'store-client']);
  for (const row of rows) {
    const x509 = new crypto.X509Certificate(fs.readFileSync(h.pki.paths(row.component as PkiComponent).cert));
    t.equal(row.serial, x509.serialNumber, `${row.component} serial`);
    t.equal(row.notAfter.getTime(), new Date(x509.validTo).getTime(), `${row.component} not after`);
    t.equal(row.notBefore.getTime(), new Date(x509.validFrom).getTime(), `${row.component} not before`);
    t.equal(row.daysLeft, Math.floor((row.notAfter.getTime() - h.clock.now) / DAY_MS));
    t.equal(row.status, 'ok');
    t.equal(row.source, 'managed');
    t.equal(row.error, null);
  }
  t.same(h.manager.status('api').map((r) => r.component), ['api'], 'one component on request');

  const collector = rows[1];
  h.clock.now = collector.notAfter.getTime() - 20 * DAY_MS - 1;
  t.same(h.manager.status().map((r) => r.status), ['ok', 'renew-due', 'renew-due', 'renew-due'], '20 days before expiry');
  t.equal(h.manager.status('collector')[0].daysLeft, 20);
  h.clock.now = collector.notAfter.getTime() + 1;
  t.equal(h.manager.status('collector')[0].status, 'expired');
  t.equal(h.manager.status('collector')[0].daysLeft, -1, 'whole days, rounded down');
  const expiry = h.manager.metrics().expiry;
  t.equal(expiry.get('collector'), Math.floor(collector.notAfter.getTime() / 1000));
  t.equal(expiry.size, 4);
});

t.test('renew issues, writes and serves a new collector certificate; the API keeps its own', async (t) => {
  const h = await harness(t);
  const before = await h.served();
  const oldApiFiles = [fs.readFileSync(h.pki.paths('api').cert, 'utf8'), fs.readFileSync(h.pki.paths('api').key, 'utf8')];
  const oldCollectorKey = fs.readFileSync(h.pki.paths('collector').key, 'utf8');
  h.clock.now = Date.now();

  const [renewed] = await h.manager.renew(['collector']);
  t.equal(renewed.component, 'collector');
  const certPem = fs.readFileSync(h.pki.paths('collector').cert, 'utf8');
  t.equal(renewed.serial, serialOf(certPem), 'the answer names the new file');
  t.equal(renewed.notAfter.getTime(), Math.floor((h.clock.now + 365 * DAY_MS) / 1000) * 1000, 'tls.leaf_validity from now');
  t.ok(renewed.notAfter.getTime() - h.clock.now >= 90 * DAY_MS);
  t.not(fs.readFileSync(h.pki.paths('collector').key, 'utf8'), oldCollectorKey, 'a new key');
  t.equal(fs.statSync(h.pki.paths('collector').key).mode & 0o777, 0o600);
  t.equal(fs.statSync(h.pki.paths('collector').cert).mode & 0o777, 0o644);
  t.notOk(fs.existsSync(h.pki.previousPaths('collector').cert), 'the previous pair is gone once the new one serves');
  t.notOk(fs.existsSync(h.pki.previousPaths('collector').key));

  const x509 = new crypto.X509Certificate(certPem);
  t.ok(x509.verify(new crypto.X509Certificate(h.ca).publicKey), 'signed by the same CA');
  t.equal(x509.checkHost('mon.example.net'), 'mon.example.net', 'the names init gave it stay');
  t.equal(x509.checkHost('extra.example.net'), 'extra.example.net', 'tls.hostnames are added');
  t.equal(x509.checkIP('192.0.2.7'), '192.0.2.7');

  const after = await h.served();
  t.equal(after.collector, renewed.serial, 'new handshakes on the agent listener get the new certificate');
  t.equal(after.api, before.api, 'the API listener was not touched');
  t.same([fs.readFileSync(h.pki.paths('api').cert, 'utf8'), fs.readFileSync(h.pki.paths('api').key, 'utf8')], oldApiFiles);
  t.equal(h.storeClientReloads, 0, 'the store client is only told when its pair changes');
  t.equal(h.manager.status('collector')[0].status, 'ok');
  t.ok(h.logs.some((l) => l.includes('certificate renewed') && l.includes(renewed.serial)));

  const all = await h.manager.renew('all');
  t.same(all.map((r) => r.component), ['collector', 'api', 'store-client']);
  const served = await h.served();
  t.same(served, { collector: all[0].serial, api: all[1].serial }, 'both listeners serve the renewed pairs');
  t.equal(h.storeClientReloads, 1, 'the store client re-reads its renewed pair');
  t.equal(serialOf(fs.readFileSync(h.pki.paths('store-client').cert, 'utf8')), all[2].serial);
});

t.test('a failed write leaves every old certificate serving, the old files, and status error', async (t) => {
  let faulty = true;
  const h = await harness(t, { files: failingWriter(/^api\.pem$/, () => faulty) });
  const before = await h.served();
  const filesBefore = snapshot(h.pki.dir);

  const err = await h.manager.renew('all').then(
    () => null,
    (e: unknown) => e as Error & { code?: string },
  );
  t.equal(err?.code, 'XIMP_ERR_PKI_RENEW_FAILED');
  t.match(err?.message, /renewing api failed: EROFS: read-only file system/, 'names the component and the reason');
  t.notMatch(err?.message ?? '', /BEGIN|PRIVATE/, 'never key material');
  t.same(snapshot(h.pki.dir), filesBefore, 'the files are the old ones (collector\'s, written first, put back), no *.prev left');
  t.same(await h.served(), before, 'both listeners serve the old certificates');
  t.equal(h.storeClientReloads, 0);

  const rows = h.manager.status();
  t.same(rows.map((r) => r.status), ['ok', 'error', 'error', 'error']);
  t.match(rows[2].error, /renewing api failed: EROFS/);
  t.equal(rows[2].serial, serialOf(filesBefore['api.pem']), 'the row still shows the certificate in service');
  t.same([...h.manager.metrics().renewalFailures], [['ca', 0], ['collector', 1], ['api', 1], ['store-client', 1]]);
  t.ok(h.logs.some((l) => l.includes('certificate renewal failed') && l.includes('XIMP_ERR_PKI_RENEW_FAILED')));
  for (const line of h.logs) t.notMatch(line, /BEGIN|PRIVATE KEY/);

  faulty = false;
  const renewed = await h.manager.renew('all');
  t.same(await h.served(), { collector: renewed[0].serial, api: renewed[1].serial }, 'the next attempt succeeds');
  t.same(h.manager.status().map((r) => [r.status, r.error]), [['ok', null], ['ok', null], ['ok', null], ['ok', null]]);
});

t.test('a swap that fails puts the first listener back: both old certificates serve', async (t) => {
  let faulty = true;
  const h = await harness(t, { failApi: () => faulty });
  const before = await h.served();
  const filesBefore = snapshot(h.pki.dir);
  await t.rejects(h.manager.renew(['collector', 'api']), { code: 'XIMP_ERR_PKI_RENEW_FAILED', message: /renewing api failed: injected api swap fault/ });
  t.same(await h.served(), before, 'the agent listener got its old certificate back');
  t.same(snapshot(h.pki.dir), filesBefore, 'and the files are the old ones');
  t.equal(h.manager.status('collector')[0].status, 'error');

  faulty = false;
  const renewed = await h.manager.renew(['collector', 'api']);
  t.same(await h.served(), { collector: renewed[0].serial, api: renewed[1].serial });
});

t.test('renewals run one at a time', async (t) => {
  const order: string[] = [];
  const h = await harness(t, {
    files: {
      ...DEFAULT_PKI_FILE_WRITER,
      writePublic: (file, data) => {
        order.push(path.basename(file));
        DEFAULT_PKI_FILE_WRITER.writePublic(file, data);
      },
    },
  });
  const [a, b] = await Promise.all([h.manager.renew(['collector', 'api']), h.manager.renew(['api', 'collector'])]);
  t.same(order, ['collector.prev.pem', 'collector.pem', 'api.prev.pem', 'api.pem', 'api.prev.pem', 'api.pem', 'collector.prev.pem', 'collector.pem']);
  t.same(await h.served(), { collector: b[1].serial, api: b[0].serial }, 'the later call wins');
  t.not(a[0].serial, b[1].serial);
  await t.rejects(h.manager.renew(['ca' as 'api']), { code: 'XIMP_ERR_PKI_RENEW_FAILED', message: /cannot renew "ca"/ });
});

t.test('reload swaps both listeners, or neither when one file is bad', async (t) => {
  const h = await harness(t);
  const before = await h.served();
  // New pairs written behind the manager's back, as an operator restoring files would.
  const collector = h.pki.issue('collector');
  const goodApiKey = fs.readFileSync(h.pki.paths('api').key, 'utf8');
  fs.writeFileSync(h.pki.paths('api').key, fs.readFileSync(h.pki.paths('collector').key)); // does not match api.pem
  h.manager.reload();
  t.same(await h.served(), before, 'neither listener changed');
  t.ok(h.logs.some((l) => l.includes('certificate reload failed, keeping the old ones')));
  t.equal(h.storeClientReloads, 1, 'the store client reloads its own pair either way');

  fs.writeFileSync(h.pki.paths('api').key, goodApiKey);
  const api = h.pki.issue('api');
  h.manager.reload();
  t.same(await h.served(), { collector: serialOf(collector.certPem), api: serialOf(api.certPem) }, 'both swapped');
  t.ok(h.logs.some((l) => l.includes('certificates reloaded')));
});

/** The serial a new TLS connection to `port` is served, without verifying it (its notBefore may be in the injected future). */
function servedSerialUnverified(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: 'TLSv1.3' }, () => {
      resolve(socket.getPeerX509Certificate()!.serialNumber);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

async function until<T>(what: string, check: () => T | Promise<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const FAST = { periodMs: 30, spreadMs: 10, retryInitialMs: 20, retryMaxMs: 80 };

t.test('the timer renews every leaf within renew_before, and nothing before', async (t) => {
  let writes = 0;
  const h = await harness(t, {
    schedule: FAST,
    files: {
      ...DEFAULT_PKI_FILE_WRITER,
      writePublic: (file, data) => {
        writes++;
        DEFAULT_PKI_FILE_WRITER.writePublic(file, data);
      },
    },
  });
  const before = await h.served();
  const notAfter = h.manager.status('collector')[0].notAfter.getTime();
  h.clock.now = notAfter - 31 * DAY_MS;
  h.manager.start();
  await new Promise((r) => setTimeout(r, 300));
  t.equal(writes, 0, '31 days before expiry nothing is renewed');

  h.clock.now = notAfter - 20 * DAY_MS;
  await until('the collector certificate renewed', async () => (await servedSerialUnverified(h.ports.collector)) !== before.collector);
  const rows = h.manager.status();
  t.same(rows.map((r) => r.status), ['ok', 'ok', 'ok', 'ok'], 'every due leaf was renewed');
  for (const row of rows.slice(1)) t.ok(row.notAfter.getTime() - h.clock.now >= 90 * DAY_MS, `${row.component}: at least 90 days ahead`);
  t.equal(await servedSerialUnverified(h.ports.collector), rows[1].serial, 'the agent listener serves the file');
  t.equal(await servedSerialUnverified(h.ports.api), rows[2].serial, 'and so does the API listener');
  const settled = writes;
  await new Promise((r) => setTimeout(r, 200));
  t.equal(writes, settled, 'renewed once: the next checks find nothing due');
  h.manager.stop();
});

t.test('a failing renewal sets status error, is counted and logged, and is retried until it succeeds', async (t) => {
  let faulty = true;
  const h = await harness(t, { schedule: FAST, files: failingWriter(/^collector-key\.prev\.pem$/, () => faulty, true) });
  const before = await h.served();
  h.clock.now = h.manager.status('collector')[0].notAfter.getTime() - 20 * DAY_MS;
  h.manager.start();
  await until('two failed attempts', () => (h.manager.metrics().renewalFailures.get('collector') ?? 0) >= 2);
  const row = h.manager.status('collector')[0];
  t.equal(row.status, 'error');
  t.match(row.error, /renewing collector failed: EROFS: read-only file system/);
  t.same([await servedSerialUnverified(h.ports.collector), await servedSerialUnverified(h.ports.api)], [before.collector, before.api], 'the old certificates serve');
  t.equal(h.logs.filter((l) => l.includes('certificate renewal failed')).length, 1, 'one log line a minute, however many attempts');
  t.notOk(fs.existsSync(h.pki.previousPaths('collector').cert));

  faulty = false;
  await until('the retry succeeds', () => h.manager.status('collector')[0].status === 'ok');
  t.not(await servedSerialUnverified(h.ports.collector), before.collector);
  t.equal(h.manager.status('collector')[0].error, null);
  h.manager.stop();
});
