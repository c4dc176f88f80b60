/**
 * A forward queue filled to max_bytes while the store is away: the collector stops acknowledging
 * agents (their spools grow), drops nothing, shows the back-pressure in /metrics; when the store
 * returns the queue and then the spools drain and every sample arrives once.
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
import { createToken, runCli, startAgent, waitFor, type TestAgent } from './helpers/system';

// Real processes and waits on the store: longer than .taprc's per-file timeout.
t.setTimeout(240_000);
const skip = skipWithoutPrometheus(t);
const MAX_BYTES = 1024 * 1024;

t.test('a full queue holds agents back instead of dropping; everything arrives when the store returns', { skip, timeout: 180_000 }, async (t) => {
  const { prometheus, collector } = await startRemoteWriteSystem(t, { store: { max_bytes: '1MiB', shards: 2 } });
  const nodes = ['full-a', 'full-b', 'full-c'];
  const width = 300;
  const sources = nodes.map(() => wideSource(width));
  const agents: TestAgent[] = [];
  for (const [i, node] of nodes.entries()) {
    const { token } = await createToken(collector.cliConfig, node);
    agents.push(await startAgent(t, { url: collector.agentUrl, token, caFile: collector.caFile, node, intervalMs: 50, sources: [sources[i]] }));
  }
  await waitFor('samples in Prometheus', async () => (await prometheus.query('count(ximp_test_wide)')).length > 0, 20_000, 250);
  await prometheus.stop();

  await waitFor('the queue is full', async () => metricSum(await collectorMetrics(collector), M.queueFull, { store: STORE }) === 1, 60_000, 250);
  const pendingAtFull = agents.map((a) => a.agent.pendingBatches());
  await waitFor('the agents\' spools grow', () => agents.every((a, i) => a.agent.pendingBatches() > pendingAtFull[i] + 20), 30_000, 100);
  t.pass('agents are not acknowledged while the queue is full: their spools grow');
  const full = await collectorMetrics(collector);
  const queueBytes = metricSum(full, M.queueBytes, { store: STORE });
  t.ok(queueBytes >= MAX_BYTES * 0.9 && queueBytes < MAX_BYTES * 1.5, `the queue stays near max_bytes (${queueBytes} bytes)`);
  t.equal(metricSum(full, M.queueFull, { store: STORE }), 1, 'the back-pressure shows in /metrics');
  t.equal(metricSum(full, M.dropped, { store: STORE }), 0, 'the collector dropped nothing');
  t.equal(metricSum(full, 'ximp_collector_agent_spool_dropped_batches'), 0, 'and no agent dropped from its spool');
  t.ok(collector.logs.some((l) => /queue full/i.test(l)), 'the log says the queue is full');
  const list = await runCli(collector.cliConfig, ['agent', 'list']);
  t.equal(list.code, 0);
  t.match(list.stderr, /warning: a remote store's queue is full: \d agent\(s\) not acknowledged \(full-/, `ximp agent list warns about the agents held back: ${list.stderr.trim()}`);

  await prometheus.start();
  await waitFor('the queue has room again', async () => metricSum(await collectorMetrics(collector), M.queueFull, { store: STORE }) === 0, 60_000, 250);
  const produced = await drainAndStopAgents(agents, sources, 90_000);
  await waitFor('the queue drains', async () => metricSum(await collectorMetrics(collector), M.queueSamples, { store: STORE }) === 0, 60_000, 250);
  await assertEverySampleInPrometheusOnce(t, prometheus, nodes, produced, 'ximp_test_wide', width);
  const after = await collectorMetrics(collector);
  t.equal(metricSum(after, M.dropped, { store: STORE }), 0, 'nothing was dropped at any point');
  t.equal(await prometheus.ownMetric('prometheus_tsdb_out_of_order_samples_total'), 0, 'and nothing arrived out of order');
});
