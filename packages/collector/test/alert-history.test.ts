import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { AlertHistory, type NewHistoryEntry } from '../src/alerting/alert-history';
import { openDatabase } from '../src/store/database';

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);

function setupWithDb(tt: { teardown(fn: () => void): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-history-'));
  const db = openDatabase(dir);
  tt.teardown(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { db, history: new AlertHistory(db) };
}

function setup(tt: { teardown(fn: () => void): void }): AlertHistory {
  return setupWithDb(tt).history;
}

const entry = (i: number, node: string | null, rule = 'agent-down', extra: Partial<NewHistoryEntry> = {}): NewHistoryEntry => ({
  timeMs: T0 + Math.floor(i / 3) * 1000,
  rule,
  instance: node ?? 'collector',
  node,
  event: 'firing',
  value: i,
  channel: null,
  outcome: null,
  detail: null,
  ...extra,
});

t.test('entries come back oldest first, filtered by time, node and rule', async (t) => {
  const h = setup(t);
  for (let i = 0; i < 12; i++) h.record(entry(i, i % 2 === 0 ? 'web-1' : 'db-1', i < 6 ? 'agent-down' : 'cpu-hot'));
  t.same(h.list({ sinceMs: 0, limit: 100 }).map((e) => e.value), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  t.same(h.list({ sinceMs: T0 + 2000, limit: 100 }).map((e) => e.value), [6, 7, 8, 9, 10, 11]);
  t.same(h.list({ sinceMs: 0, node: 'db-1', limit: 100 }).map((e) => e.value), [1, 3, 5, 7, 9, 11]);
  t.same(h.list({ sinceMs: 0, node: 'db-1', rule: 'cpu-hot', limit: 100 }).map((e) => e.value), [7, 9, 11]);
  t.same(h.list({ sinceMs: 0, limit: 4 }).map((e) => e.value), [0, 1, 2, 3], 'at most limit');
});

t.test('a scoped reader pages past what it may not see and still gets `limit` entries', async (t) => {
  const h = setup(t);
  for (let i = 0; i < 30; i++) h.record(entry(i, i < 25 ? 'db-1' : 'web-1'));
  h.record(entry(30, null, 'certs', { instance: 'api' }));
  const seen = h.list({ sinceMs: 0, limit: 3, nodeVisible: (n) => n.startsWith('web-') });
  t.same(seen.map((e) => e.value), [25, 26, 27]);
  t.same(h.list({ sinceMs: 0, limit: 10, nodeVisible: (n) => n.startsWith('web-') }).map((e) => e.value), [25, 26, 27, 28, 29], 'the collector-wide entry is not theirs');
});

t.test('deliveries keep channel, outcome and a bounded detail; old entries are pruned', async (t) => {
  const h = setup(t);
  h.record(entry(0, 'web-1', 'agent-down', { event: 'delivery', channel: 'ops-hook', outcome: 'failed', detail: 'x'.repeat(2000) }));
  h.record(entry(9, 'web-1'));
  const [delivery] = h.list({ sinceMs: 0, limit: 1 });
  t.match(delivery, { event: 'delivery', channel: 'ops-hook', outcome: 'failed' });
  t.equal(delivery.detail!.length, 512);
  t.equal(h.prune(T0 + 1000), 1);
  t.same(h.list({ sinceMs: 0, limit: 10 }).map((e) => e.value), [9]);
});

t.test("a round's transitions are written in one transaction: all of them, or none when one fails", async (t) => {
  const { db, history } = setupWithDb(t);
  history.recordAll(Array.from({ length: 50 }, (_, i) => entry(i, `node-${i}`)));
  t.equal(history.list({ sinceMs: 0, limit: 100 }).length, 50);
  history.recordAll([]);
  t.equal(history.list({ sinceMs: 0, limit: 100 }).length, 50, 'nothing to write is no write');

  db.exec("CREATE TEMP TRIGGER fail_third BEFORE INSERT ON alert_history WHEN NEW.value = 102 BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
  t.throws(() => history.recordAll([100, 101, 102, 103].map((v) => entry(v, 'web-1'))), /disk I\/O error/);
  t.equal(history.list({ sinceMs: 0, limit: 100 }).length, 50, 'the failed round left nothing behind');
});
