import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes, createLogger, encodeRecord, type Logger } from '@ximp/shared';
import { Spool, type SpoolOptions, type SpooledBatch } from '../src/spool';
import { SEGMENT_HEADER, SEGMENT_HEADER_V1, SEGMENT_START_BYTES, batchRecordBytes, encodeBatch, encodeStreamRecord } from '../src/spool-segment';
import { SeriesTable } from '../src/series-table';

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-spool-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A logger whose JSON lines land in `lines`. */
function captureLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ name: 'test', level: 'debug', destination: { write: (s: string) => lines.push(JSON.parse(s)) } });
  return { log, lines };
}

async function openSpool(options: Partial<SpoolOptions> & { dir: string }): Promise<Spool> {
  const spool = new Spool({ maxBytes: 1024 * 1024, fsync: false, ...options });
  await spool.open();
  t.teardown(() => spool.close());
  return spool;
}

function batch(sequence: number, samples = 3): SpooledBatch {
  return {
    sequence,
    timestampUnixMs: 1_700_000_000_000 + sequence * 10_000,
    seriesIds: Array.from({ length: samples }, (_, i) => i + 1),
    values: Array.from({ length: samples }, (_, i) => sequence * 1000 + i + 0.5),
  };
}

async function appendRange(spool: Spool, from: number, to: number, samples = 3): Promise<void> {
  for (let s = from; s <= to; s++) await spool.append(batch(s, samples));
}

const sequences = (spool: Spool): number[] => spool.pending().map((b) => b.sequence);
const segmentFiles = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();

t.test('open creates the directory 0700 with a fresh stream', async (t) => {
  const dir = path.join(tempDir(), 'var', 'spool');
  const spool = await openSpool({ dir });
  t.equal(fs.statSync(dir).mode & 0o777, 0o700);
  t.match(spool.streamId, /^[A-Za-z0-9_-]{16,}$/);
  t.equal(spool.nextSequence(), 1);
  t.equal(spool.ackedSequence(), 0);
  t.equal(spool.pendingCount(), 0);
  t.same(spool.pending(), []);
  t.equal(spool.droppedTotal, 0);
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'stream.json'), 'utf8'));
  t.equal(state.streamId, spool.streamId);
  t.equal(fs.statSync(path.join(dir, 'stream.json')).mode & 0o777, 0o600);
});

t.test('an existing directory open to others is tightened to 0700', async (t) => {
  const dir = path.join(tempDir(), 'spool');
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  await openSpool({ dir });
  t.equal(fs.statSync(dir).mode & 0o777, 0o700);
});

t.test('append, pending and ack round-trip', async (t) => {
  const spool = await openSpool({ dir: tempDir() });
  const b1 = { sequence: 1, timestampUnixMs: 1000, seriesIds: [1, 2, 3, 4], values: [Number.NaN, -0, Infinity, 1.25] };
  await spool.append(b1);
  await appendRange(spool, 2, 5);
  t.equal(spool.nextSequence(), 6);
  t.equal(spool.pendingCount(), 5);
  t.equal(spool.pendingBytes(), batchRecordBytes(4) + 4 * batchRecordBytes(3));
  const all = spool.pending();
  t.same(all.map((b) => b.sequence), [1, 2, 3, 4, 5]);
  t.ok(Object.is(all[0].values[0], Number.NaN) && Object.is(all[0].values[1], -0));
  t.same(all[0].seriesIds, [1, 2, 3, 4]);
  t.same(all[3], batch(4));
  t.same(sequences(spool), [1, 2, 3, 4, 5]);
  t.same(spool.pending(2).map((b) => b.sequence), [3, 4, 5], 'after a sequence');
  t.same(spool.pending(2, 2).map((b) => b.sequence), [3, 4], 'at most maxBatches');
  t.same(spool.pending(5), []);

  await spool.ack(3);
  t.equal(spool.ackedSequence(), 3);
  t.same(sequences(spool), [4, 5]);
  t.equal(spool.pendingBytes(), 2 * batchRecordBytes(3));
  await spool.ack(2); // an older ack changes nothing
  t.same(sequences(spool), [4, 5]);
  await spool.ack(5);
  t.equal(spool.pendingCount(), 0);
  t.equal(spool.pendingBytes(), 0);
  t.equal(spool.nextSequence(), 6);
});

t.test('append refuses bad batches with codes and keeps going', async (t) => {
  const spool = await openSpool({ dir: tempDir(), maxBytes: 4096 });
  const invalid = { code: ErrorCodes.SPOOL_INVALID_BATCH };
  await spool.append(batch(1));
  await t.rejects(spool.append(batch(1)), invalid, 'same sequence again');
  await t.rejects(spool.append({ ...batch(2), values: [1] }), invalid, 'ids and values differ in length');
  await t.rejects(spool.append(batch(2, 1000)), invalid, 'larger than maxBytes');
  await spool.append(batch(2));
  t.same(sequences(spool), [1, 2]);
  await spool.close();
  await spool.close();
  await t.rejects(spool.append(batch(3)), { code: ErrorCodes.SPOOL_CLOSED });
  const unopened = new Spool({ dir: tempDir(), maxBytes: 4096 });
  await t.rejects(unopened.append(batch(1)), { code: ErrorCodes.SPOOL_CLOSED });
  await unopened.close();
});

t.test('a failed write rejects with XIMP_ERR_SPOOL_IO, gives the sequence back, and the spool keeps going', async (t) => {
  const dir = path.join(tempDir(), 'spool');
  const aside = `${dir}.aside`;
  const { log, lines } = captureLog();
  // One record per segment, so every append creates a file.
  const spool = await openSpool({ dir, log, segmentBytes: SEGMENT_START_BYTES + batchRecordBytes(3) });
  await spool.append(batch(1));
  fs.renameSync(dir, aside); // the next segment cannot be created
  await t.rejects(spool.append(batch(2)), { code: ErrorCodes.SPOOL_IO });
  t.ok(lines.some((l) => l.msg === 'spool append failed'));
  t.equal(spool.nextSequence(), 2, 'the failed sequence is free again');
  fs.renameSync(aside, dir);
  await spool.append(batch(2));
  t.same(sequences(spool), [1, 2]);
  await spool.close();
  const again = await openSpool({ dir });
  t.same(sequences(again), [1, 2]);
});

t.test('a segment file that vanished is skipped on read-back, never thrown', async (t) => {
  const dir = tempDir();
  const { log, lines } = captureLog();
  const spool = await openSpool({ dir, log, segmentBytes: SEGMENT_START_BYTES + 2 * batchRecordBytes(3) });
  await appendRange(spool, 1, 5);
  fs.rmSync(path.join(dir, segmentFiles(dir)[0]));
  t.same(sequences(spool), [3, 4, 5]);
  t.ok(lines.some((l) => l.msg === 'spool segment unreadable, skipped'));
});

t.test('concurrent appends are group-committed, durable and in order', async (t) => {
  const dir = tempDir();
  const spool = new Spool({ dir, maxBytes: 1024 * 1024, fsync: true });
  await spool.open();
  const resolved: number[] = [];
  await Promise.all(
    Array.from({ length: 200 }, (_, i) => spool.append(batch(i + 1)).then(() => resolved.push(i + 1))),
  );
  t.same(resolved, Array.from({ length: 200 }, (_, i) => i + 1), 'promises resolve in append order');
  t.same(sequences(spool), resolved);
  await spool.close();
  const again = await openSpool({ dir });
  t.same(sequences(again), resolved);
});

t.test('a restart keeps pending batches, stream id, next sequence and series ids', async (t) => {
  const dir = tempDir();
  const first = await openSpool({ dir });
  const cpu = first.seriesTable.idFor('node_cpu_seconds_total', { cpu: '0', mode: 'idle' });
  const load = first.seriesTable.idFor('node_load1', {});
  await first.append({ sequence: 1, timestampUnixMs: 1000, seriesIds: [cpu, load], values: [1, 2] });
  await first.append({ sequence: 2, timestampUnixMs: 2000, seriesIds: [cpu, load], values: [3, 4] });
  await first.append({ sequence: 3, timestampUnixMs: 3000, seriesIds: [cpu, load], values: [5, 6] });
  await first.ack(1);
  const streamId = first.streamId;
  await first.close();

  const second = await openSpool({ dir });
  t.equal(second.streamId, streamId);
  t.equal(second.nextSequence(), 4);
  t.equal(second.ackedSequence(), 1);
  t.same(second.pending(), [
    { sequence: 2, timestampUnixMs: 2000, seriesIds: [cpu, load], values: [3, 4] },
    { sequence: 3, timestampUnixMs: 3000, seriesIds: [cpu, load], values: [5, 6] },
  ]);
  t.equal(second.seriesTable.idFor('node_load1', {}), load);
  t.equal(second.seriesTable.idFor('node_cpu_seconds_total', { mode: 'idle', cpu: '0' }), cpu);
  t.equal(second.seriesTable.definition(cpu)?.name, 'node_cpu_seconds_total');

  // Everything acknowledged: no segment is left, yet the sequence still continues.
  await second.append(batch(4));
  await second.ack(4);
  await second.close();
  t.same(segmentFiles(dir), [], 'fully acknowledged segments are gone after close');
  const third = await openSpool({ dir });
  t.equal(third.streamId, streamId);
  t.equal(third.nextSequence(), 5);
  t.equal(third.pendingCount(), 0);
});

t.test('series defined just before an append are durable with it', async (t) => {
  const dir = tempDir();
  const first = await openSpool({ dir });
  const id = first.seriesTable.idFor('node_boot_time_seconds', {});
  t.ok(first.seriesTable.dirty);
  await first.append({ sequence: 1, timestampUnixMs: 1, seriesIds: [id], values: [1] });
  t.notOk(first.seriesTable.dirty, 'append flushed the new definition first');
  // Simulate a crash: copy the directory as it is now, without close().
  const copy = path.join(tempDir(), 'copy');
  fs.cpSync(dir, copy, { recursive: true });
  const second = await openSpool({ dir: copy });
  t.equal(second.seriesTable.definition(id)?.name, 'node_boot_time_seconds');
  t.same(sequences(second), [1]);
});

t.test('a torn tail is repaired and the earlier batches survive', async (t) => {
  const dir = tempDir();
  const first = await openSpool({ dir });
  await appendRange(first, 1, 5);
  await first.close();
  const [last] = segmentFiles(dir).slice(-1);
  const file = path.join(dir, last);
  const size = fs.statSync(file).size;
  fs.truncateSync(file, size - 5);

  const { log, lines } = captureLog();
  const second = await openSpool({ dir, log });
  t.same(sequences(second), [1, 2, 3, 4]);
  t.equal(second.droppedTotal, 0, 'a record that was never complete is not counted as dropped');
  t.equal(fs.statSync(file).size, size - batchRecordBytes(3), 'the partial record is cut off');
  t.ok(lines.some((l) => l.msg === 'spool tail repaired' && l.level === 40));
  t.equal(second.nextSequence(), 5);
  await second.append(batch(5));
  await second.close();

  const third = await openSpool({ dir });
  t.same(sequences(third), [1, 2, 3, 4, 5]);
});

t.test('garbage appended after the last record is cut off', async (t) => {
  const dir = tempDir();
  const first = await openSpool({ dir });
  await appendRange(first, 1, 3);
  await first.close();
  const file = path.join(dir, segmentFiles(dir).slice(-1)[0]);
  const size = fs.statSync(file).size;
  fs.appendFileSync(file, Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]));
  const second = await openSpool({ dir });
  t.same(sequences(second), [1, 2, 3]);
  t.equal(fs.statSync(file).size, size);
  t.equal(second.droppedTotal, 0);
});

t.test('a zero-filled tail (crash after the file grew) is cut off', async (t) => {
  const dir = tempDir();
  const first = await openSpool({ dir });
  await appendRange(first, 1, 3);
  await first.close();
  const file = path.join(dir, segmentFiles(dir).slice(-1)[0]);
  fs.appendFileSync(file, Buffer.alloc(4096));
  const second = await openSpool({ dir });
  t.same(sequences(second), [1, 2, 3]);
});

t.test('a flipped byte in a record is caught by the checksum: that batch is dropped and counted', async (t) => {
  const dir = tempDir();
  const record = batchRecordBytes(3);
  // Three records per segment.
  const first = await openSpool({ dir, segmentBytes: SEGMENT_START_BYTES + 3 * record });
  await appendRange(first, 1, 9);
  await first.close();
  t.equal(segmentFiles(dir).length, 3);

  const file = path.join(dir, segmentFiles(dir)[0]);
  const image = fs.readFileSync(file);
  image[SEGMENT_START_BYTES + record + 30] ^= 0x40; // inside the payload of sequence 2
  fs.writeFileSync(file, image);

  const { log, lines } = captureLog();
  const second = await openSpool({ dir, log });
  t.same(sequences(second), [1, 3, 4, 5, 6, 7, 8, 9]);
  t.equal(second.droppedTotal, 1);
  t.ok(lines.some((l) => l.msg === 'spool batches unreadable, dropped' && l.dropped === 1));
  await second.close();
  const third = await openSpool({ dir });
  t.equal(third.droppedTotal, 1, 'the count is persisted');
});

t.test('a damaged length ends that segment: the rest of it is counted from the sequence gap', async (t) => {
  const dir = tempDir();
  const record = batchRecordBytes(3);
  const first = await openSpool({ dir, segmentBytes: SEGMENT_START_BYTES + 3 * record });
  await appendRange(first, 1, 9);
  await first.close();

  const file = path.join(dir, segmentFiles(dir)[1]); // sequences 4, 5, 6
  const image = fs.readFileSync(file);
  image.writeUInt32LE(0x7fffffff, SEGMENT_START_BYTES + record); // length of sequence 5
  fs.writeFileSync(file, image);

  const { log, lines } = captureLog();
  const second = await openSpool({ dir, log });
  t.same(sequences(second), [1, 2, 3, 4, 7, 8, 9]);
  t.equal(second.droppedTotal, 2);
  t.ok(lines.some((l) => l.msg === 'spool segment damaged, rest of it skipped'));
  t.equal(fs.statSync(file).size, image.length, 'a damaged segment in the middle is left as it is');
});

t.test('damage that appears after open is skipped on read-back, never thrown', async (t) => {
  const dir = tempDir();
  const { log, lines } = captureLog();
  const spool = await openSpool({ dir, log });
  await appendRange(spool, 1, 3);
  const file = path.join(dir, segmentFiles(dir)[0]);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from([0xff]), 0, 1, SEGMENT_START_BYTES + batchRecordBytes(3) + 20);
  fs.closeSync(fd);
  t.equal(spool.droppedTotal, 0);
  t.same(sequences(spool), [1, 3]);
  t.ok(lines.some((l) => l.msg === 'spool record unreadable, skipped' && l.sequence === 2));
  t.equal(spool.droppedTotal, 1, 'the unreadable record counts as dropped');
  t.same(sequences(spool), [1, 3]);
  t.equal(spool.droppedTotal, 1, 'once, however often it is read');
  await spool.ack(3);
  t.equal(spool.pendingCount(), 0);
  t.equal(JSON.parse(fs.readFileSync(path.join(dir, 'stream.json'), 'utf8')).droppedTotal, 1, 'and persisted');
});

t.test('the newest batch goes out as appended, once; a resend and any older batch are read back from disk', async (t) => {
  const dir = tempDir();
  const { log, lines } = captureLog();
  const spool = await openSpool({ dir, log });
  await appendRange(spool, 1, 3);
  damageRecords(dir, [0, 1, 2]);
  t.same(spool.pending(2), [batch(3)], 'the newest batch, from memory: nothing on disk was read for it');
  t.equal(spool.droppedTotal, 0);
  t.same(spool.pending(2), [], 'sent again (a reconnect), it is read back and found damaged');
  t.same(spool.pending(), [], 'the older batches were never held in memory');
  t.equal(spool.droppedTotal, 3, 'each damaged record counted once');
  t.same(lines.filter((l) => l.msg === 'spool record unreadable, skipped').map((l) => l.sequence), [3, 1, 2]);

  // A group appended together (one write, one fsync) is held together.
  const dir2 = tempDir();
  const second = await openSpool({ dir: dir2 });
  await Promise.all([second.append(batch(1)), second.append(batch(2))]);
  damageRecords(dir2, [0, 1]);
  t.same(second.pending(), [batch(1), batch(2)], 'both batches of the group, from memory');
});

/** Flips a byte inside each of the given records (by index) of the first segment of `dir`. */
function damageRecords(dir: string, records: number[]): void {
  const fd = fs.openSync(path.join(dir, segmentFiles(dir)[0]), 'r+');
  for (const k of records) fs.writeSync(fd, Buffer.from([0xff]), 0, 1, SEGMENT_START_BYTES + k * batchRecordBytes(3) + 20);
  fs.closeSync(fd);
}

t.test('reaching maxBytes drops the oldest batches, counts them and warns', async (t) => {
  const dir = tempDir();
  const record = batchRecordBytes(10);
  const segmentBytes = SEGMENT_START_BYTES + 4 * record;
  const maxBytes = 4 * segmentBytes;
  const { log, lines } = captureLog();
  const spool = await openSpool({ dir, maxBytes, segmentBytes, log });
  const total = 100;
  let largest = 0;
  for (let s = 1; s <= total; s++) {
    await spool.append(batch(s, 10));
    largest = Math.max(largest, spool.diskBytes());
  }
  t.ok(largest <= maxBytes, `disk bytes stay within the bound (at most ${largest} <= ${maxBytes})`);
  const diskSize = segmentFiles(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
  t.ok(diskSize <= maxBytes, `files on disk take ${diskSize} <= ${maxBytes}`);
  const left = sequences(spool);
  t.equal(left[left.length - 1], total, 'the newest batch is kept');
  t.same(left, Array.from({ length: left.length }, (_, i) => total - left.length + 1 + i), 'a contiguous newest run');
  t.ok(left.length >= 12, `most of the bound is used (${left.length} batches)`);
  t.equal(spool.droppedTotal + left.length, total, 'every batch is either pending or counted');
  const warnings = lines.filter((l) => l.msg === 'spool full, dropped oldest batches');
  t.ok(warnings.length > 0);
  t.equal(warnings.reduce((sum, l) => sum + (l.dropped as number), 0), spool.droppedTotal);
  await spool.close();

  const again = await openSpool({ dir, maxBytes, segmentBytes });
  t.equal(again.droppedTotal, total - left.length, 'the dropped count survives a restart');
  t.same(sequences(again), left);
  t.equal(again.nextSequence(), total + 1);
});

t.test('a smaller maxBytes at open trims the oldest segments', async (t) => {
  const dir = tempDir();
  const record = batchRecordBytes(3);
  const segmentBytes = SEGMENT_START_BYTES + 2 * record;
  const first = await openSpool({ dir, segmentBytes });
  await appendRange(first, 1, 10);
  await first.close();
  const second = await openSpool({ dir, segmentBytes, maxBytes: 2 * segmentBytes });
  t.same(sequences(second), [7, 8, 9, 10]);
  t.equal(second.droppedTotal, 6);
});

t.test('fully acknowledged segments are deleted from disk', async (t) => {
  const dir = tempDir();
  const record = batchRecordBytes(3);
  const spool = await openSpool({ dir, segmentBytes: SEGMENT_START_BYTES + 2 * record });
  await appendRange(spool, 1, 10);
  t.equal(segmentFiles(dir).length, 5);
  await spool.ack(3);
  t.equal(segmentFiles(dir).length, 4, 'the segment of 1 and 2 is gone, the one holding 4 stays');
  await spool.ack(10);
  t.equal(segmentFiles(dir).length, 1, 'only the segment still open for appends is left');
  await appendRange(spool, 11, 12);
  await spool.ack(11);
  t.same(sequences(spool), [12]);
  await spool.close();
  t.equal(segmentFiles(dir).length, 1, 'the segment holding 12 stays');
  const again = await openSpool({ dir });
  t.same(sequences(again), [12]);
});

t.test('a lost series table starts a new stream rather than mislabel pending batches', async (t) => {
  const dir = tempDir();
  const first = await openSpool({ dir });
  first.seriesTable.idFor('node_load1', {});
  await appendRange(first, 1, 4);
  const oldStream = first.streamId;
  await first.close();
  fs.rmSync(path.join(dir, 'series.log'));

  const { log, lines } = captureLog();
  const second = await openSpool({ dir, log });
  t.not(second.streamId, oldStream);
  t.equal(second.pendingCount(), 0);
  t.equal(second.droppedTotal, 4);
  t.equal(second.nextSequence(), 1);
  t.same(segmentFiles(dir), []);
  t.ok(lines.some((l) => l.msg === 'spool series table lost, starting a new stream'));
});

t.test('a drained spool starts a new stream with an empty series table; a pending one refuses', async (t) => {
  const dir = tempDir();
  const { log, lines } = captureLog();
  const segmentBytes = SEGMENT_START_BYTES + 4 * batchRecordBytes(3);
  const small = { maxBytes: 4 * segmentBytes, segmentBytes };
  const spool = await openSpool({ dir, ...small, log });
  for (let i = 0; i < 50; i++) spool.seriesTable.idFor('node_gone', { i: String(i) });
  await appendRange(spool, 1, 30);
  const dropped = spool.droppedTotal;
  t.ok(dropped > 0, `the small spool dropped ${dropped} batches`);
  const oldStream = spool.streamId;
  t.equal(await spool.startNewStream(), false, 'refused while batches are pending');
  t.equal(spool.streamId, oldStream);
  t.equal(spool.seriesTable.count, 50, 'nothing changed');

  await spool.ack(30);
  t.equal(await spool.startNewStream(), true);
  t.not(spool.streamId, oldStream);
  t.equal(spool.seriesTable.count, 0, 'the old series are forgotten');
  t.equal(spool.nextSequence(), 1, 'sequences start again');
  t.equal(spool.ackedSequence(), 0);
  t.equal(spool.droppedTotal, dropped, 'the drop count carries over: it never goes back');
  t.same(segmentFiles(dir), []);
  t.equal(fs.statSync(path.join(dir, 'series.log')).size < 64, true, 'the series log is new');
  t.ok(lines.some((l) => l.msg === 'spool started a new stream' && l.series_dropped === 50));

  t.equal(spool.seriesTable.idFor('node_load1', {}), 1, 'ids start again at 1');
  await appendRange(spool, 1, 2);
  const newStream = spool.streamId;
  await spool.close();
  const again = await openSpool({ dir, ...small });
  t.equal(again.streamId, newStream, 'the new stream survives a restart');
  t.same(sequences(again), [1, 2]);
  t.equal(again.seriesTable.count, 1);
  t.same(again.seriesTable.definition(1), { id: 1, name: 'node_load1', labels: [] });
});

for (const [damage, spoil] of [
  ['lost', (file: string) => fs.rmSync(file)],
  ['unreadable', (file: string) => fs.writeFileSync(file, '{"version":1,"streamId":')],
] as const) {
  t.test(`a ${damage} stream.json keeps the stream id from the segments, so nothing acknowledged goes out under a new one`, async (t) => {
    const dir = tempDir();
    const { log, lines } = captureLog();
    // Two batches a segment: 1-2, 3-4, 5; acknowledging 3 deletes the first and leaves one partly acknowledged.
    const first = await openSpool({ dir, segmentBytes: SEGMENT_START_BYTES + 2 * batchRecordBytes(3) });
    await appendRange(first, 1, 5);
    await first.ack(3);
    const oldStream = first.streamId;
    await first.close();
    t.equal(segmentFiles(dir).length, 2, 'a partly acknowledged segment remains');
    spoil(path.join(dir, 'stream.json'));

    const second = await openSpool({ dir, log });
    t.equal(second.streamId, oldStream, 'the same stream: the collector drops what it already stored');
    t.ok(lines.some((l) => l.msg === 'spool stream state lost, stream recovered from its segments'));
    t.same(sequences(second), [3, 4, 5], 'nothing unacknowledged is lost (3 was acknowledged after its segment began)');
    t.equal(second.nextSequence(), 6, 'sequences go on, never reused');
    await second.ack(3); // what the collector's Welcome for this stream says
    t.same(sequences(second), [4, 5]);
    t.equal(JSON.parse(fs.readFileSync(path.join(dir, 'stream.json'), 'utf8')).streamId, oldStream, 'stream.json is written again');
  });
}

t.test('a lost stream.json with no segment left begins a new stream: nothing is pending', async (t) => {
  const dir = tempDir();
  const first = await openSpool({ dir });
  await appendRange(first, 1, 3);
  await first.ack(3);
  const oldStream = first.streamId;
  await first.close();
  t.same(segmentFiles(dir), [], 'every segment was acknowledged and deleted');
  fs.rmSync(path.join(dir, 'stream.json'));
  const second = await openSpool({ dir });
  t.not(second.streamId, oldStream);
  t.equal(second.nextSequence(), 1);
  t.equal(second.pendingCount(), 0);
});

t.test('every segment begins with a stream record naming its stream', async (t) => {
  const dir = tempDir();
  const spool = await openSpool({ dir });
  await appendRange(spool, 1, 1);
  const image = fs.readFileSync(path.join(dir, segmentFiles(dir)[0]));
  t.equal(image.length, SEGMENT_START_BYTES + batchRecordBytes(3));
  t.ok(image.includes(Buffer.from(spool.streamId, 'latin1')), 'the stream id is in the segment');
});

t.test('segments of an older agent (format 1, no stream record) are still read', async (t) => {
  const dir = tempDir();
  const first = await openSpool({ dir });
  await appendRange(first, 1, 3);
  const oldStream = first.streamId;
  await first.close();
  const file = path.join(dir, segmentFiles(dir)[0]);
  const image = fs.readFileSync(file);
  fs.writeFileSync(file, Buffer.concat([SEGMENT_HEADER_V1, image.subarray(SEGMENT_START_BYTES)]));
  const second = await openSpool({ dir });
  t.equal(second.streamId, oldStream, 'stream.json names the stream');
  t.same(sequences(second), [1, 2, 3]);
  t.equal(second.droppedTotal, 0, 'no damage');
});

t.test('a spool directory as earlier agents wrote it opens unchanged (same header, records and names)', async (t) => {
  const dir = tempDir();
  const streamId = 'AbCdEfGhIjKlMnOpQrStUv';
  const table = new SeriesTable({ file: path.join(dir, 'series.log'), fsync: false });
  await table.open();
  table.idFor('node_load1', {});
  await table.close();
  fs.writeFileSync(path.join(dir, 'stream.json'), `${JSON.stringify({ version: 1, streamId, ackedSequence: 1, droppedTotal: 4, checkedSequence: 0 })}\n`);
  // Byte for byte what the spool wrote before its log moved to @ximp/shared.
  const stream = encodeRecord(encodeStreamRecord({ streamId, ackedSequence: 0, droppedTotal: 4 }));
  const records = [1, 2, 3].map((s) => encodeRecord(encodeBatch(batch(s))));
  fs.writeFileSync(path.join(dir, '0000000000000007.seg'), Buffer.concat([SEGMENT_HEADER, stream, ...records]));
  fs.writeFileSync(path.join(dir, '0000000000000008.seg'), Buffer.concat([SEGMENT_HEADER, stream, encodeRecord(encodeBatch(batch(4)))]));

  const spool = await openSpool({ dir });
  t.equal(spool.streamId, streamId);
  t.same(spool.pending(), [batch(2), batch(3), batch(4)]);
  t.equal(spool.droppedTotal, 4);
  t.equal(spool.nextSequence(), 5);
  await spool.append(batch(5));
  t.same(segmentFiles(dir), ['0000000000000007.seg', '0000000000000008.seg', '0000000000000009.seg'], 'new segments go on numbering');
  await spool.ack(4);
  t.same(segmentFiles(dir), ['0000000000000009.seg']);
  t.same(sequences(spool), [5]);
});

t.test('drops counted outside a write (a failed cycle) are reported and persisted', async (t) => {
  const dir = tempDir();
  const spool = await openSpool({ dir });
  spool.countDropped(2);
  spool.countDropped(0);
  t.equal(spool.droppedTotal, 2);
  await spool.close();
  t.equal(JSON.parse(fs.readFileSync(path.join(dir, 'stream.json'), 'utf8')).droppedTotal, 2);
});

type Tap = { teardown(fn: () => unknown): void };

/** Makes FileHandle#writeFile (the temporary copy of stream.json) fail with `code` until restored. */
async function failStateCopies(t: Tap, dir: string, code: string): Promise<() => void> {
  const probe = await fs.promises.open(path.join(dir, '.probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { writeFile: (...args: unknown[]) => Promise<void> };
  await probe.close();
  fs.rmSync(path.join(dir, '.probe'));
  const original = proto.writeFile;
  proto.writeFile = () => Promise.reject(Object.assign(new Error(`${code}: injected`), { code }));
  const restore = () => {
    proto.writeFile = original;
  };
  t.teardown(restore);
  return restore;
}

t.test('an ack whose watermark cannot be written deletes nothing until it can', async (t) => {
  const dir = tempDir();
  const spool = await openSpool({ dir, segmentBytes: SEGMENT_START_BYTES + 2 * batchRecordBytes(3) });
  await appendRange(spool, 1, 5);
  const restore = await failStateCopies(t, dir, 'EIO');
  await t.rejects(spool.ack(4), { code: ErrorCodes.SPOOL_IO });
  t.equal(segmentFiles(dir).length, 3, 'no segment deleted: stream.json still says 0');
  t.same(sequences(spool), [5], 'in memory the ack holds');
  restore();
  await spool.ack(5);
  t.equal(segmentFiles(dir).length, 1, 'deleted once the watermark is written (the newest stays open)');
  t.equal(JSON.parse(fs.readFileSync(path.join(dir, 'stream.json'), 'utf8')).ackedSequence, 5);
});

t.test('on a full disk the watermark is written in place, without a temporary copy', async (t) => {
  const dir = tempDir();
  // One batch per segment: the ack frees segments, so its watermark must be written.
  const spool = await openSpool({ dir, segmentBytes: SEGMENT_START_BYTES + batchRecordBytes(3) });
  await appendRange(spool, 1, 3);
  await failStateCopies(t, dir, 'ENOSPC');
  await spool.ack(2);
  t.equal(JSON.parse(fs.readFileSync(path.join(dir, 'stream.json'), 'utf8')).ackedSequence, 2);
  t.notOk(fs.existsSync(path.join(dir, 'stream.json.tmp')) && fs.statSync(path.join(dir, 'stream.json.tmp')).size > 0);
});

t.test('throughput', async (t) => {
  for (const fsync of [true, false]) {
    const spool = new Spool({ dir: tempDir(), maxBytes: 64 * 1024 * 1024, fsync });
    await spool.open();
    const samples = 300; // about what one node produces per interval
    let sequence = 0;
    const started = process.hrtime.bigint();
    const deadline = Date.now() + 200;
    while (Date.now() < deadline) await spool.append(batch(++sequence, samples));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const serial = sequence;
    const groupStarted = process.hrtime.bigint();
    const burst: Promise<void>[] = [];
    for (let i = 0; i < 500; i++) burst.push(spool.append(batch(++sequence, samples)));
    await Promise.all(burst);
    const groupSeconds = Number(process.hrtime.bigint() - groupStarted) / 1e9;
    const readStarted = process.hrtime.bigint();
    const read = spool.pending().length;
    const readSeconds = Number(process.hrtime.bigint() - readStarted) / 1e9;
    t.equal(read, sequence);
    t.comment(
      `fsync=${fsync}, ${samples} samples/batch: ${Math.round(serial / seconds)} appends/s one at a time, ` +
        `${Math.round(500 / groupSeconds)} appends/s concurrent (group commit), ` +
        `${Math.round(read / readSeconds)} batches/s read back`,
    );
    await spool.close();
  }
});
