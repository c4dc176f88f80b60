import t from 'tap';
import { repeatIntervalOf } from '../src/alerting/alerting';

const HOUR = 3_600_000;

t.test("a channel's repeat interval, or the default; Alertmanager at least every minute", async (t) => {
  t.equal(repeatIntervalOf({ type: 'webhook', repeatIntervalMs: null }, 4 * HOUR), 4 * HOUR);
  t.equal(repeatIntervalOf({ type: 'email', repeatIntervalMs: HOUR }, 4 * HOUR), HOUR);
  t.equal(repeatIntervalOf({ type: 'alertmanager', repeatIntervalMs: null }, 4 * HOUR), 60_000, 'within its 5m resolve_timeout');
  t.equal(repeatIntervalOf({ type: 'alertmanager', repeatIntervalMs: 30_000 }, 4 * HOUR), 30_000, 'a shorter one stands');
});
