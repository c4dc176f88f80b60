/**
 * The group commit writes the WAL without syncing it on the event loop; a sync on libuv's thread
 * pool makes each group durable. A batch is acknowledged (its append resolves) and its stream's
 * watermark shown only after that sync; a failed sync acknowledges nothing and the store carries on.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import { openDatabase, type Database } from '../src/store/database';
import type { ForwardedBatch, ForwardTarget } from '../src/store/forward-target';
import { MetricStore, type MetricStoreOptions, type StoredBatch } from '../src/store/metric-store';

const T0 = Date.UTC(2026, 0, 1);

/** The real store whose syncs a test holds at a gate or fails (the fault seam `beforeSync`). */
class GatedSyncStore extends MetricStore {
  syncs = 0;
  readonly failSyncs = new Set<number>();
  private syncGate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  syncsHeld = 0;

  holdSyncs(): void {
    this.syncGate = new Promise((resolve) => (this.openGate = resolve));
  }

  releaseSyncs(): void {
    this.syncGate = undefined;
    this.openGate?.();
  }

  protected override async beforeSync(): Promise<void> {
    const n = ++this.syncs;
    if (this.syncGate) {
      this.syncsHeld++;
      await this.syncGate;
    }
    if (this.failSyncs.has(n)) throw new Error('injected fault: fdatasync EIO');
  }
}

function setup(t: { teardown(fn: () => void | Promise<void>): void }, options: MetricStoreOptions = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-sync-'));
  const db: Database = openDatabase(dir);
  const store = new GatedSyncStore(db, { commitIntervalMs: 1, ...options });
  t.teardown(async () => {
    store.releaseSyncs();
    await store.stop();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, db, store };
}

function batch(sequence: number, streamId = 'st'): StoredBatch {
  return { node: 'n1', streamId, sequence, previousSequence: sequence - 1, timestampMs: T0 + sequence, seriesIds: Uint32Array.of(1), values: Float64Array.of(sequence) };
}

function storedSequences(db: Database, streamId = 'st'): number[] {
  return (db.prepare('SELECT sequence FROM batches WHERE stream_id = ? ORDER BY sequence').all(streamId) as { sequence: number }[]).map((r) => r.sequence);
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

t.test('a committed batch is neither acknowledged nor in the watermark until its sync completes', async (t) => {
  const { db, store } = setup(t);
  await store.start();
  t.equal(await store.append(batch(1)).then((r) => r.duplicate), false);
  t.equal(store.lastSequence('n1', 'st'), 1);

  store.holdSyncs();
  let settled = false;
  const pending = store.append(batch(2)).then((r) => {
    settled = true;
    return r;
  });
  await until('the commit', () => store.syncsHeld === 1);
  t.same(storedSequences(db), [1, 2], 'batch 2 is committed');
  await new Promise((r) => setTimeout(r, 20));
  t.notOk(settled, 'its append is not resolved while the sync runs');
  t.equal(store.lastSequence('n1', 'st'), 1, 'the watermark does not pass it while the sync runs');
  t.equal(store.batchesStored, 1, 'nor is it counted as stored');

  store.releaseSyncs();
  t.same(await pending, { duplicate: false });
  t.equal(store.lastSequence('n1', 'st'), 2, 'after the sync the watermark moves');
});

t.test('commits go on while a sync runs; the next sync covers them, resolved in order', async (t) => {
  const { db, store } = setup(t);
  await store.start();
  store.holdSyncs();
  const order: number[] = [];
  const first = store.append(batch(1)).then(() => order.push(1));
  await until('the first sync', () => store.syncsHeld === 1);
  const rest = [2, 3, 4].map((s) => store.append(batch(s)).then(() => order.push(s)));
  await until('later commits', () => storedSequences(db).length === 4);
  t.equal(store.syncsHeld, 1, 'one sync at a time: the later commits wait for the next');
  t.ok(store.commits >= 2, `commits went on during the sync (${store.commits})`);
  t.same(order, [], 'nothing acknowledged yet');
  store.releaseSyncs();
  await Promise.all([first, ...rest]);
  t.same(order, [1, 2, 3, 4], 'appends resolve in order');
  t.equal(store.lastSequence('n1', 'st'), 4);
  t.equal(store.syncs, 2, 'the second sync covered every commit made during the first');
});

t.test('a failed sync rejects every append it covered, shows no watermark, and the store carries on', async (t) => {
  const { db, store } = setup(t);
  await store.start();
  await store.append(batch(1));
  store.failSyncs.add(store.syncs + 1);
  const results = await Promise.allSettled([store.append(batch(2)), store.append(batch(3))]);
  t.same(results.map((r) => r.status), ['rejected', 'rejected'], 'nothing acknowledged');
  for (const r of results) if (r.status === 'rejected') t.equal((r.reason as { code: string }).code, ErrorCodes.STORE_FAILED);
  t.same(storedSequences(db), [1, 2, 3], 'the commit itself went through');
  t.equal(store.lastSequence('n1', 'st'), 1, 'the watermark stays at the last durable batch');
  t.equal(store.failedCommits, 1, 'counted as a failed commit');

  // No new batch: the watermark waits for a sync; the agent's replays are duplicates and acknowledge.
  await new Promise((r) => setTimeout(r, 20));
  t.equal(store.lastSequence('n1', 'st'), 1, 'a failed sync is not retried into an acknowledgement by itself');
  t.same(await store.append(batch(2)), { duplicate: true }, 'the replay is a duplicate and is acknowledged');
  t.equal(store.lastSequence('n1', 'st'), 3, 'the next sync made the earlier commit durable: the watermark moves on');
  t.same(await store.append(batch(4)), { duplicate: false }, 'new batches are stored');
  t.equal(store.lastSequence('n1', 'st'), 4);
});

t.test('the WAL file missing at the first sync fails the sync, never counts as nothing to sync', async (t) => {
  const { dir, store } = setup(t);
  await store.start();
  // SQLite keeps writing to the file it has open; a sync by name can no longer reach it.
  fs.rmSync(path.join(dir, 'ximp.db-wal'));
  const result = await store.append(batch(1)).then(
    () => 'resolved',
    (err: { code?: string }) => err.code,
  );
  t.equal(result, ErrorCodes.STORE_FAILED, 'rejected: not acknowledged');
  t.equal(store.lastSequence('n1', 'st'), 0);
});

t.test('only the group commit is relaxed: the connection keeps its synchronous setting for every other write', async (t) => {
  // What the commit runs at, seen from inside its transaction (a remote store's queue is appended there).
  const levels: number[] = [];
  const probe: { db?: Database } = {};
  const target: ForwardTarget = {
    name: 'probe',
    hasRoom: () => true,
    append() {
      levels.push(probe.db!.pragma('synchronous', { simple: true }) as number);
    },
    syncAsync: () => Promise.resolve(),
  };
  const { db, store } = setup(t, { forwardTargets: [target] });
  probe.db = db;
  await store.start();
  await store.append(batch(1));
  await store.append(batch(2));
  t.same(levels, [1, 1], 'every commit at NORMAL, the first one too');
  t.equal(db.pragma('synchronous', { simple: true }), 2, 'synchronous=FULL after the commit');
});

t.test('a remote store\'s queue takes no append while its sync runs', async (t) => {
  let syncing = false;
  let appendsDuringSync = 0;
  let appended = 0;
  let release: (() => void) | undefined;
  const target: ForwardTarget = {
    name: 'slow',
    hasRoom: () => true,
    append(batches: readonly ForwardedBatch[]) {
      if (syncing) appendsDuringSync++;
      appended += batches.length;
    },
    syncAsync() {
      syncing = true;
      return new Promise<void>((resolve) => {
        release = () => {
          syncing = false;
          resolve();
        };
      });
    },
  };
  const { store } = setup(t, { forwardTargets: [target] });
  await store.start();
  const first = store.append(batch(1));
  await until('the first sync', () => syncing);
  const later = [2, 3].map((s) => store.append(batch(s)));
  await new Promise((r) => setTimeout(r, 30));
  t.equal(appended, 1, 'later batches wait for the sync');
  release!();
  await first;
  await until('the second sync', () => syncing);
  t.equal(appended, 3, 'then they are committed together');
  release!();
  await Promise.all(later);
  t.equal(appendsDuringSync, 0, 'never appended during a sync');
  t.equal(store.lastSequence('n1', 'st'), 3);
});

t.test('stop commits what is queued and waits for its sync', async (t) => {
  const { store } = setup(t, { commitIntervalMs: 60_000 });
  await store.start();
  store.holdSyncs();
  const p = store.append(batch(1));
  const stopped = store.stop();
  await until('the sync', () => store.syncsHeld === 1);
  let done = false;
  void stopped.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 20));
  t.notOk(done, 'stop waits for the sync');
  store.releaseSyncs();
  await stopped;
  t.same(await p, { duplicate: false }, 'the queued batch was made durable and acknowledged');
});
