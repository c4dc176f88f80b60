import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { openDatabase } from '../src/store/database';
import { SettingsStore } from '../src/store/settings-store';

function store(t: { teardown(fn: () => void): void }): SettingsStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-settings-'));
  const db = openDatabase(dir);
  t.teardown(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return new SettingsStore(db);
}

t.test('the retention an admin set overrides the config, until removed', async (t) => {
  const s = store(t);
  t.equal(s.retentionMs(15), 15, 'the config value when none is set');
  s.setRetentionMs(90, 1);
  t.equal(s.retentionMs(15), 90);
  s.set('store.retention_ms', 'garbage', 2);
  t.equal(s.retentionMs(15), 15, 'an unreadable value falls back to the config');
  s.remove('store.retention_ms');
  t.equal(s.retentionMs(15), 15);
});

t.test('the widest future skew ever configured is remembered', async (t) => {
  const s = store(t);
  t.equal(s.widestFutureSkewMs(600_000, 1), 600_000, 'the first run records its setting');
  t.equal(s.widestFutureSkewMs(7 * 86_400_000, 2), 7 * 86_400_000, 'a wider one replaces it');
  t.equal(s.widestFutureSkewMs(60_000, 3), 7 * 86_400_000, 'lowered later, the widest still counts');
  t.equal(s.get('limits.widest_future_skew_ms'), String(7 * 86_400_000));
});
