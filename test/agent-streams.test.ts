/**
 * An agent with a valid token turns ACTIVE with a recent LAST-SEEN, and its host metrics land in
 * the embedded store under node_exporter's names. Real collector, real agent, real sources.
 */
import t from 'tap';
import { silentLogger } from '@ximp/shared';
import { Collector } from '../packages/collector/src/collector';
import { loadCollectorConfig } from '../packages/collector/src/config';
import { openDatabase } from '../packages/collector/src/store/database';
import { MetricStore } from '../packages/collector/src/store/metric-store';
import { agentList, createToken, startAgent, startCollector, waitFor } from './helpers/system';

t.test('agent turns ACTIVE and its metrics are stored under node_exporter names', async (t) => {
  const c = await startCollector(t);
  const node = 'web-01.example';
  const { id, token } = await createToken(c.cliConfig, node);

  const pending = await agentList(c.cliConfig);
  t.same(
    pending.map((a) => [a.node, a.state]),
    [[node, 'PENDING']],
    'a node with a token that never connected is PENDING',
  );

  const a = await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node, realSources: true });
  const active = await waitFor('ACTIVE', async () => (await agentList(c.cliConfig)).find((x) => x.node === node && x.state === 'ACTIVE'));
  t.equal(active.token, id, 'the TOKEN column names the token the session used');
  t.ok(active.address?.includes('127.0.0.1'), 'the address is the agent\'s');
  const lastSeen = Date.parse(active.last_seen ?? '');
  t.ok(Date.now() - lastSeen < 5000, `last_seen is recent (${active.last_seen})`);

  await waitFor('all spooled batches acknowledged', () => a.agent.pendingBatches() === 0);
  const db = openDatabase(c.dataDir);
  t.teardown(() => db.close());
  const store = new MetricStore(db);
  const from = Date.now() - 60_000;
  const to = Date.now() + 60_000;
  for (const metric of ['node_cpu_seconds_total', 'node_memory_MemTotal_bytes', 'node_memory_MemAvailable_bytes', 'node_load1', 'node_boot_time_seconds', 'node_network_receive_bytes_total']) {
    const series = store.query(node, metric, from, to);
    t.ok(series.length > 0 && series[0].points.length > 0, `${metric} is in the store`);
  }
  const cpu = store.query(node, 'node_cpu_seconds_total', from, to);
  t.ok(cpu.some((s) => s.labels.mode === 'idle' && s.labels.cpu === '0'), 'cpu series carry cpu and mode labels');
  const mem = store.query(node, 'node_memory_MemTotal_bytes', from, to)[0].points[0][1];
  t.ok(mem > 64 * 1024 * 1024, 'MemTotal is in bytes');

  await a.stop();
  const gone = await waitFor('DISCONNECTED', async () => (await agentList(c.cliConfig)).find((x) => x.node === node && x.state === 'DISCONNECTED'));
  t.ok(gone.last_seen, 'a disconnected agent keeps its last-seen time');
  t.notOk(
    a.logs.some((l) => l.includes(token.split('_')[2])) || c.logs.some((l) => l.includes(token.split('_')[2])),
    'the token secret appears in no log line',
  );
});

t.test('last-seen survives a collector restart', async (t) => {
  const c = await startCollector(t);
  const node = 'db-07';
  const { token } = await createToken(c.cliConfig, node);
  const a = await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node });
  await waitFor('ACTIVE', async () => (await agentList(c.cliConfig)).find((x) => x.node === node && x.state === 'ACTIVE'));
  await a.stop();
  const before = await waitFor('DISCONNECTED', async () => (await agentList(c.cliConfig)).find((x) => x.node === node && x.state === 'DISCONNECTED'));
  await c.stop();

  // Same data dir; the CLI config names the API port, so the restarted collector reuses it.
  const config = loadCollectorConfig(c.configFile);
  const restarted = new Collector({ ...config, listen: { agents: config.listen.agents, api: { host: '127.0.0.1', port: c.apiPort } } }, { log: silentLogger() });
  await restarted.start();
  t.teardown(() => restarted.stop());
  const after = (await agentList(c.cliConfig)).find((x) => x.node === node);
  t.equal(after?.state, 'DISCONNECTED');
  t.equal(after?.last_seen, before.last_seen, 'the same last-seen after the restart');
});
