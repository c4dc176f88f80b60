/**
 * The CA roll inside the certificate manager, with faults injected into the file writes: a step
 * that fails at any file puts every old file back and keeps the old certificates serving; the
 * renewal timer never rolls the CA, but a CA within a year of expiry shows `renew-due` and is
 * warned about at most once an hour.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Writable } from 'node:stream';
import t from 'tap';
import { ErrorCodes, createLogger, serverTlsOptions } from '@ximp/shared';
import { CertificateManager, type CertificateManagerOptions, type TlsPair } from '../src/pki/certificate-manager';
import { CertificateAuthority } from '../src/pki/certificate-authority';
import { DEFAULT_PKI_FILE_WRITER, type PkiFileWriter } from '../src/pki/pair-replacement';
import { PkiStore } from '../src/pki/pki-store';
import { defaultSubjectAltNames } from '../src/pki/subject-alt-names';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
type Tap = Pick<typeof t, 'teardown'>;

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) out[name] = fs.readFileSync(path.join(dir, name), 'utf8');
  return out;
}

function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: 'TLSv1.3' }, () => {
      resolve(socket.getPeerX509Certificate()!.serialNumber);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

/**
 * Fails the first write of each file whose name matches `pattern` while `fault.on` (the writes
 * that then put it back work; a folder that refuses every write is test/ca-roll-failure.test.ts).
 */
function faultyWriter(pattern: RegExp, fault: { on: boolean }): PkiFileWriter {
  const failed = new Set<string>();
  const check = (file: string): void => {
    if (!fault.on || !pattern.test(path.basename(file)) || failed.has(file)) return;
    failed.add(file);
    throw Object.assign(new Error(`EROFS: read-only file system, open '${file}'`), { code: 'EROFS' });
  };
  return {
    writeSecret: (file, data) => {
      check(file);
      DEFAULT_PKI_FILE_WRITER.writeSecret(file, data);
    },
    writePublic: (file, data) => {
      check(file);
      DEFAULT_PKI_FILE_WRITER.writePublic(file, data);
    },
    remove: (file) => DEFAULT_PKI_FILE_WRITER.remove(file),
  };
}

interface Harness {
  pki: PkiStore;
  manager: CertificateManager;
  logs: string[];
  clock: { now: number };
  /** Serials served on the two listeners, verified against every CA in pki/. */
  served(): Promise<{ collector: string; api: string }>;
  /** The listeners the manager swapped a pair into, in order. */
  swaps: string[];
}

async function harness(t: Tap, files: PkiFileWriter = DEFAULT_PKI_FILE_WRITER, extra: Partial<CertificateManagerOptions> = {}): Promise<Harness> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-ca-roll-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const created = Date.now();
  const pki = new PkiStore(dataDir, 'machine-a');
  pki.create(defaultSubjectAltNames([], 'machine-a'), created);
  const listen = async (pair: TlsPair): Promise<{ server: tls.Server; port: number }> => {
    const server = tls.createServer(serverTlsOptions(pair), (socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { server, port: (server.address() as AddressInfo).port };
  };
  const pair = (c: 'collector' | 'api'): TlsPair => ({ cert: pki.load(c).certPem, key: pki.load(c).keyPem });
  const collector = await listen(pair('collector'));
  const api = await listen(pair('api'));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
      done();
    },
  });
  const clock = { now: created };
  const swaps: string[] = [];
  const manager = new CertificateManager({
    pki,
    renewBeforeMs: 30 * DAY_MS,
    leafValidityMs: 365 * DAY_MS,
    hostnames: [],
    targets: {
      collector: (p) => {
        swaps.push('collector');
        collector.server.setSecureContext(serverTlsOptions(p));
      },
      api: (p) => {
        swaps.push('api');
        api.server.setSecureContext(serverTlsOptions(p));
      },
      storeClient: () => undefined,
    },
    log: createLogger({ name: 'test', level: 'debug', destination: sink }),
    now: () => clock.now,
    schedule: { periodMs: 20, spreadMs: 5, retryInitialMs: 20, retryMaxMs: 50 },
    files,
    ...extra,
  });
  t.teardown(() => manager.stop());
  const trust = (): string => ['ca.pem', 'ca-next.pem', 'ca-old.pem'].map((f) => path.join(pki.dir, f)).filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, 'utf8')).join('');
  return {
    pki,
    manager,
    logs,
    clock,
    served: async () => ({ collector: await servedSerial(collector.port, trust()), api: await servedSerial(api.port, trust()) }),
    swaps,
  };
}

t.test('a switch that fails at a leaf, after the CA files were replaced, puts every old file back', async (t) => {
  const fault = { on: false };
  const h = await harness(t, faultyWriter(/^api\.pem$/, fault));
  await h.manager.rollCa('bundle');
  const before = { files: snapshot(h.pki.dir), served: await h.served() };
  fault.on = true;
  await t.rejects(h.manager.rollCa('switch'), { code: ErrorCodes.PKI_RENEW_FAILED, message: /^CA roll step switch failed: renewing api failed: EROFS.*the old CA and every old certificate are kept$/ });
  t.same(snapshot(h.pki.dir), before.files, 'ca.pem, ca-key.pem, the leaves and the next CA are the old files; no ca-old.pem, no *.prev');
  t.same(await h.served(), before.served, 'both listeners serve the old certificates');
  const ca = h.manager.status('ca')[0];
  t.equal(ca.status, 'error');
  t.match(ca.error, /CA roll step switch failed/);
  t.equal(h.manager.status('ca-next')[0].status, 'ok', 'the next CA is still there to switch to');

  fault.on = false;
  const result = await h.manager.rollCa('switch');
  t.equal(result.changed, true);
  t.equal(h.manager.status('ca')[0].status, 'ok', 'a step that succeeds clears the error');
  t.same(h.manager.status().map((r) => r.component), ['ca', 'ca-old', 'collector', 'api', 'store-client']);
});

t.test('a bundle that cannot write the bundle file leaves no next CA behind', async (t) => {
  const fault = { on: true };
  const h = await harness(t, faultyWriter(/^ca-bundle\.pem$/, fault));
  const before = snapshot(h.pki.dir);
  await t.rejects(h.manager.rollCa('bundle'), { code: ErrorCodes.PKI_RENEW_FAILED, message: /^CA roll step bundle failed: EROFS/ });
  t.same(snapshot(h.pki.dir), before, 'no ca-next.pem, no ca-next-key.pem, no bundle');
  t.same(h.manager.status().map((r) => r.component), ['ca', 'collector', 'api', 'store-client']);
  t.same(h.manager.metrics().renewalFailures.get('ca'), 1, 'counted for the ca component');
  // Still out of order afterwards: nothing was bundled.
  await t.rejects(h.manager.rollCa('switch'), { code: ErrorCodes.PKI_ROLL_OUT_OF_ORDER, message: /run --step bundle first/ });
  t.same(h.manager.metrics().renewalFailures.get('ca'), 1, 'a refusal is not a failure');
});

t.test('switch run again after a crash in the middle of one finishes it: leaves of the old CA are re-issued', async (t) => {
  const h = await harness(t);
  await h.manager.rollCa('bundle');
  // What a crash right after the CA files were replaced leaves: the new CA issues, the leaves are old.
  const dir = h.pki.dir;
  const oldCa = fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8');
  fs.writeFileSync(path.join(dir, 'ca-old.pem'), oldCa);
  fs.copyFileSync(path.join(dir, 'ca-key.pem'), path.join(dir, 'ca-key.prev.pem'));
  fs.copyFileSync(path.join(dir, 'ca-next-key.pem'), path.join(dir, 'ca-key.pem'));
  fs.copyFileSync(path.join(dir, 'ca-next.pem'), path.join(dir, 'ca.pem'));
  t.match(h.manager.status('collector')[0].error, /not signed by the current CA/);

  const result = await h.manager.rollCa('switch');
  t.equal(result.changed, false, 'the roll already was at switch');
  t.same(result.renewed.map((r) => r.component).sort(), ['api', 'collector', 'store-client'], 'the leaves re-issued');
  t.same(h.manager.status().map((r) => [r.component, r.status]), [['ca', 'ok'], ['ca-old', 'ok'], ['collector', 'ok'], ['api', 'ok'], ['store-client', 'ok']]);
  for (const gone of ['ca-next.pem', 'ca-next-key.pem', 'ca-key.prev.pem']) t.notOk(fs.existsSync(path.join(dir, gone)), `${gone} removed`);
  const again = await h.manager.rollCa('switch');
  t.same(again.renewed, [], 'a third run re-issues nothing');
});

t.test('the timer never rolls the CA: within a year of its expiry it is renew-due and warned about once an hour', async (t) => {
  const h = await harness(t);
  const caFile = h.pki.paths('ca').cert;
  const caPem = fs.readFileSync(caFile, 'utf8');
  const notAfter = new Date(new crypto.X509Certificate(caPem).validTo).getTime();
  h.clock.now = notAfter - 400 * DAY_MS;
  t.equal(h.manager.status('ca')[0].status, 'ok', 'more than a year left');
  h.clock.now = notAfter - 200 * DAY_MS;
  t.equal(h.manager.status('ca')[0].status, 'renew-due', 'within a year (tls.renew_before is 30 days)');

  const warnings = (): string[] => h.logs.filter((l) => l.includes('the CA expires soon'));
  h.manager.start();
  await new Promise((r) => setTimeout(r, 300)); // a dozen checks at least
  t.equal(warnings().length, 1, 'one line however often the timer checks');
  t.match(warnings()[0], /"level":40/);
  t.match(warnings()[0], /ximp tls renew --component ca --step bundle/);
  t.match(warnings()[0], /"days_left":200/);
  h.clock.now += HOUR_MS + 1;
  await new Promise((r) => setTimeout(r, 300));
  t.equal(warnings().length, 2, 'again after an hour');
  t.equal(fs.readFileSync(caFile, 'utf8'), caPem, 'the CA was not replaced');
  t.notOk(fs.existsSync(h.pki.paths('ca-next').cert), 'no roll was started');
});

t.test("a switch re-issues only the managed leaves: a listener on the operator's files keeps its pair", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-ca-roll-files-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const operator = CertificateAuthority.create({ commonName: 'Operator CA' });
  const leaf = operator.issue({ commonName: 'api.example.net', usage: 'server', sans: [{ type: 'dns', value: 'localhost' }] });
  const files = { certFile: path.join(dir, 'api.pem'), keyFile: path.join(dir, 'api-key.pem') };
  fs.writeFileSync(files.certFile, leaf.certPem);
  fs.writeFileSync(files.keyFile, leaf.keyPem, { mode: 0o600 });
  const h = await harness(t, DEFAULT_PKI_FILE_WRITER, { fromFiles: { servers: { api: files }, stores: [], intervalMs: HOUR_MS } });
  const apiBefore = h.manager.status('api')[0];
  t.equal(apiBefore.source, 'file');
  await h.manager.rollCa('bundle');
  const result = await h.manager.rollCa('switch');
  t.same(result.renewed.map((r) => r.component).sort(), ['collector', 'store-client'], 'api is not re-issued');
  t.same(h.swaps, ['collector'], 'only the agent listener got a new pair');
  const apiAfter = h.manager.status('api')[0];
  t.equal(apiAfter.serial, apiBefore.serial, 'the operator pair still serves');
  t.equal(apiAfter.source, 'file');
  const newCa = new crypto.X509Certificate(fs.readFileSync(path.join(h.pki.dir, 'ca.pem')));
  const collector = new crypto.X509Certificate(fs.readFileSync(h.pki.paths('collector').cert));
  t.ok(collector.verify(newCa.publicKey), 'the collector certificate is signed by the new CA');
});
