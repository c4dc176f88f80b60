/**
 * Liveness and what the collector notices about its agents: a frozen agent is noticed within
 * 3 ping periods and shown DISCONNECTED; a skewed clock is warned about; a host with more series
 * than one batch should carry is split into several batches, all stored; a series the collector
 * would refuse is left out before it can block the stream.
 */
import t from 'tap';
import * as path from 'node:path';
import { openDatabase } from '../packages/collector/src/store/database';
import { MetricStore } from '../packages/collector/src/store/metric-store';
import { FAKE_TOKEN, startFakeCollector } from './helpers/fake-collector';
import { BIN, agentList, createToken, spawnNode, startAgent, startCollector, tempDir, waitFor, writeAgentConfig } from './helpers/system';

t.test('a frozen agent is noticed within 3 ping periods', async (t) => {
  // The test collector pings every 1 s (limits.ping_interval in the helper).
  const c = await startCollector(t);
  const node = 'frozen-node';
  const { token } = await createToken(c.cliConfig, node);
  const dir = tempDir(t);
  const configFile = path.join(dir, 'agent.yaml');
  writeAgentConfig(configFile, { url: c.agentUrl, token, caFile: c.caFile, node, spoolDir: path.join(dir, 'spool') });
  const agent = spawnNode(t, [BIN.agent, '--config', configFile]);
  await waitFor('ACTIVE', async () => (await agentList(c.cliConfig)).find((a) => a.node === node && a.state === 'ACTIVE'), 20_000);

  agent.kill('SIGSTOP');
  t.teardown(() => agent.kill('SIGCONT'));
  const frozenAt = Date.now();
  await waitFor('DISCONNECTED', async () => (await agentList(c.cliConfig)).find((a) => a.node === node && a.state === 'DISCONNECTED'), 10_000, 100);
  const took = Date.now() - frozenAt;
  t.ok(took <= 3000 + 1000, `noticed after ${took} ms (3 ping periods are 3000 ms; a CLI call takes some of it)`);
  t.ok(c.logs.some((l) => l.includes('agent missed pings')), 'the collector says why');
});

t.test('clock skew above 5 s is warned about', async (t) => {
  const c = await startCollector(t);
  const node = 'skewed-node';
  const { token } = await createToken(c.cliConfig, node);
  await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node, intervalMs: 200, now: () => Date.now() + 60_000 });
  const line = await waitFor('skew warning', () => c.logs.find((l) => l.includes('agent clock skew above 5 s')));
  t.match(JSON.parse(line), { node, level: 40 });
  t.ok(JSON.parse(line).skew_ms >= 55_000, 'the measured skew is logged');
});

t.test('a host with 12,000 series is sent in batches of at most 5,000 samples', async (t) => {
  const c = await startCollector(t);
  const node = 'big-host';
  const { token } = await createToken(c.cliConfig, node);
  const wide = {
    name: 'wide',
    cycles: 0,
    async collect() {
      wide.cycles++;
      return Array.from({ length: 12_000 }, (_, i) => ({ name: 'node_wide_value', labels: { i: String(i) }, value: i }));
    },
  };
  const a = await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node, intervalMs: 1000, sources: [wide] });
  await waitFor('two cycles stored', () => wide.cycles >= 2 && a.agent.pendingBatches() === 0, 20_000);
  await a.stop();
  const db = openDatabase(c.dataDir);
  t.teardown(() => db.close());
  const sizes = (db.prepare("SELECT length(vals) / 8 AS n FROM batches WHERE node = ? AND stream_id != 'ximp-collector' ORDER BY sequence").all(node) as { n: number }[]).map((r) => r.n);
  t.ok(sizes.length >= 6, `${sizes.length} batches for ${wide.cycles} cycles`);
  t.ok(sizes.every((n) => n <= 5000), `no batch over 5,000 samples (${sizes.slice(0, 6).join(', ')}, ...)`);
  const series = new MetricStore(db).query(node, 'node_wide_value', 0, Date.now() + 60_000);
  t.equal(series.length, 12_000, 'every series arrived');
});

t.test('wide series are split by frame size, and a series the collector would refuse is left out', async (t) => {
  const c = await startCollector(t);
  const node = 'wide-labels';
  const { token } = await createToken(c.cliConfig, node);
  const long = 'v'.repeat(1000);
  const source = {
    name: 'wide',
    cycles: 0,
    async collect() {
      source.cycles++;
      // 2,000 definitions of about 1 KiB each: one batch of them would be a 2 MiB frame.
      const points = Array.from({ length: 2_000 }, (_, i) => ({ name: 'node_wide_info', labels: { i: String(i), text: long }, value: i }));
      points.push({ name: 'node bad name', labels: { i: '0', text: 'x' }, value: 1 });
      points.push({ name: 'node_too_long', labels: { i: '0', text: 'x'.repeat(1025) }, value: 1 });
      return points;
    },
  };
  const a = await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node, intervalMs: 1000, sources: [source] });
  await waitFor('two cycles stored', () => source.cycles >= 2 && a.agent.pendingBatches() === 0, 30_000);
  await a.stop();

  t.notOk(c.logs.some((l) => /"code":1009|frame too big|FRAME_TOO_BIG/.test(l)), 'no frame was too big for the collector');
  const leftOut = a.logs.filter((l) => l.includes('series left out'));
  t.equal(leftOut.length, 2, 'each refused series is warned about once, not every cycle');
  t.match(leftOut.join('\n'), /node bad name.*invalid metric name/);
  t.match(leftOut.join('\n'), /node_too_long.*longer than 1024 characters/);
  const db = openDatabase(c.dataDir);
  t.teardown(() => db.close());
  const perCycle = db.prepare("SELECT count(*) AS n FROM batches WHERE node = ? AND stream_id != 'ximp-collector' GROUP BY timestamp_ms ORDER BY timestamp_ms").all(node) as { n: number }[];
  t.ok(perCycle.length >= 2 && perCycle.every((r) => r.n >= 2), `each cycle went as several frames (${perCycle.map((r) => r.n).join(', ')})`);
  t.equal(new MetricStore(db).query(node, 'node_wide_info', 0, Date.now() + 60_000).length, 2_000, 'every valid series arrived');
});

t.test("the agent's silence timeout follows the ping interval the collector tells in Welcome", async (t) => {
  // A collector that says it pings every 300 ms and then never does: gone after 3 periods, not 30 s.
  const fake = await startFakeCollector(t, { welcome: () => ({ pingIntervalMs: 300 }), onBatch: () => undefined });
  const a = await startAgent(t, { url: fake.url, token: FAKE_TOKEN, caFile: fake.caFile, node: 'silent-collector', intervalMs: 3_600_000 });
  const first = await waitFor('the first session ended', () => fake.sessions[0]?.closed, 5_000);
  const silence = first.at - fake.sessions[0].welcomedAt!;
  t.ok(silence >= 800 && silence < 2_500, `the agent gave up after ${silence} ms of silence (3 × 300 ms)`);
  t.ok(a.logs.some((l) => l.includes('collector silent for too long') && l.includes('"silence_ms":900')));
  await waitFor('the agent reconnected', () => fake.sessions.length >= 2, 5_000);
});
