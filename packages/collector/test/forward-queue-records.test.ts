import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import {
  decodeBatchRecord,
  decodeSeriesRecord,
  encodeBatchRecord,
  encodeSeriesRecord,
  QueueRecordError,
  recordKind,
  RECORD_BATCH,
  RECORD_SERIES,
  batchRecordHeader,
} from '../src/store/remote-write/queue-records';
import { fnv1a32, shardForNode } from '../src/store/remote-write/shard-for-node';
import { decodeCursor, encodeCursor, ShardCursor } from '../src/store/remote-write/shard-cursor';

t.test('series definitions round-trip, labels in order, any UTF-8', async (t) => {
  const defs = [
    { id: 4_000_000_000, series: { name: 'node_filesystem_avail_bytes', labels: [{ name: 'mountpoint', value: '/data/ü' }, { name: 'device', value: '' }] } },
    { id: 7, series: { name: 'up', labels: [] } },
    { id: 8, series: { name: 'x'.repeat(100_000), labels: [{ name: 'long', value: '€'.repeat(50_000) }] } },
  ];
  const payload = encodeSeriesRecord(defs);
  t.equal(recordKind(payload), RECORD_SERIES);
  t.same(decodeSeriesRecord(payload), defs, 'a record larger than the scratch buffer too');
  t.same(decodeSeriesRecord(encodeSeriesRecord([defs[1]])), [defs[1]], 'the scratch buffer is reused cleanly');
  t.same(decodeSeriesRecord(encodeSeriesRecord([])), []);
});

t.test('a damaged series record is refused, never over-allocated', async (t) => {
  const payload = encodeSeriesRecord([{ id: 1, series: { name: 'x', labels: [{ name: 'a', value: 'b' }] } }]);
  t.throws(() => decodeSeriesRecord(payload.subarray(0, payload.length - 1)), QueueRecordError);
  t.throws(() => decodeSeriesRecord(Buffer.concat([payload, Buffer.of(0)])), QueueRecordError);
  const manyDefs = Buffer.from(payload);
  manyDefs.writeUInt32LE(0x7fffffff, 1);
  t.throws(() => decodeSeriesRecord(manyDefs), QueueRecordError);
  const manyLabels = Buffer.from(payload);
  manyLabels.writeUInt32LE(0x7fffffff, 1 + 4 + 4 + 4 + 1);
  t.throws(() => decodeSeriesRecord(manyLabels), QueueRecordError);
});

t.test('a batch round-trips bit for bit, from unaligned views too', async (t) => {
  const values = Float64Array.of(1.5, -0, NaN, Infinity, 2 ** 53 + 2);
  const backing = new ArrayBuffer(4 + 5 * 4);
  const seriesIds = new Uint32Array(backing, 4, 5);
  seriesIds.set([1, 2, 3, 0xffffffff, 42]);
  const batch = { node: 'web-ü1', timestampMs: 1_764_000_000_123, seriesIds, values };
  const payload = encodeBatchRecord(batch);
  t.equal(recordKind(payload), RECORD_BATCH);
  t.same(batchRecordHeader(payload), { count: 5, timestampMs: batch.timestampMs });
  // Decode from an odd offset: the stored payload need not be aligned in its buffer.
  const shifted = Buffer.alloc(payload.length + 1);
  payload.copy(shifted, 1);
  const got = decodeBatchRecord(shifted.subarray(1));
  t.equal(got.node, 'web-ü1');
  t.equal(got.timestampMs, batch.timestampMs);
  t.same(Array.from(got.seriesIds), [1, 2, 3, 0xffffffff, 42]);
  t.same(Buffer.from(got.values.buffer), Buffer.from(values.buffer), 'values keep their exact bits (NaN, -0)');
  t.same(decodeBatchRecord(encodeBatchRecord({ node: 'a', timestampMs: 0, seriesIds: new Uint32Array(0), values: new Float64Array(0) })).values.length, 0);
});

t.test('a batch record whose length does not match its count is refused', async (t) => {
  const payload = encodeBatchRecord({ node: 'n', timestampMs: 1, seriesIds: Uint32Array.of(1, 2), values: Float64Array.of(1, 2) });
  t.throws(() => decodeBatchRecord(payload.subarray(0, payload.length - 8)), QueueRecordError);
  const lying = Buffer.from(payload);
  lying.writeUInt32LE(1000, 4);
  t.throws(() => decodeBatchRecord(lying), QueueRecordError);
  t.throws(() => batchRecordHeader(Buffer.of(RECORD_BATCH)), QueueRecordError);
  t.throws(() => encodeBatchRecord({ node: 'n', timestampMs: 1, seriesIds: Uint32Array.of(1), values: Float64Array.of(1, 2) }), QueueRecordError);
});

t.test('fnv1a is the standard 32-bit FNV-1a and a node always maps to one shard', async (t) => {
  t.equal(fnv1a32(''), 0x811c9dc5);
  t.equal(fnv1a32('a'), 0xe40c292c);
  t.equal(fnv1a32('foobar'), 0xbf9cf968);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const shard = shardForNode(`node-${i}`, 4);
    t.equal(shardForNode(`node-${i}`, 4), shard);
    t.ok(shard >= 0 && shard < 4);
    seen.add(shard);
  }
  t.equal(seen.size, 4, 'nodes spread over every shard');
});

t.test('the cursor file keeps the position; a damaged or missing one reads as none', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-cursor-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'cursor');
  const first = ShardCursor.open(file);
  t.equal(first.saved, undefined, 'a new file holds no position');
  first.write({ segment: 3, offset: 1234 });
  first.write({ segment: 4, offset: 8 });
  first.close();
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  const again = ShardCursor.open(file);
  t.same(again.saved, { segment: 4, offset: 8 }, 'the last write wins, in place');
  again.close();

  const bytes = encodeCursor({ segment: 9, offset: 77 });
  t.same(decodeCursor(bytes), { segment: 9, offset: 77 });
  const flipped = Buffer.from(bytes);
  flipped[5] ^= 1;
  t.equal(decodeCursor(flipped), undefined, 'a flipped bit is caught by the checksum');
  t.equal(decodeCursor(bytes.subarray(0, 8)), undefined, 'a short file');
  fs.writeFileSync(file, 'garbage garbage!');
  const damaged = ShardCursor.open(file);
  t.equal(damaged.saved, undefined);
  damaged.close();
});
