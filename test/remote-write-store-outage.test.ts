/**
 * Prometheus stopped for 60 s while agents stream, then started again: every sample produced is
 * in Prometheus exactly once (counted per series), and no request was refused as out of order.
 */
import t from 'tap';
import { skipWithoutPrometheus } from './helpers/prometheus';
import {
  M,
  STORE,
  assertEverySampleInPrometheusOnce,
  collectorMetrics,
  drainAndStopAgents,
  metricSum,
  startRemoteWriteSystem,
  wideSource,
} from './helpers/remote-write-e2e';
import { createToken, startAgent, waitFor, type TestAgent } from './helpers/system';

const OUTAGE_MS = Number(process.env.XIMP_TEST_STORE_OUTAGE_MS ?? 60_000);
// Longer than .taprc's per-file timeout: the store is away for a full minute.
t.setTimeout(OUTAGE_MS + 180_000);
const skip = skipWithoutPrometheus(t);

t.test('a 60 s store outage while agents stream: every sample arrives once, in order', { skip, timeout: OUTAGE_MS + 150_000 }, async (t) => {
  // Small requests and two shards, so the backlog goes out as many requests over several shards.
  const { prometheus, collector } = await startRemoteWriteSystem(t, { store: { shards: 2, max_samples_per_request: 200 } });
  const nodes = ['out-a', 'out-b', 'out-c'];
  const width = 20;
  const sources = nodes.map(() => wideSource(width));
  const agents: TestAgent[] = [];
  for (const [i, node] of nodes.entries()) {
    const { token } = await createToken(collector.cliConfig, node);
    agents.push(await startAgent(t, { url: collector.agentUrl, token, caFile: collector.caFile, node, intervalMs: 100, sources: [sources[i]] }));
  }
  await waitFor('samples in Prometheus', async () => (await prometheus.query('count(ximp_test_wide)')).length > 0, 20_000, 250);

  await prometheus.stop();
  const atStop = sources.map((s) => s.cycles);
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  const during = await collectorMetrics(collector);
  t.ok(metricSum(during, M.queueSamples, { store: STORE }) > 0, `samples wait in the queue during the outage (${metricSum(during, M.queueSamples, { store: STORE })})`);
  t.ok(agents.every((a) => a.agent.pendingBatches() <= 3), 'agents are still acknowledged: the queue holds their batches');
  t.ok(sources.every((s, i) => s.cycles - atStop[i] > (OUTAGE_MS / 100) * 0.5), 'agents kept producing during the outage');

  await prometheus.start();
  await waitFor('the queue drains', async () => metricSum(await collectorMetrics(collector), M.queueSamples, { store: STORE }) === 0, 60_000, 250);
  const produced = await drainAndStopAgents(agents, sources);
  await assertEverySampleInPrometheusOnce(t, prometheus, nodes, produced, 'ximp_test_wide', width);

  const writes400 = await prometheus.ownMetric('prometheus_http_requests_total', { code: '400', handler: '/api/v1/write' });
  t.equal(writes400, 0, 'Prometheus answered no request with 400 since it came back');
  t.equal(await prometheus.ownMetric('prometheus_tsdb_out_of_order_samples_total'), 0, 'and refused no sample as out of order');
  const after = await collectorMetrics(collector);
  t.equal(metricSum(after, M.dropped, { store: STORE }), 0, 'the collector dropped nothing');
  t.ok(metricSum(after, M.retries, { store: STORE }) > 0, 'the outage shows as retries');
});
