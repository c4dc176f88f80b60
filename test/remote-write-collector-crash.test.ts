/**
 * kill -9 of the collector with batches in its forward queue, then a restart: the queue survives
 * on disk and drains into Prometheus; every sample arrives exactly once. The second case kills
 * the collector while the backlog is going out (requests in flight), the replay's hard case.
 */
import t from 'tap';
import type { Test } from 'tap';
import { skipWithoutPrometheus, startPrometheus, type TestPrometheus } from './helpers/prometheus';
import { M, STORE, assertEverySampleInPrometheusOnce, collectorMetrics, metricSum, remoteWriteYaml } from './helpers/remote-write-e2e';
import { BIN, createToken, freePort, prepareCollector, spawnNode, startAgent, waitFor, writeCollectorConfig, type TestAgent, type TestCollectorPaths } from './helpers/system';

// Real processes and waits on the store: longer than .taprc's per-file timeout.
t.setTimeout(400_000);
const skip = skipWithoutPrometheus(t);

interface CrashSetup {
  paths: TestCollectorPaths & { apiPort: number };
  prometheus: TestPrometheus;
  agents: TestAgent[];
  nodes: string[];
  /** The collector process started by setup. */
  first: ReturnType<typeof spawnNode>;
  start(): Promise<ReturnType<typeof spawnNode>>;
}

async function setup(t: Test, nodes: string[]): Promise<CrashSetup> {
  const ports = { agents: await freePort(), api: await freePort() };
  const initPaths = prepareCollector(t, '', ports);
  const prometheus = await startPrometheus(t, { collectorDataDir: initPaths.dataDir });
  writeCollectorConfig(initPaths.configFile, ports, remoteWriteYaml(prometheus.writeUrl, { shards: 2, max_samples_per_request: 100 }));
  const paths = { ...initPaths, apiPort: ports.api };
  const start = async (): Promise<ReturnType<typeof spawnNode>> => {
    const child = spawnNode(t, [BIN.collector, '--config', paths.configFile]);
    await waitFor('collector listening', () => child.output().includes('collector listening'), 20_000);
    return child;
  };
  const collector = await start();
  const url = `wss://127.0.0.1:${ports.agents}/v1/agent`;
  const agents: TestAgent[] = [];
  for (const node of nodes) {
    const { token } = await createToken(paths.cliConfig, node);
    agents.push(await startAgent(t, { url, token, caFile: paths.caFile, node, intervalMs: 50 }));
  }
  await waitFor('samples in Prometheus', async () => (await prometheus.query('count(ximp_test_cycle)')).length > 0, 20_000, 250);
  return { paths, prometheus, agents, nodes, first: collector, start };
}

async function kill9(child: ReturnType<typeof spawnNode>): Promise<void> {
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
}

/**
 * `inFlight`: the collector was killed while requests were in flight, so the restarted one may
 * repeat a request Prometheus had already taken (its confirmation was lost). Prometheus answers
 * such a repeat 400 "out of order sample" and stores nothing of it; the collector must count it as
 * already stored, never as a drop.
 */
async function finish(t: Test, s: CrashSetup, collector: ReturnType<typeof spawnNode>, inFlight: boolean): Promise<void> {
  await waitFor('agents drained', () => s.agents.every((a) => a.agent.pendingBatches() <= 2), 30_000);
  for (const a of s.agents) await a.stop();
  const produced = s.agents.map((a) => a.source!.cycles);
  await waitFor('the queue drains', async () => metricSum(await collectorMetrics(s.paths), M.queueSamples, { store: STORE }) === 0, 60_000, 250);
  await assertEverySampleInPrometheusOnce(t, s.prometheus, s.nodes, produced, 'ximp_test_cycle');
  const metrics = await collectorMetrics(s.paths);
  t.equal(metricSum(metrics, M.dropped, { store: STORE }), 0, 'the collector dropped nothing');
  const refused = await s.prometheus.ownMetric('prometheus_http_requests_total', { code: '400', handler: '/api/v1/write' });
  if (inFlight) {
    t.equal(metricSum(metrics, M.requests, { store: STORE, outcome: 'already_stored' }), refused, `every request Prometheus refused (${refused}) was a repeat the collector counted as already stored`);
  } else {
    t.equal(refused, 0, 'Prometheus refused no request');
    t.equal(await s.prometheus.ownMetric('prometheus_tsdb_out_of_order_samples_total'), 0, 'and no sample as out of order');
  }
  collector.kill('SIGTERM');
  await new Promise((resolve) => collector.once('exit', resolve));
  t.equal(collector.exitCode, 0, 'SIGTERM stops the collector with status 0');
}

t.test('kill -9 with a non-empty queue, then restart: the queue drains, nothing lost', { skip, timeout: 180_000 }, async (t) => {
  const s = await setup(t, ['crash-a', 'crash-b', 'crash-c']);
  await s.prometheus.stop();
  await waitFor('a backlog in the queue', async () => metricSum(await collectorMetrics(s.paths), M.queueSamples, { store: STORE }) > 100, 20_000, 250);
  await kill9(s.first);
  await s.prometheus.start();
  const collector = await s.start();
  await finish(t, s, collector, false);
});

t.test('kill -9 while the backlog goes out, then restart: every sample once', { skip, timeout: 180_000 }, async (t) => {
  const s = await setup(t, ['flight-a', 'flight-b', 'flight-c']);
  await s.prometheus.stop();
  await waitFor('a backlog in the queue', async () => metricSum(await collectorMetrics(s.paths), M.queueSamples, { store: STORE }) > 600, 30_000, 250);
  const forwardedBefore = metricSum(await collectorMetrics(s.paths), M.forwarded, { store: STORE });
  await s.prometheus.start();
  // The collector retries with backoff (at most 5 s): kill it once part of the backlog went out.
  await waitFor('the backlog starts to go out', async () => metricSum(await collectorMetrics(s.paths), M.forwarded, { store: STORE }) > forwardedBefore, 20_000, 20);
  await kill9(s.first);
  const collector = await s.start();
  await finish(t, s, collector, true);
});
