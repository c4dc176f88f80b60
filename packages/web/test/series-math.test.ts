// What the browser computes from stored series before drawing: rates, matchers, aggregation,
// plot columns, the step for a range, the filesystem-use chart and values in their unit.
import t from 'tap';
import { panelChart } from '../src/charts/chart-spec';
import { filesystemUse } from '../src/charts/node-charts';
import { aggregate, alignForPlot, applyMatchers, evaluate, rate, seriesName, stepFor } from '../src/charts/series-math';
import { rangeFor, RANGES, windowFor } from '../src/charts/time-range';
import { formatValue } from '../src/charts/unit-format';

t.test('rate is the per-second increase, stamped at the later point', async (t) => {
  t.same(rate([[0, 10], [10_000, 30], [20_000, 30]]), [[10_000, 2], [20_000, 0]]);
  t.same(rate([[0, 5]]), [], 'one point has no rate');
});

t.test('a counter that goes down was reset: the increase is its new value', async (t) => {
  t.same(rate([[0, 100], [10_000, 20]]), [[10_000, 2]]);
});

t.test('points at the same or earlier time are skipped, not divided by zero', async (t) => {
  t.same(rate([[0, 1], [0, 2], [2000, 4]]), [[2000, 1]]);
});

const cpu = [
  { labels: { cpu: '0', mode: 'user' }, points: [[0, 0], [10_000, 5]] as [number, number][] },
  { labels: { cpu: '1', mode: 'user' }, points: [[0, 0], [10_000, 3]] as [number, number][] },
  { labels: { cpu: '0', mode: 'idle' }, points: [[0, 0], [10_000, 5]] as [number, number][] },
  { labels: { cpu: '1', mode: 'idle' }, points: [[0, 0], [10_000, 7]] as [number, number][] },
];

t.test('matchers keep series whose labels equal every one', async (t) => {
  t.equal(applyMatchers(cpu, { mode: 'user' }).length, 2);
  t.equal(applyMatchers(cpu, { mode: 'user', cpu: '1' }).length, 1);
  t.equal(applyMatchers(cpu, {}).length, 4);
  t.equal(applyMatchers(cpu, { mode: 'steal' }).length, 0);
});

t.test('aggregation per group of the by labels, at equal times', async (t) => {
  const byMode = aggregate(cpu, 'sum', ['mode']);
  t.same(byMode, [
    { labels: { mode: 'idle' }, points: [[0, 0], [10_000, 12]] },
    { labels: { mode: 'user' }, points: [[0, 0], [10_000, 8]] },
  ]);
  t.same(aggregate(cpu, 'max', []).map((s) => s.points), [[[0, 0], [10_000, 7]]]);
  t.same(aggregate(cpu, 'min', []).map((s) => s.points), [[[0, 0], [10_000, 3]]]);
  t.same(aggregate(cpu, 'avg', ['cpu']).map((s) => [s.labels, s.points[1]]), [[{ cpu: '0' }, [10_000, 5]], [{ cpu: '1' }, [10_000, 5]]]);
  t.equal(aggregate(cpu, 'none').length, 4, 'none keeps every series');
});

t.test('a panel query: matchers, then rate, then aggregation', async (t) => {
  const out = evaluate(cpu, { matchers: { mode: 'user' }, function: 'rate', aggregation: 'avg', by: ['mode'] });
  t.same(out, [{ labels: { mode: 'user' }, points: [[10_000, 0.4]] }]);
});

t.test('a CPU panel in percent shows the fraction of each second times 100', async (t) => {
  const spec = panelChart({ title: 'CPU', metric: 'node_cpu_seconds_total', matchers: {}, function: 'rate', aggregation: 'avg', by: ['mode'], unit: 'percent' });
  t.equal(spec.queries[0].scale, 100);
  const load = panelChart({ title: 'Load', metric: 'node_load1', matchers: {}, function: 'raw', aggregation: 'none', unit: 'none' });
  t.equal(load.queries[0].scale, 1);
});

t.test('plot columns: times in seconds, null where a series has no point, a break in long holes', async (t) => {
  const data = alignForPlot(
    [
      { labels: {}, points: [[1000, 1], [2000, 2], [10_000, 3]] },
      { labels: {}, points: [[2000, 5]] },
    ],
    1000,
  );
  t.same(data, [
    [1, 2, 3, 10],
    [1, 2, null, 3],
    [null, 5, null, null],
  ]);
});

t.test('about 300 points for every range, never under a second, within the server limit', async (t) => {
  t.equal(stepFor(15 * 60_000), 3000);
  t.equal(stepFor(60_000), 1000);
  for (const r of RANGES) {
    const w = windowFor(r, Date.UTC(2026, 0, 1, 12, 0, 7));
    t.ok(w.step >= 1000);
    t.ok((w.to - w.from) / w.step <= 11_000);
    t.ok((w.to - w.from) / w.step <= 301 && (w.to - w.from) / w.step >= 299, `${r.value}: ${(w.to - w.from) / w.step} points`);
    t.equal(w.to % w.step, 0, 'aligned to the step');
  }
  t.equal(rangeFor('7d').value, '7d');
  t.equal(rangeFor('bogus').value, '1h');
  t.equal(rangeFor(null).value, '1h');
});

t.test('filesystem use is 100 × (1 − available / size) per mount', async (t) => {
  const labels = { device: '/dev/sda1', mountpoint: '/', fstype: 'ext4' };
  const out = filesystemUse([{ labels, points: [[0, 25], [1000, 50]] }], [{ labels, points: [[0, 100], [1000, 0]] }]);
  t.same(out, [{ labels, name: '/', points: [[0, 75]] }], 'a zero size is skipped');
});

t.test('legend names leave out the labels every series has', async (t) => {
  t.equal(seriesName({ instance: 'a:1', job: 'node', mode: 'idle', cpu: '0' }), 'cpu=0, mode=idle');
  t.equal(seriesName({ instance: 'a:1' }, 'node_load1'), 'node_load1');
});

t.test('values shown in their unit', async (t) => {
  t.equal(formatValue(1536, 'bytes'), '1.5 KiB');
  t.equal(formatValue(1536, 'bytes/s'), '1.5 KiB/s');
  t.equal(formatValue(12.345, 'percent'), '12.3%');
  t.equal(formatValue(90, 'seconds'), '1m 30s');
  t.equal(formatValue(1_234_567, 'none'), '1.23M');
  t.equal(formatValue(0.5, 'none'), '0.5');
  t.equal(formatValue(null, 'none'), '—');
});
