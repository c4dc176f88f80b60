import fc from 'fast-check';
import t from 'tap';
import { formatDuration, parseDuration } from '../src/config/duration';

t.test('parses every documented form to milliseconds', async (t) => {
  t.equal(parseDuration('500ms'), 500);
  t.equal(parseDuration('10s'), 10_000);
  t.equal(parseDuration('5m'), 300_000);
  t.equal(parseDuration('12h'), 43_200_000);
  t.equal(parseDuration('365d'), 365 * 86_400_000);
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration('1d2h3m4s5ms'), 86_400_000 + 7_200_000 + 180_000 + 4_000 + 5);
  t.equal(parseDuration('0'), 0);
  t.equal(parseDuration('0s'), 0);
});

t.test('rejects anything else', async (t) => {
  for (const bad of ['', 'fast', '10', '1.5h', '-1s', '10 s', ' 10s', '10S', '30m1h', '1m1m', '1h30', 's', '10sec', '1w', '99999999999999999999d']) {
    t.equal(parseDuration(bad), null, JSON.stringify(bad));
  }
});

t.test('formatDuration is the inverse of parseDuration', async (t) => {
  t.equal(formatDuration(0), '0s');
  t.equal(formatDuration(5_400_000), '1h30m');
  t.equal(formatDuration(1_500), '1s500ms');
  t.equal(formatDuration(30 * 86_400_000), '30d');
  t.throws(() => formatDuration(-1));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 45 }), (ms) => parseDuration(formatDuration(ms)) === ms),
  );
});
