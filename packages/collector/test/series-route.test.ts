/**
 * GET /api/v1/nodes/{node}/series over real TLS 1.3 on loopback: parameters are checked with
 * clear messages, the range and points caps answer 400 naming the limit and its key, a query
 * beyond the concurrency cap answers 503 with Retry-After, and a large answer arrives in chunks
 * whose text is what one JSON.stringify of the full scan made; its slot is freed when the answer
 * is sent and when the reader goes away.
 */
import t from 'tap';
import * as https from 'node:https';
import { MetricStore } from '../dist/store/metric-store';
import type { SeriesQuery } from '../dist/store/series-query';
import { request, startApi, type Harness } from './helpers/api-harness';

const T0 = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;

function insertOneSeries(h: Harness, count: number): void {
  const id = new MetricStore(h.db).seriesId('web-1', 'node_load1', []);
  const insert = h.db.prepare('INSERT INTO batches (node, stream_id, sequence, timestamp_ms, series_ids, vals) VALUES (?, ?, ?, ?, ?, ?)');
  const ids = Buffer.from(Uint32Array.of(id).buffer);
  h.db.transaction(() => {
    for (let i = 0; i < count; i++) insert.run('web-1', 's', i + 1, T0 + i * 1000, ids, Buffer.from(Float64Array.of(i / 4).buffer));
  })();
}

async function viewerOf(h: Harness): Promise<string> {
  return h.accessToken(h.createClient('monitoring-viewer'));
}

t.test('missing and invalid parameters answer 400 with a message naming the parameter', async (t) => {
  const h = await startApi(t);
  const viewer = await viewerOf(h);
  const cases: [string, RegExp][] = [
    ['', /^metric: required$/],
    ['?metric=', /^metric: required$/],
    ['?metric=node%20load', /^metric: expected a Prometheus metric name$/],
    ['?metric=node_load1&from=yesterday', /^from: expected unix milliseconds or an ISO 8601 time$/],
    ['?metric=node_load1&to=1e3', /^to: expected unix milliseconds or an ISO 8601 time$/],
    ['?metric=node_load1&from=3000&to=2000', /^from: must not be after to$/],
    ['?metric=node_load1&form=1000', /^form: unknown parameter \(expected metric, from, to, step\)$/],
    ['?metric=node_load1&metric=up', /^metric: given more than once$/],
  ];
  for (const [query, message] of cases) {
    const res = await request(h, 'GET', `/api/v1/nodes/web-1/series${query}`, { bearer: viewer });
    t.equal(res.status, 400, `${query || '(none)'}: 400`);
    t.equal(res.json.error, 'invalid_request');
    t.match(res.json.message, message);
  }
  const badNode = await request(h, 'GET', '/api/v1/nodes/Web_1/series?metric=up', { bearer: viewer });
  t.equal(badNode.status, 400);
  t.match(badNode.json.message, /^node: /);
  const iso = await request(h, 'GET', '/api/v1/nodes/web-1/series?metric=up&from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00.000Z', { bearer: viewer });
  t.equal(iso.status, 200, 'ISO 8601 times are accepted');
  t.same(iso.json, []);
});

t.test('a range longer than api.max_query_range answers 400 naming the limit', async (t) => {
  const h = await startApi(t);
  const viewer = await viewerOf(h);
  const longest = await request(h, 'GET', `/api/v1/nodes/web-1/series?metric=up&from=${T0 - 31 * DAY}&to=${T0}`, { bearer: viewer });
  t.equal(longest.status, 200, 'exactly the longest range is allowed');
  const res = await request(h, 'GET', `/api/v1/nodes/web-1/series?metric=up&from=${T0 - 31 * DAY - 1}&to=${T0}`, { bearer: viewer });
  t.equal(res.status, 400);
  t.same(res.json, {
    error: 'query_too_large',
    message: 'the time range is 31d1ms; at most 31d is allowed (api.max_query_range): narrow from and to',
  });
});

t.test('a query over api.max_query_points answers 400 naming the limit; the largest allowed one is answered', async (t) => {
  const h = await startApi(t, { series: { maxPoints: 20_000 } });
  const viewer = await viewerOf(h);
  insertOneSeries(h, 30_000);
  const res = await request(h, 'GET', `/api/v1/nodes/web-1/series?metric=node_load1&from=${T0}&to=${T0 + DAY}`, { bearer: viewer });
  t.equal(res.status, 400);
  t.equal(res.json.error, 'query_too_large');
  t.match(res.json.message, /^the query would return more than 20000 points \(about \d+ or more\); the limit is 20000 \(api\.max_query_points\): narrow the time range$/);

  const largest = await request(h, 'GET', `/api/v1/nodes/web-1/series?metric=node_load1&from=${T0}&to=${T0 + 19_999_000}`, { bearer: viewer });
  t.equal(largest.status, 200);
  t.equal(largest.headers['content-type'], 'application/json; charset=utf-8');
  t.equal(largest.headers['transfer-encoding'], 'chunked', 'written in chunks');
  t.ok(largest.headers['strict-transport-security'], 'with the headers every answer carries');
  const expected = new MetricStore(h.db).query('web-1', 'node_load1', T0, T0 + 19_999_000);
  t.equal(expected[0].points.length, 20_000);
  t.equal(largest.text, JSON.stringify(expected) + '\n', 'the same text one JSON.stringify of the full scan made');
  t.equal((h.deps.series as SeriesQuery).running, 0, 'the slot is free once the answer is sent');
});

t.test('beyond api.max_concurrent_queries a query answers 503 with Retry-After', async (t) => {
  const h = await startApi(t, { series: { maxConcurrent: 1 } });
  const viewer = await viewerOf(h);
  insertOneSeries(h, 10);
  const held = await h.deps.series.read('web-1', 'node_load1', 0, T0 * 2);
  const busy = await request(h, 'GET', `/api/v1/nodes/web-1/series?metric=node_load1&from=${T0}&to=${T0 + 3_600_000}`, { bearer: viewer });
  t.equal(busy.status, 503);
  t.equal(busy.headers['retry-after'], '1');
  t.same(busy.json, { error: 'busy', message: 'at most 1 series queries run at once (api.max_concurrent_queries): retry later' });
  if (held.kind === 'ok') held.release();
  const after = await request(h, 'GET', `/api/v1/nodes/web-1/series?metric=node_load1&from=${T0}&to=${T0 + 9_000}`, { bearer: viewer });
  t.equal(after.status, 200);
  t.equal(after.json[0].points.length, 10);
  t.same(after.json[0].labels, { instance: 'web-1', job: 'ximp' }, 'labelled with the node and job as a remote store would be');
});

t.test('a reader that goes away mid-answer frees its slot', async (t) => {
  const h = await startApi(t);
  const viewer = await viewerOf(h);
  insertOneSeries(h, 100_000);
  const query = h.deps.series as SeriesQuery;
  await new Promise<void>((resolve, reject) => {
    const req = https.get(
      `${h.url}/api/v1/nodes/web-1/series?metric=node_load1&from=${T0}&to=${T0 + DAY}`,
      { ca: h.caPem, minVersion: 'TLSv1.3', agent: false, headers: { Authorization: `Bearer ${viewer}` } },
      (res) => {
        t.equal(res.statusCode, 200);
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
  });
  const deadline = Date.now() + 10_000;
  while (query.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.equal(query.running, 0, 'the slot was released when the connection closed');
});
