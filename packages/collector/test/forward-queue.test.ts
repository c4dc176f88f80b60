import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import t from 'tap';
import { ForwardQueue, type ForwardQueueOptions, type QueuedBatch, type SeriesDescription, type ShardQueue } from '../src/store/remote-write/forward-queue';

type Tap = { teardown(fn: () => void): void };

function tempDir(t: Tap): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-fq-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(t: Tap, options: Partial<ForwardQueueOptions> & { dir: string }): ForwardQueue {
  const q = ForwardQueue.open({ shards: 4, maxBytes: 64 * 1024 * 1024, ...options });
  t.teardown(() => q.close());
  return q;
}

function seriesOf(id: number): SeriesDescription {
  return { name: `metric_${id}`, labels: [{ name: 'id', value: String(id) }] };
}

/** describe() that counts its calls per id. */
function describer(): { describe: (id: number) => SeriesDescription; calls: Map<number, number>; total(): number } {
  const calls = new Map<number, number>();
  return {
    describe: (id) => {
      calls.set(id, (calls.get(id) ?? 0) + 1);
      return seriesOf(id);
    },
    calls,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
  };
}

const failDescribe = (id: number): SeriesDescription => {
  throw new Error(`describe(${id}) asked`);
};

function batch(node: string, timestampMs: number, ids: number[]): { node: string; timestampMs: number; seriesIds: Uint32Array; values: Float64Array } {
  return { node, timestampMs, seriesIds: Uint32Array.from(ids), values: Float64Array.from(ids.map((id) => id + timestampMs / 1000)) };
}

/** Every batch of a shard, peeking and confirming until it is empty. */
function drain(shard: ShardQueue, maxSamples = 1000): QueuedBatch[] {
  const out: QueuedBatch[] = [];
  for (let p = shard.peek(maxSamples); p !== undefined; p = shard.peek(maxSamples)) {
    out.push(...p.batches);
    shard.confirm(p.end);
  }
  return out;
}

function drainAll(q: ForwardQueue): QueuedBatch[] {
  const out: QueuedBatch[] = [];
  for (let i = 0; i < q.shardCount; i++) out.push(...drain(q.shard(i)));
  return out;
}

/** A batch as the test wrote it, from the ids its series carry in their labels. */
function resolved(b: QueuedBatch): [unknown, unknown] {
  const ids = b.series.map((s) => Number(s.labels[0].value));
  return [{ series: b.series, values: Array.from(b.values) }, { series: ids.map(seriesOf), values: ids.map((id) => id + b.timestampMs / 1000) }];
}

function segmentFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => path.join(dir, f));
}

t.test('peek returns the appended batches with names and labels, in append order per shard', async (t) => {
  const dir = tempDir(t);
  const q = open(t, { dir });
  const d = describer();
  const nodes = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
  for (let round = 0; round < 5; round++) {
    q.append(nodes.map((node, n) => batch(node, 1000 * (round + 1), [n * 10 + 1, n * 10 + 2, n * 10 + 3])), d.describe);
  }
  q.sync();
  t.equal(d.total(), nodes.length * 3, 'each series described once in its segment');
  t.same(q.stats().batches, 30);
  t.same(q.stats().samples, 90);

  const seen = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < q.shardCount; i++) {
    const batches = drain(q.shard(i));
    total += batches.length;
    const lastTs = new Map<string, number>();
    for (const b of batches) {
      t.equal(q.shardOf(b.node), i, `${b.node} is in the shard its name hashes to`);
      if (seen.has(b.node)) t.equal(seen.get(b.node), i, 'a node always lands in the same shard');
      seen.set(b.node, i);
      t.ok(b.timestampMs > (lastTs.get(b.node) ?? 0), 'a node keeps its append order');
      lastTs.set(b.node, b.timestampMs);
      t.same(...resolved(b));
    }
  }
  t.equal(total, 30);
  t.ok(new Set(seen.values()).size > 1, 'the nodes spread over several shards');
  t.same(q.stats(), { bytes: q.stats().bytes, batches: 0, samples: 0, oldestAgeMs: null, unreadableRecords: 0 });
});

t.test('peek repeats itself until confirmed; maxSamples takes whole batches, at least one', async (t) => {
  const q = open(t, { dir: tempDir(t), shards: 1 });
  const d = describer();
  q.append([batch('n', 1000, [1, 2, 3]), batch('n', 2000, [1, 2, 3]), batch('n', 3000, [1, 2, 3, 4, 5])], d.describe);
  q.append([batch('n', 4000, [1])], d.describe);
  const s = q.shard(0);

  const first = s.peek(7)!;
  t.same(first.batches.map((b) => b.timestampMs), [1000, 2000], 'two batches of 3 fit in 7, the third would not');
  t.equal(first.samples, 6);
  const again = s.peek(7)!;
  t.same(again.batches, first.batches, 'the same batches before confirm');
  t.same(s.peek(1000)!.batches.map((b) => b.timestampMs), [1000, 2000], 'even with a larger budget');
  s.confirm(first.end);
  t.throws(() => s.confirm(first.end), 'an end confirms once');

  const big = s.peek(2)!;
  t.same(big.batches.map((b) => b.timestampMs), [3000], 'one batch bigger than maxSamples still goes alone');
  t.equal(big.samples, 5);
  s.confirm(big.end);
  const last = s.peek(2)!;
  t.same(last.batches.map((b) => b.timestampMs), [4000]);
  t.same(last.batches[0].series, [seriesOf(1)]);
  s.confirm(last.end);
  t.equal(s.peek(2), undefined, 'empty after the last confirm');
});

t.test('every segment carries its own definitions: rotation and reopen never ask describe for old data', async (t) => {
  const dir = tempDir(t);
  const shardDir = path.join(dir, 'shard-0');
  const ids = Array.from({ length: 20 }, (_, i) => i + 1);
  let q = ForwardQueue.open({ dir, shards: 1, maxBytes: 1 << 30, segmentBytes: 4096 });
  const d = describer();
  for (let i = 0; i < 60; i++) q.append([batch('n', (i + 1) * 1000, ids)], d.describe);
  q.sync();
  const segments = segmentFiles(shardDir).length;
  t.ok(segments >= 5, `rotated into ${segments} segments`);
  t.equal(d.total(), ids.length * segments, 'each segment described every series once');

  // Confirm into the middle of a later segment (the earlier ones go), then reopen: the rest
  // resolves from the files alone, though the segments that first defined the series are gone.
  const s = q.shard(0);
  const part = s.peek(ids.length * 25)!;
  t.equal(part.batches.length, 25);
  s.confirm(part.end);
  t.equal(segmentFiles(shardDir).length, segments - 2, 'segments wholly confirmed are deleted');
  q.close();

  q = ForwardQueue.open({ dir, shards: 1, maxBytes: 1 << 30, segmentBytes: 4096 });
  t.teardown(() => q.close());
  const rest = drain(q.shard(0), 50);
  t.same(rest.map((b) => b.timestampMs), Array.from({ length: 35 }, (_, i) => (i + 26) * 1000), 'resumes right after the confirmed batch');
  for (const b of rest) t.same(...resolved(b));

  // Appends after reopen go to a new segment, which defines its series again, once each.
  const after = describer();
  q.append([batch('n', 100_000, [1, 2])], after.describe);
  q.append([batch('n', 101_000, [2, 3])], after.describe);
  t.same([...after.calls.keys()], [1, 2, 3], 'a new segment after reopen: defined once each');
  const tail = drain(q.shard(0));
  t.same(tail.map((b) => b.series.map((x) => x.name)), [['metric_1', 'metric_2'], ['metric_2', 'metric_3']]);
});

t.test('reopen resumes after the confirmed position, replaying only when something waited', async (t) => {
  const dir = tempDir(t);
  let q = ForwardQueue.open({ dir, shards: 2, maxBytes: 1 << 30 });
  t.equal(q.shard(0).replaying, false, 'a new queue replays nothing');
  const node = 'web-1';
  const i = q.shardOf(node);
  for (let n = 1; n <= 5; n++) q.append([batch(node, n * 1000, [n])], failDescribeAfter(n));
  q.sync();
  const s = q.shard(i);
  const first = s.peek(2)!;
  t.same(first.batches.map((b) => b.timestampMs), [1000, 2000]);
  s.confirm(first.end);
  t.same(s.peek(1)!.batches.map((b) => b.timestampMs), [3000], 'peeked, maybe sent, never confirmed');
  q.close();

  q = ForwardQueue.open({ dir, shards: 2, maxBytes: 1 << 30 });
  const r = q.shard(i);
  t.equal(r.replaying, true, 'the first request after open may repeat one the store took');
  const resumed = r.peek(1)!;
  t.same(resumed.batches.map((b) => b.timestampMs), [3000], 'exactly after the confirmed batch');
  t.equal(r.replaying, true);
  r.confirm(resumed.end);
  t.equal(r.replaying, false, 'later requests are not replays');
  t.same(drain(r).map((b) => b.timestampMs), [4000, 5000]);
  t.equal(q.shard(1 - i).replaying, false, 'an empty shard does not replay');
  q.close();

  q = ForwardQueue.open({ dir, shards: 2, maxBytes: 1 << 30 });
  t.teardown(() => q.close());
  t.equal(q.shard(i).replaying, false, 'drained before the restart: nothing to replay');
  t.equal(q.shard(i).peek(10), undefined);
});

/** A describe that answers for the ids a test appends, one new id per append. */
function failDescribeAfter(max: number): (id: number) => SeriesDescription {
  return (id) => (id <= max ? seriesOf(id) : failDescribe(id));
}

t.test('a torn tail loses only the record being written, and the queue still opens', async (t) => {
  const dir = tempDir(t);
  let q = ForwardQueue.open({ dir, shards: 1, maxBytes: 1 << 30 });
  for (let n = 1; n <= 3; n++) q.append([batch('n', n * 1000, [1, 2, 3])], seriesOf);
  q.sync();
  q.close();
  const [file] = segmentFiles(path.join(dir, 'shard-0'));
  fs.truncateSync(file, fs.statSync(file).size - 5);

  q = ForwardQueue.open({ dir, shards: 1, maxBytes: 1 << 30 });
  t.teardown(() => q.close());
  t.equal(q.stats().batches, 2);
  q.append([batch('n', 4000, [3, 4])], seriesOf);
  t.same(
    drain(q.shard(0)).map((b) => [b.timestampMs, b.series.map((s) => s.name)]),
    [
      [1000, ['metric_1', 'metric_2', 'metric_3']],
      [2000, ['metric_1', 'metric_2', 'metric_3']],
      [4000, ['metric_3', 'metric_4']],
    ],
  );
});

t.test('hasRoom turns false at maxBytes; confirming frees room; stats count what waits', async (t) => {
  let now = 50_000;
  const q = open(t, { dir: tempDir(t), shards: 2, maxBytes: 64 * 1024, segmentBytes: 8 * 1024, now: () => now });
  t.same(q.stats(), { bytes: 0, batches: 0, samples: 0, oldestAgeMs: null, unreadableRecords: 0 });
  const ids = Array.from({ length: 50 }, (_, i) => i);
  let ts = 10_000;
  let appended = 0;
  while (q.hasRoom()) {
    q.append([batch('a', ts, ids), batch('b', ts, ids)], seriesOf);
    ts += 1000;
    appended += 2;
  }
  q.sync();
  const full = q.stats();
  t.ok(full.bytes >= 64 * 1024, 'full at maxBytes');
  t.ok(full.bytes < 64 * 1024 + 4096, 'over by at most one append');
  t.equal(full.batches, appended);
  t.equal(full.samples, appended * ids.length);
  t.equal(full.oldestAgeMs, 40_000, 'now minus the oldest unconfirmed batch');
  now = 60_000;
  t.equal(q.stats().oldestAgeMs, 50_000, 'the age follows the injected clock');

  const s = q.shard(q.shardOf('a'));
  const p = s.peek(ids.length * 3)!;
  t.equal(p.batches.length, 3);
  t.equal(q.stats().batches, appended, 'peeking confirms nothing');
  s.confirm(p.end);
  t.equal(q.stats().batches, appended - 3);
  t.equal(q.stats().oldestAgeMs, 50_000, 'the other shard still holds a batch from 10 s');

  const other = q.shard(1 - q.shardOf('a'));
  const some = other.peek(ids.length * 20)!;
  other.confirm(some.end);
  t.ok(q.hasRoom(), 'room again once some segments are confirmed and released');
  drainAll(q);
  const empty = q.stats();
  t.ok(empty.bytes < 2 * (8 * 1024 + 4096), `a drained queue keeps at most each shard's active segment: ${empty.bytes} bytes`);
  t.same({ ...empty, bytes: 0 }, { bytes: 0, batches: 0, samples: 0, oldestAgeMs: null, unreadableRecords: 0 });
});

t.test('a drained shard of a full queue lets its active segment go', async (t) => {
  // Each shard's active segment holds half the bound: kept after draining, they would keep the
  // queue full for good (the log never deletes the segment taking appends on its own).
  const dir = tempDir(t);
  const q = open(t, { dir, shards: 2, maxBytes: 16 * 1024, segmentBytes: 16 * 1024 });
  const nodes = ['a', 'b', 'c', 'd', 'e'];
  const one = nodes.find((n) => q.shardOf(n) === 0)!;
  const two = nodes.find((n) => q.shardOf(n) === 1)!;
  const ids = Array.from({ length: 50 }, (_, i) => i);
  for (let ts = 1000; q.hasRoom(); ts += 1000) q.append([batch(one, ts, ids), batch(two, ts, ids)], seriesOf);
  t.same([0, 1].map((i) => segmentFiles(path.join(dir, `shard-${i}`)).length), [1, 1], 'all data in the active segments');
  const sizes = [0, 1].map((i) => fs.statSync(segmentFiles(path.join(dir, `shard-${i}`))[0]).size);
  drain(q.shard(0));
  t.ok(segmentFiles(path.join(dir, 'shard-0')).length === 0, 'the first shard drained while the queue was full: its segment goes');
  t.ok(q.hasRoom(), 'so room comes back');
  drain(q.shard(1));
  t.equal(q.stats().bytes, sizes[1], 'the second drained with room to spare: its active segment stays for more appends');
  q.append([batch(one, 1, [1])], seriesOf);
  t.same(drainAll(q).map((b) => b.series), [[seriesOf(1)]], 'the next append begins a segment with its definitions');
});

t.test('a drained shard confirmed while its sync runs lets its segment go only once the sync settled', async (t) => {
  const dir = tempDir(t);
  const q = open(t, { dir, shards: 2, maxBytes: 16 * 1024, segmentBytes: 16 * 1024 });
  const nodes = ['a', 'b', 'c', 'd', 'e'];
  const one = nodes.find((n) => q.shardOf(n) === 0)!;
  const two = nodes.find((n) => q.shardOf(n) === 1)!;
  const ids = Array.from({ length: 50 }, (_, i) => i);
  for (let ts = 1000; q.hasRoom(); ts += 1000) q.append([batch(one, ts, ids), batch(two, ts, ids)], seriesOf);
  const files = () => segmentFiles(path.join(dir, 'shard-0')).length;
  t.equal(files(), 1, 'all data in the active segment');
  // The sync's fdatasync runs on the thread pool with the active segment's descriptor.
  const syncing = q.syncAsync();
  drain(q.shard(0));
  t.equal(files(), 1, 'the segment stays while the sync runs');
  await syncing;
  t.equal(files(), 0, 'and goes once it settled');
  t.ok(q.hasRoom(), 'so room comes back');
  q.append([batch(one, 1, [1])], seriesOf);
  await q.syncAsync();
  t.same(drain(q.shard(0)).map((b) => b.series), [[seriesOf(1)]], 'appends and syncs go on in a new segment');
});

t.test('waitForData resolves on append, at once when data waits, and is abortable', async (t) => {
  const q = open(t, { dir: tempDir(t), shards: 1 });
  const s = q.shard(0);
  let woke = false;
  const waiting = s.waitForData().then(() => {
    woke = true;
  });
  await new Promise((r) => setImmediate(r));
  t.equal(woke, false, 'nothing appended yet');
  q.append([batch('n', 1000, [1])], seriesOf);
  await waiting;
  t.equal(woke, true);
  await s.waitForData();
  t.pass('resolves at once while data waits');

  const p = s.peek(10)!;
  const controller = new AbortController();
  const aborted = s.waitForData(controller.signal);
  controller.abort(new Error('stopping'));
  await t.rejects(aborted, { message: 'stopping' }, 'data already peeked does not count');
  await t.rejects(s.waitForData(controller.signal), { message: 'stopping' }, 'an aborted signal rejects at once');
  s.confirm(p.end);
  const next = s.waitForData();
  q.append([batch('n', 2000, [1])], seriesOf);
  await next;
  t.pass('woken by the next append');
});

t.test('a queue with batches keeps its shard count until drained', async (t) => {
  const dir = tempDir(t);
  let q = ForwardQueue.open({ dir, shards: 2, maxBytes: 1 << 30 });
  q.append([batch('a', 1000, [1]), batch('b', 1000, [2]), batch('c', 1000, [3])], seriesOf);
  q.sync();
  q.close();
  q = ForwardQueue.open({ dir, shards: 4, maxBytes: 1 << 30 });
  t.equal(q.shardCount, 2, 'moving nodes between shards now could reorder their series');
  t.equal(drainAll(q).length, 3);
  q.close();
  q = ForwardQueue.open({ dir, shards: 4, maxBytes: 1 << 30 });
  t.teardown(() => q.close());
  t.equal(q.shardCount, 4, 'empty: the configured count applies');
  t.same(fs.readdirSync(dir).sort(), ['shard-0', 'shard-1', 'shard-2', 'shard-3']);
});

t.test('memory stays bounded: the queue keeps positions, not batches', async (t) => {
  const gc = globalThis.gc ?? exposeGc();
  const q = open(t, { dir: tempDir(t), shards: 1, maxBytes: 1 << 30, segmentBytes: 4 * 1024 * 1024, fsync: false });
  const ids = Array.from({ length: 100 }, (_, i) => i);
  const used = (): number => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const commit = (i: number): void => q.append(Array.from({ length: 100 }, (_, j) => batch('n', 1 + i * 100 + j, ids)), seriesOf);
  // A first round warms up the code (and the test runner's own allocations) before measuring.
  for (let i = 0; i < 50; i++) commit(i);
  const before = used();
  for (let i = 50; i < 200; i++) commit(i);
  const grown = used() - before;
  t.ok(q.stats().bytes > 20 * 1024 * 1024, 'about 20 MiB queued');
  t.ok(grown < 2 * 1024 * 1024, `memory grew by ${grown} bytes while 15 000 batches were queued`);
  let batches = 0;
  const s = q.shard(0);
  for (let p = s.peek(2000); p !== undefined; p = s.peek(2000)) {
    batches += p.batches.length;
    s.confirm(p.end);
  }
  t.equal(batches, 20_000);
  t.ok(used() - before < 2 * 1024 * 1024, 'reading through keeps at most one segment of definitions');
});

function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

t.test('appending hundreds of batches with fsync takes milliseconds', async (t) => {
  const q = open(t, { dir: tempDir(t) });
  const ids = Array.from({ length: 60 }, (_, i) => i);
  const commit = (k: number): number => {
    const started = process.hrtime.bigint();
    q.append(Array.from({ length: 300 }, (_, j) => batch(`node-${j}`, 1000 + k, ids.map((id) => id + j * 100))), seriesOf);
    q.sync();
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  const first = commit(0);
  const times = Array.from({ length: 10 }, (_, k) => commit(k + 1)).sort((a, b) => a - b);
  t.comment(`300 batches x 60 samples: first (defining 18000 series) ${first.toFixed(1)} ms, then median ${times[5].toFixed(1)} ms`);
  t.ok(times[5] < 100, 'well inside a commit');
});

t.test('damaged records cost their batches, counted, and never stall the shard', async (t) => {
  const dir = tempDir(t);
  let q = ForwardQueue.open({ dir, shards: 1, maxBytes: 1 << 30 });
  q.append([batch('n', 1000, [1, 2])], seriesOf);
  q.append([batch('n', 2000, [1, 2])], seriesOf);
  q.append([batch('n', 3000, [3])], seriesOf);
  q.sync();
  q.close();
  // The first record is the definitions of series 1 and 2: flip a byte of its payload.
  const [file] = segmentFiles(path.join(dir, 'shard-0'));
  const bytes = fs.readFileSync(file);
  bytes[8 + 8 + 3] ^= 0xff;
  fs.writeFileSync(file, bytes);

  q = ForwardQueue.open({ dir, shards: 1, maxBytes: 1 << 30 });
  const s = q.shard(0);
  const p = s.peek(100)!;
  t.same(p.batches.map((b) => b.timestampMs), [3000], 'the batches that needed the lost definitions are skipped');
  s.confirm(p.end);
  t.equal(s.peek(100), undefined);
  const st = q.stats();
  t.equal(st.batches, 0);
  t.equal(st.unreadableRecords, 3, 'the damaged record and the two batches it left unnamed');

  // Damage while open: the batch is counted as waiting, but no read can return it.
  q.append([batch('n', 4000, [3])], seriesOf);
  q.append([batch('n', 5000, [3])], seriesOf);
  q.sync();
  const live = segmentFiles(path.join(dir, 'shard-0')).at(-1)!;
  const fd = fs.openSync(live, 'r+');
  const size = fs.fstatSync(fd).size;
  fs.writeSync(fd, Buffer.of(0xee), 0, 1, size - 3);
  fs.closeSync(fd);
  const four = s.peek(100)!;
  t.same(four.batches.map((b) => b.timestampMs), [4000]);
  s.confirm(four.end);
  t.equal(s.peek(100), undefined, 'nothing left to read');
  t.equal(q.stats().batches, 0, 'the count follows what the log still holds');
  let woke = false;
  void s.waitForData().then(() => (woke = true));
  await new Promise((r) => setImmediate(r));
  t.equal(woke, false, 'a sender waits instead of spinning on a batch it cannot read');
  q.close();
});
