/**
 * The Prometheus the remote-write tests run against is what the issue asks for: remote write
 * accepted only over TLS 1.3 from a client holding a certificate of the collector's CA, queries
 * answered to the test's own client, out-of-order samples refused, and the same storage after a
 * restart.
 */
import t from 'tap';
import * as path from 'node:path';
import { REMOTE_WRITE_HEADERS, encodeWriteRequest } from '../packages/collector/src/store/remote-write/write-request';
import { foreignClientPair, httpsRequest, issueClientPair, readPair, skipWithoutPrometheus, startPrometheus } from './helpers/prometheus';
import { prepareCollector } from './helpers/system';

const skip = skipWithoutPrometheus(t);

t.test('Prometheus accepts remote write over TLS 1.3 from the collector CA only', { skip }, async (t) => {
  const paths = prepareCollector(t);
  const prometheus = await startPrometheus(t, { collectorDataDir: paths.dataDir });
  t.match(prometheus.writeUrl, /^https:\/\/127\.0\.0\.1:\d+\/api\/v1\/write$/);

  const up = await prometheus.query('vector(1)');
  t.equal(up[0]?.value[1], '1', 'the test client with a certificate of the collector CA can query');

  const now = Date.now();
  const body = encodeWriteRequest([
    { name: 'ximp_harness_total', labels: { instance: 'n1', job: 'ximp' }, samples: [[now - 2000, 1], [now - 1000, 2]] },
  ]);
  // The collector's managed store-client pair, as the forwarder presents it by default.
  const storeClient = readPair({
    caFile: paths.caFile,
    certFile: path.join(paths.dataDir, 'pki', 'store-client.pem'),
    keyFile: path.join(paths.dataDir, 'pki', 'store-client-key.pem'),
  });
  const write = (tls: Parameters<typeof httpsRequest>[1]['tls'], payload: Uint8Array = body, maxVersion?: 'TLSv1.2') =>
    httpsRequest(prometheus.writeUrl, {
      method: 'POST',
      headers: { ...REMOTE_WRITE_HEADERS },
      body: Buffer.from(payload),
      tls,
      minVersion: maxVersion ?? 'TLSv1.3',
      maxVersion,
    });
  const accepted = await write(storeClient);
  t.equal(accepted.status, 204, `the managed store-client certificate may write (${accepted.body})`);
  const stored = await prometheus.rawSamples('ximp_harness_total{instance="n1",job="ximp"}');
  t.same(stored.map((s) => s.values.map((v) => v[1])), [['1', '2']], 'both samples are stored under their labels');

  const older = encodeWriteRequest([{ name: 'ximp_harness_total', labels: { instance: 'n1', job: 'ximp' }, samples: [[now - 1500, 9]] }]);
  const outOfOrder = await write(storeClient, older);
  t.equal(outOfOrder.status, 400, 'an out-of-order sample is refused (out-of-order ingestion is off)');
  t.match(outOfOrder.body, /out of order/);
  // The counters the remote-write tests read to prove nothing arrived out of order.
  t.equal(await prometheus.ownMetric('prometheus_tsdb_out_of_order_samples_total'), 1, 'Prometheus counts the refused sample');
  t.equal(await prometheus.ownMetric('prometheus_http_requests_total', { code: '400', handler: '/api/v1/write' }), 1, 'and the 400 answer');
  t.equal(await prometheus.ownMetric('prometheus_tsdb_head_samples_appended_total'), 2, 'and the two samples appended');

  await t.rejects(write({ ca: storeClient.ca }), 'a client without a certificate is refused');
  const foreign = readPair(foreignClientPair(path.join(paths.dir, 'foreign')));
  await t.rejects(write({ ca: storeClient.ca, cert: foreign.cert, key: foreign.key }), 'a certificate from another CA is refused');
  const other = readPair(issueClientPair(paths.dataDir, path.join(paths.dir, 'other')));
  await t.rejects(write(other, body, 'TLSv1.2'), 'TLS 1.2 is refused even with a good certificate');

  await prometheus.restart();
  const afterRestart = await prometheus.rawSamples('ximp_harness_total{instance="n1",job="ximp"}');
  t.same(afterRestart.map((s) => s.values.length), [2], 'a restart keeps the storage and the port');
  t.equal((await write(other, encodeWriteRequest([{ name: 'ximp_harness_total', labels: { instance: 'n1', job: 'ximp' }, samples: [[now - 1000, 2]] }]))).status, 204,
    'resending only the latest sample of a series is accepted silently (a second certificate of the same CA may write too)');
  // What a sender must know: a request that repeats any sample older than a series' latest is
  // refused whole ("out of order sample"), new samples in it included (Prometheus rolls it back).
  const repeated = await write(other, encodeWriteRequest([
    { name: 'ximp_harness_total', labels: { instance: 'n1', job: 'ximp' }, samples: [[now - 2000, 1], [now - 1000, 2], [now, 3]] },
    { name: 'ximp_harness_new', labels: { instance: 'n1', job: 'ximp' }, samples: [[now, 1]] },
  ]));
  t.equal(repeated.status, 400, 'a request repeating older stored samples is refused');
  t.match(repeated.body, /out of order sample/);
  t.same(await prometheus.rawSamples('{__name__=~"ximp_harness_total|ximp_harness_new"}'), [
    { metric: { __name__: 'ximp_harness_total', instance: 'n1', job: 'ximp' }, values: afterRestart[0].values },
  ], 'nothing of the refused request is stored');

  await prometheus.kill();
  t.notOk(prometheus.running, 'kill() ends the process');
});

t.test('without the binary the tests skip naming the package, and CI=true fails instead', async (t) => {
  const saved = { PATH: process.env.PATH, CI: process.env.CI };
  t.teardown(() => {
    process.env.PATH = saved.PATH;
    if (saved.CI === undefined) delete process.env.CI;
    else process.env.CI = saved.CI;
  });
  process.env.PATH = '/nonexistent';
  delete process.env.CI;
  const failures: string[] = [];
  const recorder = { fail: (m: string) => failures.push(m) };
  t.match(skipWithoutPrometheus(recorder), /Debian's package `prometheus`/, 'a laptop skips with the package name');
  t.same(failures, [], 'and that is no failure');
  process.env.CI = 'true';
  t.match(skipWithoutPrometheus(recorder), /prometheus/);
  t.match(failures, [/CI=true requires it/], 'in CI a missing prometheus fails the run');
});
