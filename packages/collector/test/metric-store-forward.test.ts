/**
 * The metric store hands every committed batch to each remote store's queue inside the commit's
 * transaction: acknowledged means queued, a queue that fails rolls the commit back, and a full
 * queue makes the store refuse new batches instead of dropping them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import { openDatabase } from '../src/store/database';
import type { ForwardedBatch, ForwardTarget, SeriesDescription } from '../src/store/forward-target';
import { MetricStore, type StoredBatch } from '../src/store/metric-store';
import { SeriesHold } from '../src/store/series-hold';

const T0 = Date.UTC(2026, 0, 1);

/** A queue that records what it was given; `failNext` injects a write fault, `room` a full queue. */
class RecordingTarget implements ForwardTarget {
  readonly appended: { node: string; timestampMs: number; series: SeriesDescription[]; values: number[] }[] = [];
  syncs = 0;
  room = true;
  failNext = false;
  constructor(readonly name: string) {}
  hasRoom(): boolean {
    return this.room;
  }
  append(batches: readonly ForwardedBatch[], describe: (id: number) => SeriesDescription): void {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('injected queue write fault');
    }
    for (const b of batches) {
      this.appended.push({ node: b.node, timestampMs: b.timestampMs, series: [...b.seriesIds].map(describe), values: [...b.values] });
    }
  }
  syncAsync(): Promise<void> {
    this.syncs++;
    return Promise.resolve();
  }
}

function setup(t: { teardown(fn: () => void | Promise<void>): void }, targets: ForwardTarget[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-forward-'));
  const db = openDatabase(dir);
  const store = new MetricStore(db, { forwardTargets: targets });
  t.teardown(async () => {
    await store.stop();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { db, store };
}

function batch(store: MetricStore, sequence: number): StoredBatch {
  const cpu = store.resolveSeries('web-1', 'node_cpu_seconds_total', [{ name: 'mode', value: 'idle' }, { name: 'cpu', value: '0' }], new SeriesHold());
  const load = store.resolveSeries('web-1', 'node_load1', [], new SeriesHold());
  return { node: 'web-1', streamId: 's', sequence, previousSequence: sequence - 1, timestampMs: T0 + sequence * 1000, seriesIds: Uint32Array.of(cpu, load), values: Float64Array.of(sequence, sequence / 10) };
}

t.test('each committed batch reaches every queue once, with its series described, and is synced before the ack', async (t) => {
  const a = new RecordingTarget('a');
  const b = new RecordingTarget('b');
  const { store } = setup(t, [a, b]);
  await store.start();
  await Promise.all([store.append(batch(store, 1)), store.append(batch(store, 2))]);
  for (const target of [a, b]) {
    t.equal(target.appended.length, 2, `${target.name} got both batches`);
    t.ok(target.syncs >= 1, `${target.name} synced`);
    t.same(target.appended[0].series, [
      { name: 'node_cpu_seconds_total', labels: [{ name: 'cpu', value: '0' }, { name: 'mode', value: 'idle' }] },
      { name: 'node_load1', labels: [] },
    ]);
    t.same(target.appended.map((x) => x.values), [[1, 0.1], [2, 0.2]]);
  }
  // A replay of stored batches is a duplicate: not queued again.
  const again = await store.append(batch(store, 2));
  t.same(again, { duplicate: true });
  t.equal(a.appended.length, 2, 'a duplicate is not forwarded twice');
});

t.test('a queue that fails to write rolls the commit back: nothing stored, nothing acknowledged', async (t) => {
  const a = new RecordingTarget('a');
  const b = new RecordingTarget('b');
  const { db, store } = setup(t, [a, b]);
  await store.start();
  b.failNext = true;
  await t.rejects(store.append(batch(store, 1)), { code: ErrorCodes.STORE_FAILED });
  t.equal((db.prepare('SELECT COUNT(*) AS n FROM batches').get() as { n: number }).n, 0, 'the batch row was rolled back');
  t.equal(store.lastSequence('web-1', 's'), 0, 'the watermark did not move');
  // The agent replays: now it is stored and reaches both queues (the first holds a harmless second copy).
  t.same(await store.append(batch(store, 1)), { duplicate: false });
  t.equal(b.appended.length, 1);
  t.equal(a.appended.length, 2, 'the queue that took the failed commit holds an identical copy');
  t.same(a.appended[0], a.appended[1]);
});

t.test('a full queue makes the store refuse new batches, counted, until it has room', async (t) => {
  const a = new RecordingTarget('prom');
  const { db, store } = setup(t, [a]);
  await store.start();
  a.room = false;
  await t.rejects(store.append(batch(store, 1)), { code: ErrorCodes.STORE_QUEUE_FULL, message: /"prom" is full/ });
  t.equal((db.prepare('SELECT COUNT(*) AS n FROM batches').get() as { n: number }).n, 0, 'not stored either');
  t.equal((store.counters as Record<string, number>).heldBack, 1);
  a.room = true;
  t.same(await store.append(batch(store, 1)), { duplicate: false });
  t.equal(a.appended.length, 1);
});
