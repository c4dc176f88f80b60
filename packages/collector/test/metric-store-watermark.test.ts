/**
 * The number Welcome and Ack carry is the contiguous watermark of a stream: the agent deletes
 * every batch up to it, so it must never pass a batch whose commit failed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { openDatabase } from '../src/store/database';
import { MetricStore, type StoredBatch } from '../src/store/metric-store';

const T0 = Date.UTC(2026, 0, 1);

function setup(t: { teardown(fn: () => void | Promise<void>): void }, maxBatchesPerCommit = 512) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-watermark-'));
  const db = openDatabase(dir);
  const store = new MetricStore(db, { maxBatchesPerCommit });
  t.teardown(async () => {
    await store.stop();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { db, store };
}

/** A batch as a session hands it over: it follows `previous` on its stream. */
function batch(sequence: number, previous: number, streamId = 'st'): StoredBatch {
  return { node: 'n1', streamId, sequence, previousSequence: previous, timestampMs: T0 + sequence, seriesIds: Uint32Array.of(1), values: Float64Array.of(sequence) };
}

t.test('a failed commit holds the watermark back although later batches of the stream commit', async (t) => {
  const { db, store } = setup(t, 2);
  await store.start();
  // An injected fault: the database refuses sequences 1 and 2, so their commit fails; 3 commits alone.
  db.exec('CREATE TEMP TRIGGER fail_early BEFORE INSERT ON batches WHEN NEW.sequence <= 2 BEGIN SELECT RAISE(ABORT, \'injected fault\'); END');
  const results = await Promise.allSettled([store.append(batch(1, 0)), store.append(batch(2, 1)), store.append(batch(3, 2))]);
  t.same(results.map((r) => r.status), ['rejected', 'rejected', 'fulfilled'], 'batches 1-2 rejected, 3 stored');
  t.equal((db.prepare('SELECT COUNT(*) AS n FROM batches').get() as { n: number }).n, 1);
  t.equal(store.lastSequence('n1', 'st'), 0, 'the watermark does not pass the batches that were not stored');

  db.exec('DROP TRIGGER fail_early');
  // The agent, told 0, replays 1..3: 3 is a duplicate now, and its replay moves the watermark on.
  const replay = await Promise.all([store.append(batch(1, 0)), store.append(batch(2, 1)), store.append(batch(3, 2))]);
  t.same(replay, [{ duplicate: false }, { duplicate: false }, { duplicate: true }]);
  t.equal(store.lastSequence('n1', 'st'), 3);
});

t.test('the watermark survives a reopen and is read from the table', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-watermark-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let db = openDatabase(dir);
  let store = new MetricStore(db);
  await store.start();
  await Promise.all([store.append(batch(1, 0)), store.append(batch(2, 1)), store.append(batch(4, 3))]);
  t.equal(store.lastSequence('n1', 'st'), 2, 'a gap the agent never filled holds it');
  await store.stop();
  db.close();
  db = openDatabase(dir);
  store = new MetricStore(db);
  await store.start();
  t.teardown(async () => {
    await store.stop();
    db.close();
  });
  t.equal(store.lastSequence('n1', 'st'), 2);
  await store.append(batch(3, 2));
  t.equal(store.lastSequence('n1', 'st'), 3, 'the missing batch arrives: the watermark moves to it');
  await store.append(batch(4, 3));
  t.equal(store.lastSequence('n1', 'st'), 4, 'and the replayed later one moves it further');
});

t.test('sequences the agent itself skipped (spool overflow, damaged records) do not hold it', async (t) => {
  const { store } = setup(t);
  await store.start();
  // The spool dropped 1..9: the session's first batch is 10, following the Welcome's 0.
  await Promise.all([store.append(batch(10, 0)), store.append(batch(11, 10)), store.append(batch(15, 11))]);
  t.equal(store.lastSequence('n1', 'st'), 15);
  t.equal(store.lastSequence('n1', 'other'), 0, 'per stream');
});

t.test('batches without a predecessor (the collector\'s own stream) move it to the highest', async (t) => {
  const { store } = setup(t);
  await store.start();
  const own = (sequence: number): StoredBatch => ({ ...batch(sequence, 0), previousSequence: undefined, streamId: 'own' });
  await Promise.all([store.append(own(T0)), store.append(own(T0 + 10_000))]);
  t.equal(store.lastSequence('n1', 'own'), T0 + 10_000);
});

t.test('a predecessor at or above the sequence is refused', async (t) => {
  const { store } = setup(t);
  await store.start();
  await t.rejects(store.append(batch(3, 3)), { code: 'XIMP_ERR_REQUEST_INVALID' });
  await t.rejects(store.append({ ...batch(3, 0), previousSequence: -1 }), { code: 'XIMP_ERR_REQUEST_INVALID' });
});
