/**
 * Stepped series reads (dashboard contract, "Series with a step"): with `step`, at most one
 * stored batch per step is read, the first at or after each boundary that holds the metric, so
 * the rows read are bounded by the steps and not the range; 15 days at 1 h is answered under the
 * default limits where the unstepped read of the same range is refused; `step` is checked, the
 * steps are capped at 11 000, and api.max_query_range does not apply.
 */
import t from 'tap';
import * as path from 'node:path';
import { openDatabase, type Database } from '../src/store/database';
import { MetricStore } from '../src/store/metric-store';
import { ROWS_PER_STEP, SeriesQuery, toSeriesPoints } from '../src/store/series-query';
import { request, startApi, type Harness } from './helpers/api-harness';

const T0 = Date.UTC(2026, 10, 1);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const INTERVAL = 10_000;

/**
 * 15 days of an agent sending two node_cpu_seconds_total series every 10 s, and between its
 * batches the collector's own `up` batches (another stream, without the metric): 259 200 rows.
 */
function fill(db: Database, node: string): void {
  const store = new MetricStore(db);
  const user = store.seriesId(node, 'node_cpu_seconds_total', [{ name: 'cpu', value: '0' }, { name: 'mode', value: 'user' }]);
  const idle = store.seriesId(node, 'node_cpu_seconds_total', [{ name: 'cpu', value: '0' }, { name: 'mode', value: 'idle' }]);
  const up = store.seriesId(node, 'up', []);
  const insert = db.prepare('INSERT INTO batches (node, stream_id, sequence, timestamp_ms, series_ids, vals) VALUES (?, ?, ?, ?, ?, ?)');
  const agentIds = Buffer.from(Uint32Array.of(user, idle).buffer);
  const upIds = Buffer.from(Uint32Array.of(up).buffer);
  db.transaction(() => {
    for (let i = 0; i < (15 * DAY) / INTERVAL; i++) {
      const ts = T0 + i * INTERVAL;
      // The collector's row first at each time, so the first row after a boundary lacks the metric.
      insert.run(node, 'ximp-collector', ts, ts, upIds, Buffer.from(Float64Array.of(1).buffer));
      insert.run(node, 's', i + 1, ts, agentIds, Buffer.from(Float64Array.of(i, 2 * i).buffer));
    }
  })();
}

t.test('a stepped read takes one batch per step: rows read are bounded by the steps, not the range', async (t) => {
  const db = openDatabase(path.join(t.testdir(), 'data'));
  t.teardown(() => db.close());
  fill(db, 'n1');
  const q = new SeriesQuery(db, { maxPoints: 250_000, maxRangeMs: 31 * DAY, maxConcurrent: 4 });
  const to = T0 + 15 * DAY - 1;

  const stepped = await q.read('n1', 'node_cpu_seconds_total', T0, to, HOUR);
  if (stepped.kind !== 'ok') throw new Error(`expected an answer, got ${stepped.kind}`);
  stepped.release();
  t.equal(stepped.series.length, 2, 'both series');
  t.ok(stepped.rows <= 360 * ROWS_PER_STEP, `rows read (${stepped.rows}) bounded by 360 steps × ${ROWS_PER_STEP}, of 259 200 in range`);
  const points = stepped.series.map(toSeriesPoints);
  for (const s of points) {
    t.equal(s.points.length, 360, `${s.labels.mode}: one point per hour for 15 days`);
    t.ok(
      s.points.every(([ts], i) => ts === T0 + i * HOUR),
      'each point is the first batch at or after its step boundary',
    );
  }
  const user = points.find((s) => s.labels.mode === 'user')!;
  t.same(user.points.slice(0, 2), [[T0, 0], [T0 + HOUR, HOUR / INTERVAL]], 'with the values stored at those times');

  const full = await q.read('n1', 'node_cpu_seconds_total', T0, to);
  t.equal(full.kind, 'too_many_points', 'the unstepped read of the same range is over the default points cap');
});

t.test('a step between batches finds the next batch within the step, and none where the step has none', async (t) => {
  const db = openDatabase(path.join(t.testdir(), 'data'));
  t.teardown(() => db.close());
  const store = new MetricStore(db);
  const id = store.seriesId('n1', 'node_load1', []);
  const insert = db.prepare('INSERT INTO batches (node, stream_id, sequence, timestamp_ms, series_ids, vals) VALUES (?, ?, ?, ?, ?, ?)');
  const ids = Buffer.from(Uint32Array.of(id).buffer);
  // Batches at 1.5 s, 2.5 s and 7 s; steps of 2 s from 0: [0,2) [2,4) [4,6) [6,8).
  for (const [seq, ts] of [[1, 1500], [2, 2500], [3, 7000]]) insert.run('n1', 's', seq, T0 + ts, ids, Buffer.from(Float64Array.of(seq).buffer));
  const q = new SeriesQuery(db, { maxPoints: 1000, maxRangeMs: DAY, maxConcurrent: 1 });
  const res = await q.read('n1', 'node_load1', T0, T0 + 7999, 2000);
  if (res.kind !== 'ok') throw new Error(res.kind);
  res.release();
  t.same(toSeriesPoints(res.series[0]).points, [[T0 + 1500, 1], [T0 + 2500, 2], [T0 + 7000, 3]]);
  const short = await q.read('n1', 'node_load1', T0, T0 + 6999, 2000);
  if (short.kind !== 'ok') throw new Error(short.kind);
  short.release();
  t.same(toSeriesPoints(short.series[0]).points, [[T0 + 1500, 1], [T0 + 2500, 2]], 'nothing after `to` is read');
});

async function viewer(h: Harness): Promise<string> {
  return h.accessToken(h.createClient('monitoring-viewer'));
}

t.test('GET .../series?step=: 15 days at 1 h under the default limits; step checked; steps capped; range limit lifted', async (t) => {
  const h = await startApi(t, { series: { maxRangeMs: DAY } });
  const bearer = await viewer(h);
  fill(h.db, 'web-1');
  const base = '/api/v1/nodes/web-1/series?metric=node_cpu_seconds_total';
  const to = T0 + 15 * DAY - 1;

  const res = await request(h, 'GET', `${base}&from=${T0}&to=${to}&step=${HOUR}`, { bearer });
  t.equal(res.status, 200, '15 days at 1 h is answered although api.max_query_range is 1 day here');
  t.equal(res.json.length, 2);
  t.equal(res.json[0].points.length, 360);
  t.same(Object.keys(res.json[0]).sort(), ['labels', 'points'], 'the answer has the unstepped shape');

  const unstepped = await request(h, 'GET', `${base}&from=${T0}&to=${to}`, { bearer });
  t.equal(unstepped.status, 400, 'without a step the range limit still applies');
  t.equal(unstepped.json.error, 'query_too_large');

  const cases: [string, number, string, RegExp][] = [
    ['step=999', 400, 'invalid_request', /^step: expected whole milliseconds, at least 1000$/],
    ['step=1h', 400, 'invalid_request', /^step: /],
    ['step=-5', 400, 'invalid_request', /^step: /],
    [`step=1000&to=${T0 + 11_001_000}`, 400, 'query_too_large', /covers 11001 steps; at most 11000 are allowed/],
  ];
  for (const [query, status, error, message] of cases) {
    const bad = await request(h, 'GET', `${base}&from=${T0}&${query}`, { bearer });
    t.equal(bad.status, status, query);
    t.equal(bad.json.error, error);
    t.match(bad.json.message, message);
  }
  const most = await request(h, 'GET', `${base}&from=${T0}&to=${T0 + 11_000_000}&step=1000`, { bearer });
  t.equal(most.status, 200, 'exactly 11 000 steps are allowed');
});
