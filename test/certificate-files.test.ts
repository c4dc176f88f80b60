/**
 * Certificates from operator files (tls.collector, tls.api, store.remote_write[].cert_file): a new
 * valid pair written over the files is picked up without a restart while a live agent keeps its
 * socket; a corrupt, mismatched or half-written pair is refused with one log line and the old one
 * keeps serving, and the fixed pair is picked up later. XIMP never renews them: renew is refused,
 * the timer skips them, status shows SOURCE file with the files' dates and warns when they are due.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import t from 'tap';
import { CertificateAuthority } from '../packages/collector/src/pki/certificate-authority';
import { PkiStore } from '../packages/collector/src/pki/pki-store';
import { startReceiver, type RemoteWritePki } from '../packages/collector/test/helpers/remote-write-receiver';
import { metricSum } from './helpers/prometheus';
import { collectorMetrics } from './helpers/remote-write-e2e';
import {
  agentList,
  createToken,
  prepareCollector,
  runCli,
  startAgent,
  startPreparedCollector,
  tempDir,
  waitFor,
  type TestCollectorPaths,
} from './helpers/system';

const FAST = { periodMs: 100, spreadMs: 20, retryInitialMs: 50, retryMaxMs: 200 };
const LOOPBACK = [
  { type: 'dns' as const, value: 'localhost' },
  { type: 'ip' as const, value: '127.0.0.1' },
];

interface FilePair {
  cert: string;
  key: string;
}

/** The certificate a new TLS 1.3 connection to `port` is served, verified against the CA. */
function served(port: number, ca: Buffer): Promise<crypto.X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: 'TLSv1.3' }, () => {
      resolve(socket.getPeerX509Certificate()!);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

/** The collector's own CA (so agents and the CLI trust the operator's pairs) signs them here. */
function collectorCa(paths: TestCollectorPaths): CertificateAuthority {
  const pki = new PkiStore(paths.dataDir);
  return CertificateAuthority.fromPem(pki.caPem(), fs.readFileSync(pki.paths('ca').key, 'utf8'));
}

function issue(ca: CertificateAuthority, component: 'collector' | 'api', validityDays = 200): FilePair {
  const pair = ca.issue({ commonName: `operator ${component}`, sans: LOOPBACK, usage: 'server', component, validityDays });
  return { cert: pair.certPem, key: pair.keyPem };
}

/** Writes the certificate then the key, each by an atomic rename (as most deployment tools do). */
function replaceByRename(files: { cert: string; key: string }, pair: FilePair): void {
  for (const [file, text] of [
    [files.cert, pair.cert],
    [files.key, pair.key],
  ]) {
    fs.writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
    fs.renameSync(`${file}.tmp`, file);
  }
}

function serialOfFile(file: string): string {
  return new crypto.X509Certificate(fs.readFileSync(file)).serialNumber;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** An initialised collector whose listeners serve the operator's files under `<dir>/certs`. */
function fileCollector(test: Parameters<typeof prepareCollector>[0], apiValidityDays = 200, checkInterval = '1s') {
  const paths = prepareCollector(
    test,
    [
      'tls:',
      '  collector: { cert_file: certs/agents.pem, key_file: certs/agents-key.pem }',
      '  api: { cert_file: certs/api.pem, key_file: certs/api-key.pem }',
      `  file_check_interval: ${checkInterval}`,
    ].join('\n'),
  );
  const dir = path.join(paths.dir, 'certs');
  fs.mkdirSync(dir);
  const files = {
    collector: { cert: path.join(dir, 'agents.pem'), key: path.join(dir, 'agents-key.pem') },
    api: { cert: path.join(dir, 'api.pem'), key: path.join(dir, 'api-key.pem') },
  };
  const ca = collectorCa(paths);
  replaceByRename(files.collector, issue(ca, 'collector'));
  replaceByRename(files.api, issue(ca, 'api', apiValidityDays));
  return { paths, files, ca };
}

t.test('a new pair written over the files serves new handshakes without a restart; a live agent keeps its socket', async (t) => {
  const { paths, files, ca } = fileCollector(t);
  const c = await startPreparedCollector(t, paths);
  const caPem = fs.readFileSync(c.caFile);
  const agentPort = c.collector.agentAddress().port;
  t.equal((await served(agentPort, caPem)).serialNumber, serialOfFile(files.collector.cert), 'the agent listener serves the operator file');
  t.equal((await served(c.apiPort, caPem)).serialNumber, serialOfFile(files.api.cert), 'and the API its own');
  t.not(serialOfFile(files.collector.cert), serialOfFile(new PkiStore(c.dataDir).paths('collector').cert), 'not the managed pair');

  const node = 'file-cert-node';
  const { token } = await createToken(c.cliConfig, node);
  const a = await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node, intervalMs: 200 });
  const active = await waitFor('ACTIVE', async () => (await agentList(c.cliConfig)).find((x) => x.node === node && x.state === 'ACTIVE'));

  // The agent listener's files replaced by renames, the API's rewritten in place (an editor).
  replaceByRename(files.collector, issue(ca, 'collector'));
  const api = issue(ca, 'api');
  fs.writeFileSync(files.api.cert, api.cert);
  fs.writeFileSync(files.api.key, api.key);
  const newAgentSerial = serialOfFile(files.collector.cert);
  await waitFor('the new agent-listener certificate', async () => (await served(agentPort, caPem)).serialNumber === newAgentSerial, 10_000);
  await waitFor('the new API certificate', async () => (await served(c.apiPort, caPem)).serialNumber === serialOfFile(files.api.cert), 10_000);

  const cycles = a.source!.cycles;
  await waitFor('more batches acknowledged', () => a.source!.cycles >= cycles + 3 && a.agent.pendingBatches() === 0);
  t.equal((await agentList(c.cliConfig)).find((x) => x.node === node)?.address, active.address, 'the same agent socket');
  t.equal(a.logs.filter((l) => l.includes('connected to collector')).length, 1, 'one connection in the agent\'s log');
  t.equal(c.logs.filter((l) => l.includes('certificate files reloaded') && l.includes('"component":"collector"')).length, 1);

  // Status: SOURCE file with the dates of the file now serving.
  for (const component of ['collector', 'api'] as const) {
    const row = c.collector.certificates!.status(component)[0];
    const x509 = new crypto.X509Certificate(fs.readFileSync(files[component].cert));
    t.match(row, { component, source: 'file', status: 'ok', serial: x509.serialNumber, error: null, certFile: files[component].cert });
    t.equal(row.notAfter.getTime(), new Date(x509.validTo).getTime(), `${component} not after`);
    t.equal(row.notBefore.getTime(), new Date(x509.validFrom).getTime(), `${component} not before`);
    t.equal(row.subject, x509.subject.split('\n').join(', '));
    t.equal(row.issuer, x509.issuer.split('\n').join(', '));
  }
  const cli = await runCli(c.cliConfig, ['tls', 'status']);
  t.equal(cli.code, 0, cli.stderr);
  t.match(cli.stdout, /\ncollector\s.*\sok\s+file\n/);
  t.match(cli.stdout, /\napi\s.*\sok\s+file\n/);
  t.match(cli.stdout, /\nstore-client\s.*\sok\s+managed\n/);
});

t.test('a corrupt, mismatched or half-written pair is refused once and the old one keeps serving; the fixed pair is picked up', async (t) => {
  const { paths, files, ca } = fileCollector(t);
  const c = await startPreparedCollector(t, paths);
  const caPem = fs.readFileSync(c.caFile);
  const agentPort = c.collector.agentAddress().port;
  const before = { agents: serialOfFile(files.collector.cert), api: serialOfFile(files.api.cert) };
  const refusals = (component: string): string[] =>
    c.logs.filter((l) => l.includes('certificate files refused') && l.includes(`"component":"${component}"`));

  // A corrupt certificate on the agent listener, a key of another pair on the API.
  fs.writeFileSync(files.collector.cert, '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
  fs.writeFileSync(files.api.key, issue(ca, 'api').key);
  await waitFor('both refused', () => refusals('collector').length > 0 && refusals('api').length > 0, 10_000);
  await sleep(2500); // two more checks of the same files
  t.equal(refusals('collector').length, 1, 'one line for the corrupt certificate');
  t.equal(refusals('api').length, 1, 'one line for the mismatched key');
  t.match(refusals('collector')[0], files.collector.cert, 'the line names the file');
  t.match(refusals('collector')[0], /not a PEM certificate/);
  t.match(refusals('api')[0], /is not the key of cert_file .*mismatched/);
  t.match(refusals('api')[0], /XIMP_ERR_PKI_INVALID/);
  t.notOk(c.logs.some((l) => l.includes('PRIVATE KEY')), 'no key material in the log');
  t.same({ agents: (await served(agentPort, caPem)).serialNumber, api: (await served(c.apiPort, caPem)).serialNumber }, before, 'the old pairs serve');
  const row = c.collector.certificates!.status('api')[0];
  t.match(row, { status: 'error', source: 'file', serial: before.api });
  t.match(row.error, /mismatched/);
  const cli = await runCli(c.cliConfig, ['tls', 'status', '--component', 'api']);
  t.match(cli.stderr, /^error: api: .*mismatched/m, 'the reason under the table');

  // Half replaced: a new certificate, its key not written yet, is refused; the key then completes it.
  const next = issue(ca, 'collector');
  fs.writeFileSync(files.collector.cert, next.cert);
  await waitFor('the half-written pair refused', () => refusals('collector').length === 2, 10_000);
  t.match(refusals('collector')[1], /mismatched/);
  t.equal((await served(agentPort, caPem)).serialNumber, before.agents, 'still the old pair');
  fs.writeFileSync(files.collector.key, next.key);
  const fixedApi = issue(ca, 'api');
  replaceByRename(files.api, fixedApi);
  await waitFor('the completed pair serves', async () => (await served(agentPort, caPem)).serialNumber === serialOfFile(files.collector.cert), 10_000);
  await waitFor('the fixed API pair serves', async () => (await served(c.apiPort, caPem)).serialNumber === serialOfFile(files.api.cert), 10_000);
  t.equal(c.collector.certificates!.status('api')[0].status, 'ok', 'no longer in error');
  t.equal(refusals('collector').length, 2);
});

t.test('SIGHUP checks the files at once, between two periodic checks', async (t) => {
  const { paths, files, ca } = fileCollector(t, 200, '1h');
  const c = await startPreparedCollector(t, paths);
  const caPem = fs.readFileSync(c.caFile);
  const before = (await served(c.apiPort, caPem)).serialNumber;
  replaceByRename(files.api, issue(ca, 'api'));
  await sleep(300);
  t.equal((await served(c.apiPort, caPem)).serialNumber, before, 'not before the next check');
  c.collector.reloadCertificates();
  t.equal((await served(c.apiPort, caPem)).serialNumber, serialOfFile(files.api.cert), 'the new pair serves');
  t.ok(c.logs.some((l) => l.includes('certificates reloaded')));
});

t.test('certificates from files are never renewed: renew is refused, the timer skips them and warns when due', async (t) => {
  // The API pair expires in 20 days: due, and the timer (every 100 ms here) must leave it alone.
  const { paths, files } = fileCollector(t, 20);
  const c = await startPreparedCollector(t, paths, { certificates: { schedule: FAST } });
  const caPem = fs.readFileSync(c.caFile);
  const apiSerial = serialOfFile(files.api.cert);
  await sleep(500);
  t.equal((await served(c.apiPort, caPem)).serialNumber, apiSerial, 'not renewed by the timer');
  t.equal(serialOfFile(files.api.cert), apiSerial, 'its file untouched');
  t.equal(c.collector.certificates!.status('api')[0].status, 'renew-due');
  const warnings = c.logs.filter((l) => l.includes('certificate from files is due'));
  t.equal(warnings.length, 1, 'the timer warns once, throttled');
  t.match(warnings[0], /"component":"api"/);
  t.match(warnings[0], files.api.cert);

  const status = await runCli(c.cliConfig, ['tls', 'status']);
  t.equal(status.code, 0);
  t.match(status.stdout, /\napi\s.*\srenew-due\s+file\n/);
  t.match(status.stderr, new RegExp(`^warning: api: the certificate from ${files.api.cert} expires in 1[89] days; XIMP does not renew certificates from files: replace them$`, 'm'));

  const one = await runCli(c.cliConfig, ['tls', 'renew', '--component', 'api']);
  t.equal(one.code, 2, 'refused as a request that cannot be done (400)');
  t.match(one.stderr, /api: the certificate comes from files .*api\.pem.*XIMP does not renew it: write a new certificate and key to those files; the collector checks them every 1s and on SIGHUP/);
  t.equal(c.collector.certificates!.metrics().renewalFailures.get('api'), 0, 'not counted as a failed renewal');

  const all = await runCli(c.cliConfig, ['tls', 'renew', '--all', '--output', 'json']);
  t.equal(all.code, 0, all.stderr);
  t.same(JSON.parse(all.stdout).map((r: { component: string }) => r.component), ['store-client'], 'only the managed certificate');
  t.equal(all.stderr, 'skipped collector, api: certificates from files are not renewed by XIMP; replace the files\n');
  t.ok(c.logs.some((l) => l.includes('certificates from files are not renewed') && l.includes('"skipped":["collector","api"]')));
  t.equal((await served(c.apiPort, caPem)).serialNumber, apiSerial);

  const metrics = await collectorMetrics(c);
  t.equal(
    metricSum(metrics, 'ximp_tls_certificate_expiry_timestamp_seconds', { component: 'api' }),
    Math.floor(new Date(new crypto.X509Certificate(fs.readFileSync(files.api.cert)).validTo).getTime() / 1000),
    'the expiry gauge covers certificates from files',
  );
});

t.test('a remote store client pair from files: a new pair is used for the next connections, a bad one refused', async (t) => {
  const storeCa = CertificateAuthority.create({ commonName: 'store CA' });
  const dir = tempDir(t);
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text, { mode: 0o600 });
    return file;
  };
  const server = storeCa.issue({ commonName: 'localhost', usage: 'server', sans: LOOPBACK });
  const client = (cn: string): FilePair => {
    const p = storeCa.issue({ commonName: cn, usage: 'client', sans: [{ type: 'dns', value: cn }] });
    return { cert: p.certPem, key: p.keyPem };
  };
  const first = client('client-one');
  const pki: RemoteWritePki = {
    dir,
    caPem: storeCa.certPem,
    caFile: write('ca.pem', storeCa.certPem),
    server: { cert: server.certPem, key: server.keyPem },
    client: { certFile: write('client.pem', first.cert), keyFile: write('client-key.pem', first.key) },
    otherClient: { certFile: '', keyFile: '' },
  };
  const receiver = await startReceiver(t, pki);
  const paths = prepareCollector(
    t,
    [
      'tls:',
      '  file_check_interval: 1s',
      'store:',
      '  remote_write:',
      '    - name: prom',
      `      url: ${receiver.url}`,
      `      ca_file: ${pki.caFile}`,
      `      cert_file: ${pki.client.certFile}`,
      `      key_file: ${pki.client.keyFile}`,
      '      encode_in_worker: false',
    ].join('\n'),
  );
  const c = await startPreparedCollector(t, paths);
  const node = 'store-cert-node';
  const { token } = await createToken(c.cliConfig, node);
  await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node, intervalMs: 100 });
  await waitFor('writes with the first pair', () => receiver.requests.some((r) => r.client === 'client-one'), 15_000);
  const row = c.collector.certificates!.status('store-client:prom')[0];
  t.match(row, { component: 'store-client:prom', source: 'file', status: 'ok', serial: serialOfFile(pki.client.certFile) });
  const listed = await runCli(c.cliConfig, ['tls', 'status', '--component', 'store-client:prom', '--output', 'json']);
  t.equal(listed.code, 0, listed.stderr);
  t.match(JSON.parse(listed.stdout), [{ component: 'store-client:prom', source: 'file', status: 'ok', not_after: row.notAfter.toISOString() }]);

  // A key that does not fit: refused, the store keeps writing with the first pair.
  fs.writeFileSync(pki.client.keyFile, client('stray').key);
  const refused = (): string[] => c.logs.filter((l) => l.includes('certificate files refused') && l.includes('store-client:prom'));
  await waitFor('the mismatched pair refused', () => refused().length > 0, 10_000);
  t.match(c.collector.certificates!.status('store-client:prom')[0], { status: 'error', error: /mismatched/ });
  const seen = receiver.requests.length;
  await waitFor('still writing', () => receiver.requests.length > seen + 2, 10_000);
  t.ok(receiver.requests.slice(seen).every((r) => r.client === 'client-one'), 'with the first pair');

  const second = client('client-two');
  fs.writeFileSync(pki.client.certFile, second.cert);
  fs.writeFileSync(pki.client.keyFile, second.key);
  await waitFor('writes with the new pair', () => receiver.requests.some((r) => r.client === 'client-two'), 15_000);
  t.match(c.collector.certificates!.status('store-client:prom')[0], { status: 'ok', error: null, serial: serialOfFile(pki.client.certFile) });
  t.equal(refused().length, 1, 'one refusal line');
  const metrics = await collectorMetrics(c);
  t.ok(metricSum(metrics, 'ximp_tls_certificate_expiry_timestamp_seconds', { component: 'store-client:prom' }) > 0);
});
