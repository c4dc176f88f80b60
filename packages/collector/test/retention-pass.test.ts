/**
 * The retention job on a real embedded store with an injected clock: it reads the retention in
 * force on every pass, so a value an admin sets (stored in the settings table) applies from the
 * next pass on; samples older than the retention are gone, newer ones stay.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { createLogger, ErrorCodes } from '@ximp/shared';
import { openDatabase } from '../src/store/database';
import { MetricStore } from '../src/store/metric-store';
import { RetentionSetting } from '../src/store/retention-setting';
import { RetentionTimer } from '../src/store/retention-timer';
import { SettingsStore } from '../src/store/settings-store';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 20);

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('a retention set between passes applies at the next pass: older samples go, newer stay', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-retention-'));
  const db = openDatabase(dir);
  const clock = { now: T0 };
  const store = new MetricStore(db, { now: () => clock.now });
  await store.start();
  const lines: string[] = [];
  const log = createLogger({ name: 'retention-test', level: 'debug', destination: { write: (l: string) => void lines.push(l) } });
  const setting = new RetentionSetting(new SettingsStore(db), 15 * DAY);
  // Short passes so the test need not wait an hour; the clock they read is the injected one.
  const timer = new RetentionTimer({ metrics: store, retentionMs: () => setting.current().ms, log, now: () => clock.now, everyMs: 10 });
  t.teardown(async () => {
    timer.stop();
    await store.stop();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const id = store.seriesId('web-1', 'node_load1', []);
  const ages = [20 * DAY, 3 * DAY, 2 * DAY, HOUR, 0];
  for (const [i, age] of ages.entries()) {
    await store.append({ node: 'web-1', streamId: 's', sequence: i + 1, timestampMs: T0 - age, seriesIds: Uint32Array.of(id), values: Float64Array.of(i) });
  }
  const stored = (): number[] => store.query('web-1', 'node_load1', 0, T0 * 2).flatMap((s) => s.points.map(([ms]) => T0 - ms));

  timer.start();
  t.same(stored(), [3 * DAY, 2 * DAY, HOUR, 0], 'the pass at start applied the default 15d');
  t.same(setting.current(), { ms: 15 * DAY, source: 'default' });

  setting.set(1 * DAY, clock.now);
  await until(() => stored().length === 2);
  t.same(stored(), [HOUR, 0], 'the next pass read the new retention: older samples gone, newer ones stay');
  t.ok(lines.some((l) => /"deleted_batches":2,"retention_ms":86400000/.test(l)), 'the pass says what it deleted');

  clock.now += 30 * 60_000;
  setting.set(1 * HOUR, clock.now);
  await until(() => stored().length === 1);
  t.same(stored(), [0], 'with 1h, the sample now 1h30m old goes, the one 30m old stays');

  t.same(new RetentionSetting(new SettingsStore(db), 7 * DAY).current(), { ms: HOUR, source: 'setting' }, 'the setting outlives a restart and wins over the file');
});

t.test('the setting refuses values outside 1m..3650d', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-retention-'));
  const db = openDatabase(dir);
  t.teardown(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const setting = new RetentionSetting(new SettingsStore(db), DAY);
  for (const ms of [59_999, 3650 * DAY + 1, 1.5 * 60_000 + 0.5, Number.NaN]) {
    t.throws(() => setting.set(ms, T0), { code: ErrorCodes.REQUEST_INVALID }, String(ms));
  }
  setting.set(60_000, T0);
  setting.set(3650 * DAY, T0);
  t.same(setting.current(), { ms: 3650 * DAY, source: 'setting' });
});
