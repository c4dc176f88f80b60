/**
 * Checkpoints run in a worker thread with a connection of its own, never inside a commit on the
 * event loop; the WAL restarts in place (same file), so it stays bounded under steady writes; a
 * lost worker hands checkpoints back to SQLite and the store carries on.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { openDatabase, type Database } from '../src/store/database';
import { MetricStore, type MetricStoreOptions, type StoredBatch } from '../src/store/metric-store';
import { WalCheckpointer } from '../src/store/wal-checkpointer';

const T0 = Date.UTC(2026, 0, 1);
const SAMPLES = 1000;
const MIB = 1024 * 1024;

function setup(
  t: { teardown(fn: () => void | Promise<void>): void },
  options: MetricStoreOptions = {},
  make: (db: Database, options: MetricStoreOptions) => MetricStore = (db, o) => new MetricStore(db, o),
) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-checkpoint-'));
  const db = openDatabase(dir);
  const store = make(db, { commitIntervalMs: 1, ...options });
  t.teardown(async () => {
    await store.stop();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, db, store, wal: path.join(dir, 'ximp.db-wal'), file: path.join(dir, 'ximp.db') };
}

function batch(sequence: number): StoredBatch {
  const ids = new Uint32Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) ids[i] = i + 1;
  // Values that differ per batch, so no page compresses away.
  const values = Float64Array.from({ length: SAMPLES }, (_, i) => sequence * SAMPLES + i + Math.random());
  return { node: 'n1', streamId: 'st', sequence, previousSequence: sequence - 1, timestampMs: T0 + sequence, seriesIds: ids, values };
}

t.test('the worker checkpoints and the WAL restarts in place: bounded under steady writes', async (t) => {
  const { db, store, wal, file } = setup(t, { checkpointIntervalMs: 20 });
  await store.start();
  t.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0, 'no checkpoint inside a commit');
  await store.append(batch(1));
  const inode = fs.statSync(wal).ino;
  // ~60 MiB of batches (12 KB each), written as a steady stream of group commits.
  const total = 5000;
  let maxWal = 0;
  for (let s = 2; s <= total; s += 50) {
    await Promise.all(Array.from({ length: Math.min(50, total - s + 1) }, (_, i) => store.append(batch(s + i))));
    maxWal = Math.max(maxWal, fs.statSync(wal).size);
  }
  t.equal(store.lastSequence('n1', 'st'), total, 'every batch acknowledged');
  t.ok(maxWal < 48 * MIB, `the WAL stayed bounded (largest ${(maxWal / MIB).toFixed(1)} MiB of ~${((total * SAMPLES * 12) / MIB).toFixed(0)} MiB written)`);
  t.equal(fs.statSync(wal).ino, inode, 'the same WAL file throughout (what the sync holds open)');
  t.ok(fs.statSync(file).size > 32 * MIB, 'the worker copied the data into the database file');
  t.equal((db.prepare('SELECT COUNT(*) AS n FROM batches').get() as { n: number }).n, total, 'all stored');
});

t.test('a lost checkpoint worker hands checkpoints back to SQLite; the store carries on', async (t) => {
  const errors: string[] = [];
  class LostWorkerStore extends MetricStore {
    protected override createCheckpointer(): WalCheckpointer {
      // A worker that cannot start: it exits at once, as a crashed one would.
      return new WalCheckpointer('unused.db', path.join(os.tmpdir(), 'no-such-checkpoint-worker.js'));
    }
  }
  const { db, store } = setup(t, { checkpointIntervalMs: 5, onError: (err, context) => errors.push(`${context}: ${(err as Error).message}`) }, (d, o) => new LostWorkerStore(d, o));
  await store.start();
  const deadline = Date.now() + 10_000;
  while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.ok(errors.some((e) => e.startsWith('metric store checkpoint')), `the loss is reported (${errors.join('; ')})`);
  t.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000, "SQLite's automatic checkpoint is back");
  t.same(await store.append(batch(1)), { duplicate: false }, 'batches are still stored and acknowledged');
});

t.test('stop ends the worker and gives the connection its automatic checkpoint back', async (t) => {
  const { db, store } = setup(t, { checkpointIntervalMs: 5 });
  await store.start();
  await store.append(batch(1));
  await new Promise((r) => setTimeout(r, 30));
  await store.stop();
  t.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
});

t.test('checkpointIntervalMs 0 leaves checkpoints to SQLite', async (t) => {
  const { db, store } = setup(t, { checkpointIntervalMs: 0 });
  await store.start();
  t.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
  t.same(await store.append(batch(1)), { duplicate: false });
});
