/** The collector's own periodic work on the store: the `up` series, retention, and /metrics text. */
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '@ximp/shared';
import { CollectorMetrics } from '../src/collector-metrics';
import { openDatabase } from '../src/store/database';
import { MetricStore } from '../src/store/metric-store';
import { RetentionTimer } from '../src/store/retention-timer';
import { UpSeriesWriter } from '../src/store/up-series-writer';
import { FaultReporter } from '../src/fault-reporter';

async function store(t: { teardown(fn: () => unknown): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-derived-'));
  const db = openDatabase(dir);
  const metrics = new MetricStore(db, { commitIntervalMs: 1 });
  await metrics.start();
  t.teardown(async () => {
    await metrics.stop();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return metrics;
}

t.test('up is 1 for ACTIVE agents and 0 for the others', async (t) => {
  const metrics = await store(t);
  let now = 1_800_000_000_000;
  const writer = new UpSeriesWriter({
    registry: { upValues: () => [{ node: 'a', up: 1 }, { node: 'b', up: 0 }] },
    metrics,
    log: silentLogger(),
    now: () => now,
  });
  await writer.writeOnce();
  now += 10_000;
  await writer.writeOnce();
  const a = metrics.query('a', 'up', 0, now + 1);
  const b = metrics.query('b', 'up', 0, now + 1);
  t.same(a[0].points.map((p) => p[1]), [1, 1]);
  t.same(b[0].points.map((p) => p[1]), [0, 0]);
});

t.test("a round of up for more agents than the store's bound refuses no agent batch; a round waits for the last", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-derived-'));
  const db = openDatabase(dir);
  // A commit only every minute (or at 10,000 batches): everything waits in the queue until stop.
  const metrics = new MetricStore(db, { commitIntervalMs: 60_000, maxBatchesPerCommit: 10_000, maxQueuedBatches: 10 });
  await metrics.start();
  t.teardown(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const nodes = Array.from({ length: 50 }, (_, i) => ({ node: `n${i}`, up: 1 }));
  const faults = new FaultReporter({ log: silentLogger(), now: () => 0 });
  let now = 1_800_000_000_000;
  const writer = new UpSeriesWriter({ registry: { upValues: () => nodes }, metrics, log: silentLogger(), faults, now: () => now });
  const first = writer.writeOnce();
  t.equal(metrics.queued, 50, 'a round of 50 is queued past a bound of 10');
  const id = metrics.seriesId('agent', 'node_load1', []);
  const agent = metrics.append({ node: 'agent', streamId: 's', sequence: 1, timestampMs: now, seriesIds: Uint32Array.of(id), values: Float64Array.of(1) });
  t.equal(metrics.queued, 51, "an agent's batch still has its place");
  now += 10_000;
  void writer.writeOnce();
  t.equal(metrics.queued, 51, 'the next round is skipped while the first is not stored');
  t.equal(faults.total('up_series'), 1, 'and the skip is reported');
  await metrics.stop();
  await first;
  t.same(await agent, { duplicate: false });
  t.equal(metrics.query('n49', 'up', 0, now + 1)[0].points.length, 1, 'the first round is stored');
  t.equal(faults.total('up_series'), 1, 'no batch of the round failed');
});

t.test('retention deletes batches older than the retention in force', async (t) => {
  const metrics = await store(t);
  const now = 1_800_000_000_000;
  const id = metrics.seriesId('n', 'node_load1', []);
  for (const [sequence, age] of [[1, 20], [2, 10], [3, 1]]) {
    await metrics.append({ node: 'n', streamId: 's', sequence, timestampMs: now - age * 86_400_000, seriesIds: Uint32Array.of(id), values: Float64Array.of(sequence) });
  }
  let retentionMs = 15 * 86_400_000;
  const timer = new RetentionTimer({ metrics, retentionMs: () => retentionMs, log: silentLogger(), now: () => now });
  t.equal(timer.runOnce(), 1, 'the 20-day-old batch goes at 15d');
  retentionMs = 5 * 86_400_000;
  t.equal(timer.runOnce(), 1, 'a shorter retention set later applies on the next run');
  t.same(metrics.query('n', 'node_load1', 0, now + 1)[0].points.map((p) => p[1]), [3]);
  t.equal(metrics.lastSequence('n', 's'), 3, 'retention does not reset the stream position');
});

t.test('/metrics text carries ingest counters, states and spool drops', async (t) => {
  const text = await new CollectorMetrics({
    agentServer: { counters: { batchesAcked: 7, refusedUpgrades: 2 }, sessionCount: () => 1 },
    metricStore: { counters: { commits: 3 } },
    registry: {
      list: () => [{ state: 'ACTIVE' }, { state: 'PENDING' }],
      spoolDrops: () => [{ node: 'web-1', droppedTotal: 12 }],
    },
  }).metrics();
  t.match(text, /^ximp_collector_ingest_batches_acked_total 7$/m);
  t.match(text, /^ximp_collector_ingest_refused_upgrades_total 2$/m);
  t.match(text, /^ximp_collector_store_commits_total 3$/m);
  t.match(text, /^ximp_collector_agents\{state="ACTIVE"\} 1$/m);
  t.match(text, /^ximp_collector_agents\{state="STALE"\} 0$/m);
  t.match(text, /^ximp_collector_agent_spool_dropped_batches\{node="web-1"\} 12$/m);
});
