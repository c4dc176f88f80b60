import t from 'tap';
import { parseAlertRule } from '../src/alerting/alert-rule';
import { thresholdReading } from '../src/alerting/threshold-value';
import type { ScannedSeries } from '../src/store/series-query';

function series(labels: Record<string, string>, points: [number, number][]): ScannedSeries {
  return { labels: { instance: 'web-1', job: 'ximp', ...labels }, count: points.length, data: Float64Array.from(points.flat()) };
}

const rule = (extra: Record<string, unknown>) =>
  parseAlertRule(JSON.stringify({ name: 'r', kind: 'threshold', metric: 'm', op: '<', value: 10, ...extra }), 'body');

t.test('without rate: the latest sample of each matched series, aggregated', async (t) => {
  const data = [
    series({ mountpoint: '/', fstype: 'ext4' }, [[1000, 50], [2000, 5]]),
    series({ mountpoint: '/home', fstype: 'ext4' }, [[1000, 20], [2000, 30]]),
    series({ mountpoint: '/boot', fstype: 'vfat' }, [[2000, 1]]),
  ];
  t.match(thresholdReading(rule({ aggregate: 'min', matchers: { fstype: 'ext4' } }), data), { value: 5, holds: true, series: 2, labels: { instance: 'web-1', job: 'ximp', fstype: 'ext4' } });
  t.notOk('mountpoint' in thresholdReading(rule({ matchers: { fstype: 'ext4' } }), data)!.labels, 'labels that differ are left out');
  t.match(thresholdReading(rule({ aggregate: 'max', matchers: { fstype: 'ext4' } }), data), { value: 30, holds: false });
  t.match(thresholdReading(rule({ aggregate: 'sum' }), data), { value: 36 });
  t.match(thresholdReading(rule({ aggregate: 'avg' }), data), { value: 12, holds: false });
  t.match(thresholdReading(rule({ matchers: { mountpoint: '/' } }), data), { value: 5, labels: { mountpoint: '/', fstype: 'ext4' } }, 'one series: all its labels');
  t.equal(thresholdReading(rule({ matchers: { mountpoint: '/nope' } }), data), null, 'no series matched: no data');
  t.equal(thresholdReading(rule({}), []), null);
});

t.test('with rate: per-second increase over the window; a counter reset counts from zero', async (t) => {
  const steady = series({ cpu: '0' }, [[0, 100], [10_000, 150], [20_000, 200]]);
  t.match(thresholdReading(rule({ rate: '1m', op: '>', value: 4 }), [steady]), { value: 5, holds: true });
  const reset = series({ cpu: '0' }, [[0, 100], [10_000, 150], [20_000, 30]]);
  t.match(thresholdReading(rule({ rate: '1m', op: '>', value: 4 }), [reset]), { value: 4 }, '50 then 30 after the reset, over 20 s');
  t.equal(thresholdReading(rule({ rate: '1m' }), [series({}, [[0, 1]])]), null, 'one sample has no rate');
  t.equal(thresholdReading(rule({ rate: '1m' }), [series({}, [[0, 1], [0, 2]])]), null, 'no time between samples has no rate');
});
