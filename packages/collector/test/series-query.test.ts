/**
 * The bounded series query (store/series-query.ts): a paged scan in slices returns exactly what
 * one full scan returned, across page and slice boundaries; no slice holds the event loop 50 ms;
 * a query over the points cap is refused up front from an estimate, and exactly while reading;
 * queries beyond the concurrency cap are refused as busy; the JSON chunks are JSON.stringify's text.
 */
import t from 'tap';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import fc from 'fast-check';
import { seriesJsonChunks } from '../src/api/series-json-chunks';
import { openDatabase, type Database } from '../src/store/database';
import { MetricStore } from '../src/store/metric-store';
import { SeriesQuery, toSeriesPoints, type SeriesPoints, type SeriesReadResult } from '../src/store/series-query';

const T0 = Date.UTC(2026, 10, 1);

function open(t: { testdir(): string; teardown(fn: () => void): void }): { db: Database; store: MetricStore } {
  const db = openDatabase(path.join(t.testdir(), 'data'));
  t.teardown(() => db.close());
  return { db, store: new MetricStore(db) };
}

/** Rows written as the store writes them (one transaction for speed); `vals` may be a damaged blob. */
function insertRows(db: Database, rows: { node?: string; stream?: string; sequence: number; ts: number; ids: number[]; vals: number[] | Buffer }[]): void {
  const insert = db.prepare('INSERT INTO batches (node, stream_id, sequence, timestamp_ms, series_ids, vals) VALUES (?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (const r of rows) {
      const vals = Buffer.isBuffer(r.vals) ? r.vals : Buffer.from(Float64Array.from(r.vals).buffer);
      insert.run(r.node ?? 'n1', r.stream ?? 's', r.sequence, r.ts, Buffer.from(Uint32Array.from(r.ids).buffer), vals);
    }
  })();
}

/** `count` rows of one series at 1 s spacing from T0. */
function insertOneSeries(db: Database, store: MetricStore, count: number, metric = 'node_load1'): void {
  const id = store.seriesId('n1', metric, []);
  const insert = db.prepare('INSERT INTO batches (node, stream_id, sequence, timestamp_ms, series_ids, vals) VALUES (?, ?, ?, ?, ?, ?)');
  const ids = Buffer.from(Uint32Array.of(id).buffer);
  db.transaction(() => {
    for (let i = 0; i < count; i++) insert.run('n1', 's', i + 1, T0 + i * 1000, ids, Buffer.from(Float64Array.of(i).buffer));
  })();
}

/** The query as it was before paging: one statement iterated to the end, verbatim. */
function unpagedQuery(db: Database, node: string, metric: string, fromMs: number, toMs: number): SeriesPoints[] {
  const wanted = new Map<number, SeriesPoints>();
  for (const s of db.prepare('SELECT id, labels_json FROM series WHERE node = ? AND name = ? ORDER BY labels_json').all(node, metric) as { id: number; labels_json: string }[]) {
    // Every answer carries the node as `instance` and `job="ximp"`, as a remote store would.
    const labels = Object.assign(Object.fromEntries(JSON.parse(s.labels_json) as [string, string][]), { instance: node, job: 'ximp' });
    wanted.set(s.id, { labels, points: [] });
  }
  if (wanted.size === 0) return [];
  const rows = db
    .prepare(
      `SELECT timestamp_ms, series_ids, vals FROM batches
        WHERE node = ? AND timestamp_ms >= ? AND timestamp_ms <= ?
        ORDER BY timestamp_ms, stream_id, sequence`,
    )
    .all(node, fromMs, toMs) as { timestamp_ms: number; series_ids: Buffer; vals: Buffer }[];
  for (const row of rows) {
    if (row.series_ids.byteLength % 4 !== 0 || row.vals.byteLength % 8 !== 0) continue;
    const ids = new Uint32Array(row.series_ids.buffer.slice(row.series_ids.byteOffset, row.series_ids.byteOffset + row.series_ids.byteLength));
    const vals = new Float64Array(row.vals.buffer.slice(row.vals.byteOffset, row.vals.byteOffset + row.vals.byteLength));
    if (ids.length !== vals.length) continue;
    for (let i = 0; i < ids.length; i++) wanted.get(ids[i])?.points.push([row.timestamp_ms, vals[i]]);
  }
  return Array.from(wanted.values()).filter((s) => s.points.length > 0);
}

function ok(result: SeriesReadResult): Extract<SeriesReadResult, { kind: 'ok' }> {
  if (result.kind !== 'ok') throw new Error(`expected an answer, got ${JSON.stringify(result)}`);
  return result;
}

async function paged(q: SeriesQuery, node: string, metric: string, fromMs: number, toMs: number): Promise<SeriesPoints[]> {
  const result = ok(await q.read(node, metric, fromMs, toMs));
  result.release();
  return result.series.map(toSeriesPoints);
}

const BIG = { maxPoints: 50_000_000, maxRangeMs: Number.MAX_SAFE_INTEGER, maxConcurrent: 4 };

t.test('a paged scan returns exactly what one full scan returned, across page and slice boundaries', async (t) => {
  const { db, store } = open(t);
  const idle = store.seriesId('n1', 'node_cpu_seconds_total', [{ name: 'cpu', value: '0' }, { name: 'mode', value: 'idle' }]);
  const user = store.seriesId('n1', 'node_cpu_seconds_total', [{ name: 'cpu', value: '0' }, { name: 'mode', value: 'user' }]);
  const load = store.seriesId('n1', 'node_load1', []);
  const proto = store.seriesId('n1', 'odd', [{ name: '__proto__', value: 'x' }]);
  const other = store.seriesId('n2', 'node_cpu_seconds_total', [{ name: 'cpu', value: '0' }, { name: 'mode', value: 'idle' }]);
  const rows: Parameters<typeof insertRows>[1] = [];
  for (let i = 0; i < 40; i++) {
    // Two streams write the same timestamps: ties sort by stream, then sequence.
    rows.push({ stream: 'b', sequence: i + 1, ts: T0 + i * 1000, ids: [idle, load, user], vals: [i, i / 2, Number.NaN] });
    rows.push({ stream: 'a', sequence: 100 + i, ts: T0 + i * 1000, ids: [user, proto], vals: [-i, Number.POSITIVE_INFINITY] });
  }
  rows.push({ stream: 'c', sequence: 1, ts: T0 + 5000, ids: [idle], vals: Buffer.alloc(5) }); // damaged: skipped
  rows.push({ node: 'n2', stream: 'a', sequence: 1, ts: T0 + 5000, ids: [other], vals: [99] });
  insertRows(db, rows);

  for (const pageRows of [1, 2, 3, 7, 1000]) {
    // sliceMs 0: every page is a slice of its own, with a turn of the event loop after it.
    const q = new SeriesQuery(db, { ...BIG, pageRows, sliceMs: 0 });
    for (const [metric, from, to] of [
      ['node_cpu_seconds_total', T0, T0 + 39_000],
      ['node_cpu_seconds_total', T0 + 5_000, T0 + 15_000],
      ['node_load1', 0, T0 * 2],
      ['odd', 0, T0 * 2],
      ['nope', 0, T0 * 2],
      ['node_load1', T0 + 100_000, T0 + 200_000],
    ] as const) {
      t.same(await paged(q, 'n1', metric, from, to), unpagedQuery(db, 'n1', metric, from, to), `pages of ${pageRows}: ${metric} [${from - T0}, ${to - T0}]`);
    }
    t.same(await paged(q, 'n2', 'node_cpu_seconds_total', 0, T0 * 2), [{ labels: { cpu: '0', mode: 'idle', instance: 'n2', job: 'ximp' }, points: [[T0 + 5000, 99]] }], 'per node');
  }
  const odd = await paged(new SeriesQuery(db, BIG), 'n1', 'odd', 0, T0 * 2);
  t.equal(Object.getPrototypeOf(odd[0].labels), Object.prototype, 'a __proto__ label stays a plain label');
  t.same(Object.keys(odd[0].labels), ['__proto__', 'instance', 'job']);
  t.same(store.query('n1', 'node_cpu_seconds_total', T0, T0 + 39_000), unpagedQuery(db, 'n1', 'node_cpu_seconds_total', T0, T0 + 39_000), 'MetricStore.query reads the same');
});

t.test('every series answers with instance (its node) and job="ximp"; stored labels of those names are replaced', async (t) => {
  const { db, store } = open(t);
  const plain = store.seriesId('web-1', 'node_load1', [{ name: 'zone', value: 'a' }]);
  const posing = store.seriesId('web-1', 'node_load1', [{ name: 'instance', value: 'db-1' }, { name: 'job', value: 'node' }]);
  insertRows(db, [{ node: 'web-1', stream: 's', sequence: 1, ts: T0, ids: [plain, posing], vals: [1, 2] }]);
  const expected = [
    { labels: { instance: 'web-1', job: 'ximp' }, points: [[T0, 2]] },
    { labels: { zone: 'a', instance: 'web-1', job: 'ximp' }, points: [[T0, 1]] },
  ];
  t.same(await paged(new SeriesQuery(db, BIG), 'web-1', 'node_load1', 0, T0 * 2), expected, 'SeriesQuery (the API)');
  t.same(store.query('web-1', 'node_load1', 0, T0 * 2), expected, 'MetricStore.query');
});

t.test('property: any rows, any page size, the same answer as one full scan', async (t) => {
  const { db, store } = open(t);
  const ids = [0, 1, 2].map((i) => store.seriesId('n1', 'm', [{ name: 'i', value: String(i) }]));
  const other = store.seriesId('n1', 'other', []);
  let next = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ ts: fc.integer({ min: 0, max: 20 }), stream: fc.constantFrom('a', 'b', 'c'), pick: fc.subarray([...ids, other]) }), { maxLength: 40 }),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 0, max: 20 }),
      fc.integer({ min: 0, max: 20 }),
      async (rows, pageRows, a, b) => {
        db.prepare('DELETE FROM batches').run();
        insertRows(db, rows.map((r) => ({ stream: r.stream, sequence: next++, ts: T0 + r.ts, ids: r.pick, vals: r.pick.map(() => next) })));
        const q = new SeriesQuery(db, { ...BIG, pageRows, sliceMs: 0 });
        const [from, to] = [T0 + Math.min(a, b), T0 + Math.max(a, b)];
        t.same(await paged(q, 'n1', 'm', from, to), unpagedQuery(db, 'n1', 'm', from, to));
      },
    ),
    { numRuns: 60 },
  );
});

t.test('the JSON chunks make the text JSON.stringify makes, at any chunk size', async (t) => {
  const { db, store } = open(t);
  const a = store.seriesId('n1', 'm', [{ name: 'x', value: 'quote " and \\ and \u2028' }]);
  const b = store.seriesId('n1', 'm', [{ name: 'x', value: 'b' }]);
  insertRows(db, [
    { sequence: 1, ts: T0, ids: [a, b], vals: [1.5, Number.NaN] },
    { sequence: 2, ts: T0 + 1, ids: [a, b], vals: [-0, Number.NEGATIVE_INFINITY] },
    { sequence: 3, ts: T0 + 2, ids: [a], vals: [1e-300] },
  ]);
  const result = ok(await new SeriesQuery(db, BIG).read('n1', 'm', 0, T0 * 2));
  result.release();
  const expected = JSON.stringify(result.series.map(toSeriesPoints)) + '\n';
  for (const size of [1, 5, 64, 1 << 16]) t.equal([...seriesJsonChunks(result.series, size)].join(''), expected, `chunks of ${size}`);
  t.equal([...seriesJsonChunks([])].join(''), '[]\n');
});

t.test('no slice holds the event loop for 50 ms, where one full scan does', async (t) => {
  const { db, store } = open(t);
  const rows = 100_000;
  insertOneSeries(db, store, rows);
  const cpuBefore = process.cpuUsage();
  const fullStarted = performance.now();
  t.equal(unpagedQuery(db, 'n1', 'node_load1', 0, T0 * 2)[0].points.length, rows);
  const fullMs = performance.now() - fullStarted;
  const fullCpu = process.cpuUsage(cpuBefore);
  const fullCpuMs = (fullCpu.user + fullCpu.system) / 1000;
  t.ok(fullCpuMs > 50, `one full scan holds the loop for ${fullCpuMs.toFixed(0)} ms of CPU (${fullMs.toFixed(0)} ms wall)`);

  const q = new SeriesQuery(db, { maxPoints: rows, maxRangeMs: Number.MAX_SAFE_INTEGER, maxConcurrent: 4 });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  const reads = await Promise.all([q.read('n1', 'node_load1', 0, T0 * 2), q.read('n1', 'node_load1', 0, T0 * 2)]);
  const tookMs = performance.now() - started;
  delay.disable();
  for (const r of reads) {
    const answer = ok(r);
    answer.release();
    t.equal(answer.points, rows, 'every point read');
  }
  const { longestSliceMs, longestSliceCpuMs } = q.counters;
  // Wall time on a shared machine includes time the scheduler gave other processes; the CPU time
  // of a slice is what the scan itself holds the loop for.
  t.comment(
    `two paged scans: ${tookMs.toFixed(0)} ms; longest slice ${longestSliceCpuMs.toFixed(1)} ms CPU, ${longestSliceMs.toFixed(1)} ms wall; ` +
      `event loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms`,
  );
  t.ok(longestSliceCpuMs < 50, `longest slice ${longestSliceCpuMs.toFixed(1)} ms of CPU < 50 ms`);
  t.ok(delay.percentile(99) / 1e6 < 50, `event loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms < 50 ms`);
  t.equal(q.running, 0, 'both slots released');
});

t.test('a query over the points cap is refused from its estimate, before it is read', async (t) => {
  const { db, store } = open(t);
  const rows = 200_000;
  insertOneSeries(db, store, rows);
  const q = new SeriesQuery(db, { maxPoints: 50_000, maxRangeMs: Number.MAX_SAFE_INTEGER, maxConcurrent: 4, pageRows: 100, sliceMs: 1 });
  const started = performance.now();
  const result = await q.read('n1', 'node_load1', 0, T0 * 2);
  const tookMs = performance.now() - started;
  t.match(result, { kind: 'too_many_points', limit: 50_000 });
  const estimate = (result as { estimate: number }).estimate;
  t.ok(estimate > 50_000 && estimate <= rows, `estimate ${estimate} is over the cap and at most the rows in range`);
  t.ok(q.counters.longestSliceCpuMs < 50, `longest slice ${q.counters.longestSliceCpuMs.toFixed(1)} ms of CPU`);
  t.comment(`refused after ${tookMs.toFixed(0)} ms`);
  t.same(q.counters, { ...q.counters, queries: 0, refusedTooLarge: 1 });
  t.equal(q.running, 0, 'the slot is free again');

  const exact = ok(await q.read('n1', 'node_load1', T0, T0 + 49_999_000));
  exact.release();
  t.equal(exact.points, 50_000, 'a query of exactly the cap is answered');
});

t.test('the cap holds while reading when the estimate was low', async (t) => {
  const { db, store } = open(t);
  const ids = Array.from({ length: 100 }, (_, i) => store.seriesId('n1', 'm', [{ name: 'i', value: String(i) }]));
  // The first rows carry one series of the metric, later ones all 100: the first slice underestimates.
  const rows = [
    ...Array.from({ length: 50 }, (_, i) => ({ sequence: i + 1, ts: T0 + i, ids: [ids[0]], vals: [i] })),
    ...Array.from({ length: 50 }, (_, i) => ({ sequence: 100 + i, ts: T0 + 50 + i, ids, vals: ids.map(() => i) })),
  ];
  insertRows(db, rows);
  const q = new SeriesQuery(db, { maxPoints: 1000, maxRangeMs: Number.MAX_SAFE_INTEGER, maxConcurrent: 4, pageRows: 10, sliceMs: 0 });
  const result = await q.read('n1', 'm', 0, T0 * 2);
  t.match(result, { kind: 'too_many_points', limit: 1000 });
  t.ok((result as { estimate: number }).estimate > 1000, 'refused once it read more than the cap');
});

t.test('a page of wide rows stops gathering points one row past the cap', async (t) => {
  const { db, store } = open(t);
  const ids = Array.from({ length: 1000 }, (_, i) => store.seriesId('n1', 'wide', [{ name: 'i', value: String(i) }]));
  insertRows(db, Array.from({ length: 100 }, (_, i) => ({ sequence: i + 1, ts: T0 + i, ids, vals: ids.map(() => i) })));
  const q = new SeriesQuery(db, { maxPoints: 1500, maxRangeMs: Number.MAX_SAFE_INTEGER, maxConcurrent: 4, pageRows: 100, sliceMs: 0 });
  const result = await q.read('n1', 'wide', 0, T0 * 2);
  t.match(result, { kind: 'too_many_points', limit: 1500 });
  const gathered = (result as { estimate: number }).estimate;
  t.ok(gathered <= 2500, `${gathered} points gathered of the page's 100,000 before the refusal`);
});

t.test('beyond the concurrency cap a query is refused as busy until a slot is released', async (t) => {
  const { db, store } = open(t);
  insertOneSeries(db, store, 10);
  const q = new SeriesQuery(db, { maxPoints: 1000, maxRangeMs: Number.MAX_SAFE_INTEGER, maxConcurrent: 2 });
  const first = ok(await q.read('n1', 'node_load1', 0, T0 * 2));
  const second = ok(await q.read('n1', 'node_load1', 0, T0 * 2));
  t.same(await q.read('n1', 'node_load1', 0, T0 * 2), { kind: 'busy', limit: 2 }, 'a third is refused');
  t.equal(q.running, 2);
  first.release();
  first.release();
  t.equal(q.running, 1, 'release is idempotent');
  const third = ok(await q.read('n1', 'node_load1', 0, T0 * 2));
  third.release();
  second.release();
  t.equal(q.running, 0);
  t.equal(q.counters.refusedBusy, 1);
});
