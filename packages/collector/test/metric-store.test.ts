import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import { openDatabase, type Database } from '../src/store/database';
import { MetricStore, type MetricStoreOptions, type StoredBatch } from '../src/store/metric-store';

const T0 = Date.UTC(2026, 0, 1);

function setup(tt: { teardown(fn: () => void | Promise<void>): void }, options: MetricStoreOptions = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-metrics-'));
  const state: { db: Database; store: MetricStore } = { db: openDatabase(dir), store: undefined as unknown as MetricStore };
  state.store = new MetricStore(state.db, options);
  tt.teardown(async () => {
    await state.store.stop();
    if (state.db.open) state.db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    state,
    async reopen(): Promise<MetricStore> {
      await state.store.stop();
      state.db.close();
      state.db = openDatabase(dir);
      state.store = new MetricStore(state.db, options);
      await state.store.start();
      return state.store;
    },
  };
}

function batch(node: string, streamId: string, sequence: number, timestampMs: number, ids: number[], values: number[]): StoredBatch {
  return { node, streamId, sequence, timestampMs, seriesIds: Uint32Array.from(ids), values: Float64Array.from(values) };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

t.test('series ids: stable, label order irrelevant, per node', async (t) => {
  const { state } = setup(t);
  const s = state.store;
  const a = s.seriesId('n1', 'node_cpu_seconds_total', [{ name: 'mode', value: 'idle' }, { name: 'cpu', value: '0' }]);
  const b = s.seriesId('n1', 'node_cpu_seconds_total', [{ name: 'cpu', value: '0' }, { name: 'mode', value: 'idle' }]);
  t.equal(a, b, 'same series whatever the label order');
  t.not(s.seriesId('n2', 'node_cpu_seconds_total', [{ name: 'cpu', value: '0' }, { name: 'mode', value: 'idle' }]), a, 'other node, other id');
  t.not(s.seriesId('n1', 'node_cpu_seconds_total', [{ name: 'cpu', value: '1' }, { name: 'mode', value: 'idle' }]), a);
  t.not(s.seriesId('n1', 'up', []), a);
  // A tiny cache still answers correctly from the table.
  const small = new MetricStore(state.db, { seriesCacheBytes: 1 });
  t.equal(small.seriesId('n1', 'node_cpu_seconds_total', [{ name: 'cpu', value: '0' }, { name: 'mode', value: 'idle' }]), a);
  t.equal(small.seriesId('n1', 'up', []), s.seriesId('n1', 'up', []));
  t.equal(small.seriesId('n1', 'node_cpu_seconds_total', [{ name: 'mode', value: 'idle' }, { name: 'cpu', value: '0' }]), a);
});

t.test('round trip through query', async (t) => {
  const { state } = setup(t);
  const s = state.store;
  await s.start();
  const idle0 = s.seriesId('n1', 'node_cpu_seconds_total', [{ name: 'cpu', value: '0' }, { name: 'mode', value: 'idle' }]);
  const user0 = s.seriesId('n1', 'node_cpu_seconds_total', [{ name: 'cpu', value: '0' }, { name: 'mode', value: 'user' }]);
  const load = s.seriesId('n1', 'node_load1', []);
  const proto = s.seriesId('n1', 'odd', [{ name: '__proto__', value: 'x' }]);
  const other = s.seriesId('n2', 'node_cpu_seconds_total', [{ name: 'cpu', value: '0' }, { name: 'mode', value: 'idle' }]);
  const results = await Promise.all([
    s.append(batch('n1', 'st', 1, T0, [idle0, user0, load, proto], [10.5, 2.25, 0.75, 1])),
    s.append(batch('n1', 'st', 2, T0 + 10_000, [idle0, load], [20.5, 0.5])),
    s.append(batch('n1', 'st', 3, T0 + 20_000, [idle0, user0], [30.5, 3.25])),
    s.append(batch('n2', 'st', 1, T0 + 10_000, [other], [99])),
  ]);
  t.same(results, [{ duplicate: false }, { duplicate: false }, { duplicate: false }, { duplicate: false }]);

  const cpu = s.query('n1', 'node_cpu_seconds_total', T0, T0 + 20_000);
  t.same(cpu, [
    { labels: { cpu: '0', mode: 'idle', instance: 'n1', job: 'ximp' }, points: [[T0, 10.5], [T0 + 10_000, 20.5], [T0 + 20_000, 30.5]] },
    { labels: { cpu: '0', mode: 'user', instance: 'n1', job: 'ximp' }, points: [[T0, 2.25], [T0 + 20_000, 3.25]] },
  ]);
  t.same(s.query('n1', 'node_cpu_seconds_total', T0 + 5_000, T0 + 15_000), [
    { labels: { cpu: '0', mode: 'idle', instance: 'n1', job: 'ximp' }, points: [[T0 + 10_000, 20.5]] },
  ], 'time window is applied');
  t.same(s.query('n1', 'node_load1', 0, T0 * 2), [{ labels: { instance: 'n1', job: 'ximp' }, points: [[T0, 0.75], [T0 + 10_000, 0.5]] }]);
  t.same(s.query('n2', 'node_cpu_seconds_total', 0, T0 * 2)[0].points, [[T0 + 10_000, 99]], 'per node');
  t.same(s.query('n1', 'nope', 0, T0 * 2), []);
  const odd = s.query('n1', 'odd', 0, T0 * 2);
  t.equal(Object.getPrototypeOf(odd[0].labels), Object.prototype, 'plain object');
  t.ok(Object.prototype.hasOwnProperty.call(odd[0].labels, '__proto__'), 'a __proto__ label stays a label');
  t.equal(s.batchesStored, 4);
  t.equal(s.samplesStored, 4 + 2 + 2 + 1);

  // One row per batch, blobs of packed ids and values.
  const rows = state.db.prepare('SELECT series_ids, vals FROM batches').all() as { series_ids: Buffer; vals: Buffer }[];
  t.equal(rows.length, 4);
  t.equal(rows[0].series_ids.length, 4 * 4);
  t.equal(rows[0].vals.length, 4 * 8);
});

t.test('duplicates on (node, stream, sequence) are dropped and reported', async (t) => {
  const { state } = setup(t);
  const s = state.store;
  await s.start();
  const id = s.seriesId('n1', 'up', []);
  t.same(await s.append(batch('n1', 'st', 7, T0, [id], [1])), { duplicate: false });
  t.same(await s.append(batch('n1', 'st', 7, T0, [id], [2])), { duplicate: true }, 'replay');
  // Within one commit too.
  const both = await Promise.all([s.append(batch('n1', 'st', 8, T0 + 1, [id], [1])), s.append(batch('n1', 'st', 8, T0 + 1, [id], [5]))]);
  t.same(both, [{ duplicate: false }, { duplicate: true }]);
  t.same(await s.append(batch('n1', 'other-stream', 7, T0, [id], [3])), { duplicate: false }, 'other stream');
  t.same(await s.append(batch('n2', 'st', 7, T0, [s.seriesId('n2', 'up', [])], [4])), { duplicate: false }, 'other node');
  t.equal(s.duplicates, 2);
  t.equal(s.batchesStored, 4);
  t.same(s.query('n1', 'up', T0, T0).map((x) => x.points), [[[T0, 3], [T0, 1]]], 'first copy kept (other-stream sorts first)');
});

t.test('group commit: many appends, few transactions, resolved in order', async (t) => {
  const { state } = setup(t, { commitIntervalMs: 5, maxBatchesPerCommit: 512 });
  const s = state.store;
  await s.start();
  const id = s.seriesId('n1', 'up', []);
  const order: number[] = [];
  const all: Promise<unknown>[] = [];
  for (let i = 1; i <= 1000; i++) all.push(s.append(batch('n1', 'st', i, T0 + i, [id], [i])).then(() => order.push(i)));
  t.equal(s.lastSequence('n1', 'st'), 0, 'nothing committed yet: queued batches do not count');
  t.equal(s.queued, 1000);
  await Promise.all(all);
  t.ok(s.commits >= 2 && s.commits <= 3, `1000 batches in ${s.commits} commits`);
  t.same(order, Array.from({ length: 1000 }, (_, i) => i + 1), 'promises resolve in append order');
  t.equal(s.lastSequence('n1', 'st'), 1000);
  t.equal(s.lastSequence('n1', 'unknown'), 0);

  const before = s.commits;
  await Promise.all([1001, 1002, 1003].map((i) => s.append(batch('n1', 'st', i, T0 + i, [id], [i]))));
  t.equal(s.commits - before, 1, 'batches arriving within the interval share one commit');
});

t.test('a failed commit rejects every batch of it, then the store carries on', async (t) => {
  const { state } = setup(t);
  const s = state.store;
  await s.start();
  const id = s.seriesId('n1', 'up', []);
  // An injected fault: the database refuses one node's rows, failing the whole transaction.
  state.db.exec("CREATE TEMP TRIGGER fail_bad BEFORE INSERT ON batches WHEN NEW.node = 'bad' BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
  const results = await Promise.allSettled([
    s.append(batch('n1', 'st', 1, T0, [id], [1])),
    s.append(batch('bad', 'st', 1, T0, [id], [1])),
  ]);
  t.same(results.map((r) => r.status), ['rejected', 'rejected']);
  for (const r of results) if (r.status === 'rejected') t.equal((r.reason as { code: string }).code, ErrorCodes.STORE_FAILED);
  t.equal(s.failedCommits, 1);
  t.equal(s.lastSequence('n1', 'st'), 0, 'nothing of the failed commit is stored');
  t.same(s.query('n1', 'up', 0, T0 * 2), []);
  state.db.exec('DROP TRIGGER fail_bad');
  t.same(await s.append(batch('n1', 'st', 1, T0, [id], [1])), { duplicate: false }, 'replay after the fault is stored');
  t.equal(s.lastSequence('n1', 'st'), 1);
});

t.test("the collector's own series rows: written at once, the connection's durability setting put back, also inside a transaction", async (t) => {
  const { state } = setup(t);
  const s = state.store;
  const setting = state.db.pragma('synchronous', { simple: true });
  t.equal(setting, 2, 'the database connection syncs every commit (FULL)');
  const id = s.seriesId('n1', 'up', []);
  t.equal(state.db.pragma('synchronous', { simple: true }), setting, 'FULL again after the row was written');
  t.ok(state.db.prepare('SELECT 1 FROM series WHERE id = ?').get(id), 'the row is in the table at once');
  let inside = 0;
  state.db.transaction(() => {
    inside = s.seriesId('n2', 'up', []);
  })();
  t.ok(state.db.prepare('SELECT 1 FROM series WHERE id = ?').get(inside), 'written inside a caller\'s transaction too');
  t.equal(state.db.pragma('synchronous', { simple: true }), setting);
});

t.test('bounded queue, lifecycle', async (t) => {
  const { state } = setup(t, { commitIntervalMs: 60_000, maxQueuedBatches: 3 });
  const s = state.store;
  const id = s.seriesId('n1', 'up', []);
  t.equal(await codeOf(s.append(batch('n1', 'st', 1, T0, [id], [1]))), ErrorCodes.STORE_STOPPED, 'not started');
  await s.start();
  const queued = [1, 2, 3].map((i) => s.append(batch('n1', 'st', i, T0, [id], [i])));
  t.equal(await codeOf(s.append(batch('n1', 'st', 4, T0, [id], [4]))), ErrorCodes.STORE_BUSY, 'full queue refuses (retryable)');
  t.equal(s.rejected, 1);
  t.equal(s.counters.rejected, 1);
  t.equal(await codeOf(s.append(batch('n1', 'st', 5, T0, [id], [1]))), ErrorCodes.STORE_BUSY, 'still full');
  await s.stop();
  t.same(await Promise.all(queued), [{ duplicate: false }, { duplicate: false }, { duplicate: false }], 'stop commits what is queued');
  t.equal(s.lastSequence('n1', 'st'), 3);
  await s.stop();
  t.equal(await codeOf(s.append(batch('n1', 'st', 6, T0, [id], [1]))), ErrorCodes.STORE_STOPPED, 'stopped');
  const never = new MetricStore(state.db);
  await never.stop();
  t.pass('stop before start is safe');
});

t.test("the collector's own batches are outside the agents' bound and never take an agent's place", async (t) => {
  const { state } = setup(t, { commitIntervalMs: 60_000, maxBatchesPerCommit: 10_000, maxQueuedBatches: 2 });
  const s = state.store;
  await s.start();
  const up = (node: string) => s.seriesId(node, 'up', []);
  // A round of up for a fleet larger than the bound: all taken.
  const own = Array.from({ length: 5 }, (_, i) => s.append(batch(`n${i}`, 'ximp-collector', T0, T0, [up(`n${i}`)], [1]), { own: true }));
  t.equal(s.queued, 5);
  const agents = [1, 2].map((i) => s.append(batch('agent', 'st', i, T0, [up('agent')], [i])));
  t.equal(s.queued, 7, "the agents' batches are queued beside them");
  t.equal(await codeOf(s.append(batch('agent', 'st', 3, T0, [up('agent')], [3]))), ErrorCodes.STORE_BUSY, 'a third agent batch passes the bound of 2');
  t.equal(s.rejected, 1);
  await s.stop();
  t.same(await Promise.all([...own, ...agents]), Array(7).fill({ duplicate: false }), 'every accepted batch is stored');
  t.equal(s.lastSequence('agent', 'st'), 2);
});

t.test('the bound counts what is left after a commit took some of each kind', async (t) => {
  const { state } = setup(t, { commitIntervalMs: 60_000, maxBatchesPerCommit: 3, maxQueuedBatches: 2 });
  const s = state.store;
  await s.start();
  const id = s.seriesId('n', 'up', []);
  const stored = [
    s.append(batch('n', 'ximp-collector', T0, T0, [id], [1]), { own: true }),
    s.append(batch('n', 'st', 1, T0, [id], [1])),
    s.append(batch('n', 'ximp-collector', T0 + 1, T0, [id], [1]), { own: true }),
    s.append(batch('n', 'st', 2, T0, [id], [2])),
  ];
  // The fourth append reached maxBatchesPerCommit: a commit takes the first three on the next turn.
  await new Promise((r) => setImmediate(r));
  t.equal(s.queued, 1, 'one agent batch left');
  const third = s.append(batch('n', 'st', 3, T0, [id], [3]));
  t.equal(await codeOf(s.append(batch('n', 'st', 4, T0, [id], [4]))), ErrorCodes.STORE_BUSY, 'two agent batches waiting fill the bound');
  await s.stop();
  t.same(await Promise.all([...stored, third]), Array(5).fill({ duplicate: false }));
});

t.test('invalid batches are refused before queueing', async (t) => {
  const { state } = setup(t);
  const s = state.store;
  await s.start();
  t.equal(await codeOf(s.append(batch('n1', 'st', 1, T0, [1, 2], [1]))), ErrorCodes.REQUEST_INVALID);
  t.equal(await codeOf(s.append({ ...batch('n1', 'st', 1, T0, [1], [1]), sequence: -1 })), ErrorCodes.REQUEST_INVALID);
  t.equal(await codeOf(s.append({ ...batch('n1', 'st', 1, T0, [1], [1]), values: [1] as unknown as Float64Array })), ErrorCodes.REQUEST_INVALID);
  t.equal(s.queued, 0);
});

t.test('data and last sequence survive a reopen; retention deletes old rows only', async (t) => {
  const env = setup(t);
  const s = env.state.store;
  await s.start();
  const id = s.seriesId('n1', 'node_load1', []);
  for (let i = 1; i <= 10; i++) await s.append(batch('n1', 'st', i, T0 + i * 1000, [id], [i]));
  const s2 = await env.reopen();
  t.equal(s2.lastSequence('n1', 'st'), 10);
  t.equal(s2.seriesId('n1', 'node_load1', []), id, 'series ids are stable across restarts');
  t.equal(s2.query('n1', 'node_load1', 0, T0 * 2)[0].points.length, 10);
  t.equal(s2.applyRetention(T0 + 5500, 0), 5, 'rows older than the cutoff');
  t.same(s2.query('n1', 'node_load1', 0, T0 * 2)[0].points.map((p) => p[1]), [6, 7, 8, 9, 10]);
  t.equal(s2.applyRetention(T0 + 100_000, 1_000_000), 0);
  t.equal(s2.applyRetention(T0 + 100_000, 0), 5);
  t.equal(s2.lastSequence('n1', 'st'), 10, 'retention does not reset the stream position');
  t.same(await s2.append(batch('n1', 'st', 11, T0 + 200_000, [id], [11])), { duplicate: false });
});

t.test('an acknowledged batch survives kill -9', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-kill-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const dist = path.resolve(__dirname, '../dist/store');
  const script = `
    const { openDatabase } = require(${JSON.stringify(path.join(dist, 'database.js'))});
    const { MetricStore } = require(${JSON.stringify(path.join(dist, 'metric-store.js'))});
    const db = openDatabase(${JSON.stringify(dir)});
    const s = new MetricStore(db, { commitIntervalMs: 2 });
    s.start();
    const id = s.seriesId('n1', 'up', []);
    let seq = 0;
    const tick = () => {
      for (let i = 0; i < 20; i++) {
        const n = ++seq;
        s.append({ node: 'n1', streamId: 'st', sequence: n, timestampMs: n, seriesIds: Uint32Array.of(id), values: Float64Array.of(n) })
          .then(() => process.stdout.write('ack ' + n + '\\n'));
      }
      setTimeout(tick, 1);
    };
    tick();
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let acked = 0;
  let buf = '';
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) acked = Math.max(acked, Number(l.slice(4)));
      if (acked >= 300 && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', () => resolve());
  });
  t.ok(acked >= 300, `child acknowledged ${acked} batches before kill -9`);
  const db = openDatabase(dir);
  t.teardown(() => db.close());
  const s = new MetricStore(db);
  const last = s.lastSequence('n1', 'st');
  t.ok(last >= acked, `stored up to ${last}, acknowledged up to ${acked}`);
  const { n } = db.prepare("SELECT COUNT(*) AS n FROM batches WHERE node = 'n1' AND sequence <= ?").get(acked) as { n: number };
  t.equal(n, acked, 'every acknowledged batch is in the database');
});

t.test('throughput (informational)', async (t) => {
  const { state } = setup(t);
  const s = state.store;
  await s.start();
  const ids = Array.from({ length: 200 }, (_, i) => s.seriesId('n1', 'node_x', [{ name: 'i', value: String(i) }]));
  const seriesIds = Uint32Array.from(ids);
  const batches = 3_000;
  const start = process.hrtime.bigint();
  const pending: Promise<unknown>[] = [];
  for (let i = 1; i <= batches; i++) {
    const values = new Float64Array(200).fill(i);
    pending.push(s.append({ node: `n${i % 100}`, streamId: 'st', sequence: i, timestampMs: T0 + i, seriesIds, values }));
    // Arrive in waves, as from many sessions, without overrunning the bounded queue.
    if (i % 1000 === 0) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  t.equal(s.batchesStored, batches);
  t.comment(
    `metric store: ${Math.round(batches / secs)} batches/s, ${Math.round((batches * 200) / secs)} samples/s ` +
      `(200-sample batches, ${s.commits} commits, each synced off the event loop)`,
  );
});
