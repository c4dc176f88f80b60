/**
 * Managed certificates renew themselves: with the certificate clock at 20 days before expiry the
 * timer renews, and a live agent keeps its socket while new handshakes get the new certificate.
 * A renewal that cannot write `pki/` changes nothing that serves, shows `error`, and succeeds on
 * the next attempt once the folder is writable again. A reload with one bad file swaps neither listener.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as tls from 'node:tls';
import t from 'tap';
import { PkiStore } from '../packages/collector/src/pki/pki-store';
import { metricSum } from './helpers/prometheus';
import { mountReadOnly, skipWithoutReadOnlyBind } from './helpers/read-only-bind';
import { collectorMetrics } from './helpers/remote-write-e2e';
import { agentList, createToken, prepareCollector, startAgent, startPreparedCollector, waitFor, type TestCollectorPaths } from './helpers/system';

const DAY_MS = 86_400_000;
const FAST = { periodMs: 100, spreadMs: 20, retryInitialMs: 50, retryMaxMs: 200 };

/** The certificate a new TLS 1.3 connection to `port` is served, verified against the CA as an agent would. */
function served(port: number, ca: Buffer): Promise<crypto.X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: 'TLSv1.3' }, () => {
      resolve(socket.getPeerX509Certificate()!);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

/**
 * An initialised collector whose collector and api certificates were issued 377 days ago, so they
 * expire in 20 days (the CA's 397-day leaves): new ones issued "now" are valid for real clients.
 */
function agedCollector(test: { teardown(fn: () => unknown): void }): TestCollectorPaths {
  const paths = prepareCollector(test);
  const pki = new PkiStore(paths.dataDir);
  const issuedAt = Date.now() - 377 * DAY_MS;
  pki.issue('collector', undefined, issuedAt);
  pki.issue('api', undefined, issuedAt);
  return paths;
}

// In CI the test always runs: a refused mount there is a failure, not a skip.
const skip = skipWithoutReadOnlyBind();

t.test('the timer renews the collector certificate 20 days before expiry; a live agent keeps its socket', async (t) => {
  const paths = agedCollector(t);
  // The certificate clock starts 100 days back (nothing due), then moves to 20 days before expiry.
  const clock = { offsetMs: -100 * DAY_MS };
  const c = await startPreparedCollector(t, paths, { certificates: { now: () => Date.now() + clock.offsetMs, schedule: FAST } });
  const ca = fs.readFileSync(c.caFile);
  const agentPort = c.collector.agentAddress().port;
  const node = 'renewing-node';
  const { token } = await createToken(c.cliConfig, node);
  const a = await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node, intervalMs: 200 });
  const active = await waitFor('ACTIVE', async () => (await agentList(c.cliConfig)).find((x) => x.node === node && x.state === 'ACTIVE'));
  const old = await served(agentPort, ca);
  const oldApi = await served(c.apiPort, ca);
  await new Promise((r) => setTimeout(r, 300));
  t.equal((await served(agentPort, ca)).serialNumber, old.serialNumber, 'not renewed while 120 days are left');
  t.equal(c.collector.certificates?.status('collector')[0].status, 'ok');

  clock.offsetMs = 0;
  t.equal(c.collector.certificates?.status('collector')[0].daysLeft, 19, 'now within renew_before');
  const renewed = await waitFor('a new certificate on the agent port', async () => {
    const cert = await served(agentPort, ca);
    return cert.serialNumber !== old.serialNumber ? cert : null;
  });
  t.ok(new Date(renewed.validTo).getTime() - Date.now() >= 90 * DAY_MS, `NOT-AFTER ${renewed.validTo} is at least 90 days ahead`);
  t.equal(renewed.serialNumber, new crypto.X509Certificate(fs.readFileSync(new PkiStore(c.dataDir).paths('collector').cert)).serialNumber, 'the file serves');
  t.not((await served(c.apiPort, ca)).serialNumber, oldApi.serialNumber, 'the API certificate, due too, renewed with it');

  // The agent goes on over its old connection: more batches acknowledged, same socket, no reconnect.
  const cycles = a.source!.cycles;
  await waitFor('more batches acknowledged', () => a.source!.cycles >= cycles + 3 && a.agent.pendingBatches() === 0);
  const now = (await agentList(c.cliConfig)).find((x) => x.node === node);
  t.equal(now?.address, active.address, 'the same agent socket (address and local port)');
  t.equal(a.logs.filter((l) => l.includes('connected to collector')).length, 1, 'one connection in the agent\'s log');
  t.notOk(a.logs.some((l) => /disconnected from collector|reconnecting|collector connection error/.test(l)), 'no reconnect');
  t.ok(c.logs.some((l) => l.includes('certificate renewed') && l.includes('"component":"collector"')));
  const metrics = await collectorMetrics(c);
  t.equal(metricSum(metrics, 'ximp_tls_certificate_expiry_timestamp_seconds', { component: 'collector' }), Math.floor(new Date(renewed.validTo).getTime() / 1000));
  t.equal(metricSum(metrics, 'ximp_tls_renewal_failures_total', { component: 'collector' }), 0);
});

t.test('a renewal that cannot write pki/ keeps the old certificates serving; the next attempt succeeds', { skip }, async (t) => {
  const paths = agedCollector(t);
  const pkiDir = new PkiStore(paths.dataDir).dir;
  // A read-only bind of pki/ onto itself: even root cannot write there (tests run as root).
  const unmount = mountReadOnly(t, pkiDir);
  const filesBefore = fs.readdirSync(pkiDir).sort();

  const c = await startPreparedCollector(t, paths, { certificates: { schedule: FAST } });
  const ca = fs.readFileSync(c.caFile);
  const agentPort = c.collector.agentAddress().port;
  const before = { agents: (await served(agentPort, ca)).serialNumber, api: (await served(c.apiPort, ca)).serialNumber };
  const manager = c.collector.certificates!;
  await waitFor('two failed attempts', () => (manager.metrics().renewalFailures.get('collector') ?? 0) >= 2);

  const row = manager.status('collector')[0];
  t.equal(row.status, 'error');
  t.match(row.error, /renewing collector failed: .*read-only file system/i, 'the reason');
  t.same(
    { agents: (await served(agentPort, ca)).serialNumber, api: (await served(c.apiPort, ca)).serialNumber },
    before,
    'both listeners serve the old certificates',
  );
  t.same(fs.readdirSync(pkiDir).sort(), filesBefore, 'nothing was written');
  t.ok(c.logs.some((l) => l.includes('certificate renewal failed') && l.includes('XIMP_ERR_PKI_RENEW_FAILED')));
  const metrics = await collectorMetrics(c);
  t.ok(metricSum(metrics, 'ximp_tls_renewal_failures_total', { component: 'collector' }) >= 2, 'counted in /metrics');

  unmount();
  await waitFor('the retry succeeds', () => manager.status('collector')[0].status === 'ok');
  const after = { agents: (await served(agentPort, ca)).serialNumber, api: (await served(c.apiPort, ca)).serialNumber };
  t.not(after.agents, before.agents, 'the agent listener serves a new certificate');
  t.not(after.api, before.api, 'and so does the API listener');
  t.equal(manager.status('collector')[0].error, null);
});

t.test('a reload (SIGHUP) with one bad file swaps neither listener', async (t) => {
  const c = await startPreparedCollector(t, prepareCollector(t));
  const ca = fs.readFileSync(c.caFile);
  const agentPort = c.collector.agentAddress().port;
  const before = { agents: (await served(agentPort, ca)).serialNumber, api: (await served(c.apiPort, ca)).serialNumber };
  const pki = new PkiStore(c.dataDir);
  pki.issue('api');
  pki.issue('collector');
  fs.writeFileSync(pki.paths('collector').key, 'not a key\n');
  c.collector.reloadCertificates();
  t.same(
    { agents: (await served(agentPort, ca)).serialNumber, api: (await served(c.apiPort, ca)).serialNumber },
    before,
    'the API did not move to its new certificate while the agent listener kept the old one',
  );
  t.ok(c.logs.some((l) => l.includes('certificate reload failed, keeping the old ones')));
  t.notOk(c.logs.some((l) => l.includes('not a key')), 'file contents never logged');
});
