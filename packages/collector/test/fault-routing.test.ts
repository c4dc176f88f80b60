/** The store's timers route their faults to the fault reporter, and /metrics shows faults and refusals by kind. */
import t from 'tap';
import { silentLogger, ThrottledLog } from '@ximp/shared';
import { CollectorMetrics } from '../src/collector-metrics';
import { FaultReporter } from '../src/fault-reporter';
import { RetentionTimer } from '../src/store/retention-timer';
import { UpSeriesWriter } from '../src/store/up-series-writer';

const now = () => 1_800_000_000_000;

t.test('retention and up-series faults are counted, never thrown', async (t) => {
  const faults = new FaultReporter({ log: silentLogger(), now });
  const timer = new RetentionTimer({
    metrics: { applyRetention: () => { throw new Error('database or disk is full'); } },
    retentionMs: () => 1000,
    log: silentLogger(),
    faults,
    now,
  });
  t.equal(timer.runOnce(), 0);
  const failingSettings = new RetentionTimer({
    metrics: { applyRetention: () => 0 },
    retentionMs: () => { throw new Error('settings unreadable'); },
    log: silentLogger(),
    faults,
    now,
  });
  t.equal(failingSettings.runOnce(), 0, 'even reading the retention in force may fail');
  t.equal(faults.total('retention'), 2);

  const writer = new UpSeriesWriter({
    registry: { upValues: () => [{ node: 'a', up: 1 }, { node: 'b', up: 0 }] },
    metrics: {
      seriesId: (node) => {
        if (node === 'a') throw new Error('series id space exhausted');
        return 7;
      },
      append: () => Promise.reject(new Error('metric store commit failed')),
    },
    log: silentLogger(),
    faults,
    now,
  });
  await writer.writeOnce();
  t.equal(faults.total('up_series'), 2, 'a throwing seriesId and a rejected append');

  const unreadable = new UpSeriesWriter({
    registry: { upValues: () => { throw new Error('disk I/O error'); } },
    metrics: { seriesId: () => 7, append: () => Promise.resolve({ duplicate: false }) },
    log: silentLogger(),
    faults,
    now,
  });
  t.doesNotThrow(() => unreadable.writeOnce(), 'the agent records unreadable: counted, not thrown from the timer');
  t.equal(faults.total('up_series'), 3);
});

t.test('/metrics shows faults and refusals by kind', async (t) => {
  const faults = new FaultReporter({ log: silentLogger(), now });
  faults.report('store_commit', new Error('disk full'));
  faults.report('store_commit', new Error('disk full'));
  const refusals = new ThrottledLog({ log: silentLogger(), now });
  refusals.report('warn', 'series_limit', {}, 'agent session refused', 'n1');
  const text = await new CollectorMetrics({
    agentServer: { counters: {}, sessionCount: () => 0 },
    metricStore: { counters: { seriesCreated: 3 } },
    registry: { list: () => [], spoolDrops: () => [] },
    faults,
    refusals,
  }).metrics();
  t.match(text, /# TYPE ximp_collector_faults_total counter\nximp_collector_faults_total\{kind="store_commit"\} 2\n/);
  t.match(text, /ximp_collector_ingest_refusals_total\{kind="series_limit"\} 1\n/);
  t.match(text, /ximp_collector_store_series_created_total 3\n/);
});
