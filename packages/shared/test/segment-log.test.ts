import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '../src/errors';
import {
  FILE_HEADER_BYTES,
  SegmentLog,
  comparePositions,
  fileHeader,
  recordBytes,
  type LogPosition,
  type SegmentLogOptions,
} from '../src/segment-log/index';

type Tap = { teardown(fn: () => unknown): void };

function tempDir(t: Tap): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-segment-log-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function openLog(t: Tap, options: Partial<SegmentLogOptions> & { dir: string }): SegmentLog {
  const log = SegmentLog.open({ magic: 'XTESTL', maxBytes: 1024 * 1024, whenFull: 'refuse', fsync: false, ...options });
  t.teardown(() => log.close());
  return log;
}

/** Payload `n` is 10 bytes: "record" and n as 4 digits. */
const payload = (n: number): Buffer => Buffer.from(`record${String(n).padStart(4, '0')}`);
const RECORD = recordBytes(10);
const texts = (log: SegmentLog, from: LogPosition = log.start(), max = 1_000_000): string[] =>
  log.read(from, max).map((r) => r.payload.toString());
const range = (from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => payload(from + i).toString());
const segmentFiles = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();

t.test('append and read round-trip; files are private and start with the header', async (t) => {
  const dir = path.join(tempDir(t), 'a', 'log');
  const log = openLog(t, { dir, fsync: true, version: 3 });
  t.same(log.start(), log.end(), 'an empty log starts where it ends');
  const first = log.append([payload(1), payload(2)]);
  const second = log.append([payload(3)]);
  log.sync();
  t.equal(first.segment, 1);
  t.same(first.positions, [
    { segment: 1, offset: FILE_HEADER_BYTES },
    { segment: 1, offset: FILE_HEADER_BYTES + RECORD },
  ]);
  t.same(second.positions, [{ segment: 1, offset: FILE_HEADER_BYTES + 2 * RECORD }]);
  t.same(log.end(), { segment: 1, offset: FILE_HEADER_BYTES + 3 * RECORD });
  t.equal(log.sizeBytes(), FILE_HEADER_BYTES + 3 * RECORD);

  const records = log.read(log.start(), 10);
  t.same(records.map((r) => r.payload.toString()), range(1, 3));
  t.same(records[1].position, first.positions[1]);
  t.same(records[1].next, second.positions[0], 'next is where the following record begins');
  t.same(texts(log, records[1].next), range(3, 3), 'read from a position');
  t.same(texts(log, log.start(), 2), range(1, 2), 'at most maxRecords');
  t.same(log.read(log.end(), 10), [], 'nothing after the end');

  t.equal(fs.statSync(dir).mode & 0o777, 0o700);
  const file = path.join(dir, segmentFiles(dir)[0]);
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  t.same(fs.readFileSync(file).subarray(0, FILE_HEADER_BYTES), fileHeader('XTESTL', 3));
});

t.test('syncAsync() syncs like sync() (on the thread pool) and refuses once closed', async (t) => {
  const dir = tempDir(t);
  const log = openLog(t, { dir, fsync: true });
  log.append([payload(1)]);
  const syncing = log.syncAsync();
  log.append([payload(2)]);
  await syncing;
  await log.syncAsync();
  log.sync();
  t.same(texts(log), range(1, 2));
  const unsynced = openLog(t, { dir: tempDir(t), fsync: false });
  unsynced.append([payload(1)]);
  await unsynced.syncAsync();
  log.close();
  await t.rejects(log.syncAsync(), { code: ErrorCodes.SEGMENT_LOG_CLOSED });
});

t.test('an existing directory open to others is tightened to 0700', async (t) => {
  const dir = path.join(tempDir(t), 'log');
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  openLog(t, { dir });
  t.equal(fs.statSync(dir).mode & 0o777, 0o700);
});

t.test('read stops at maxBytes of payload but always returns one record', async (t) => {
  const log = openLog(t, { dir: tempDir(t) });
  log.append([payload(1), payload(2), payload(3), Buffer.alloc(100, 1)]);
  t.same(texts(log, log.start()).slice(0, 3), range(1, 3));
  t.equal(log.read(log.start(), 10, 25).length, 2, '10 + 10 bytes fit in 25, a third does not');
  const big = log.read({ segment: 1, offset: FILE_HEADER_BYTES + 3 * RECORD }, 10, 5);
  t.equal(big.length, 1);
  t.equal(big[0].payload.length, 100, 'a record larger than maxBytes still comes alone');
});

t.test('records larger than a read chunk read back whole, in one go or page by page', async (t) => {
  const log = openLog(t, { dir: tempDir(t), maxBytes: 16 * 1024 * 1024 });
  const sizes = [10_000, 40_000, 10, 2_000_000, 7, 20_000];
  const bodies = sizes.map((n, i) => Buffer.alloc(n, i + 1));
  log.append(bodies.slice(0, 3));
  log.append(bodies.slice(3));
  t.same(log.read(log.start(), 100).map((r) => r.payload), bodies, 'in one read');
  const paged: Buffer[] = [];
  for (let from = log.start(), page = log.read(from, 1); page.length > 0; from = page[0].next, page = log.read(from, 1)) {
    paged.push(page[0].payload);
  }
  t.same(paged, bodies, 'one record at a time');
});

t.test('segments rotate before an append that does not fit; one call is never split', async (t) => {
  const dir = tempDir(t);
  // Three records a segment.
  const log = openLog(t, { dir, segmentBytes: FILE_HEADER_BYTES + 3 * RECORD });
  for (let n = 1; n <= 7; n++) log.append([payload(n)]);
  t.same(segmentFiles(dir), ['0000000000000001.seg', '0000000000000002.seg', '0000000000000003.seg']);
  t.equal(log.segmentFor(RECORD), 3, 'one more record fits in segment 3');
  t.equal(log.segmentFor(3 * RECORD), 4, 'three do not');
  const call = log.append([payload(8), payload(9), payload(10)]);
  t.equal(call.segment, 4, 'the whole call went to a new segment');
  t.ok(call.positions.every((p) => p.segment === 4));
  const huge = log.append(Array.from({ length: 5 }, (_, i) => payload(11 + i)));
  t.equal(huge.segment, 5, 'a call larger than a segment gets one of its own');
  t.equal(fs.statSync(path.join(dir, segmentFiles(dir)[4])).size, FILE_HEADER_BYTES + 5 * RECORD);
  t.same(texts(log), range(1, 15), 'read walks across segments');
  const third = log.read({ segment: 2, offset: FILE_HEADER_BYTES + 3 * RECORD }, 2);
  t.same(third.map((r) => r.payload.toString()), range(7, 8), "a segment's end moves on to the next");
  t.equal(log.segmentCount(), 5);
});

t.test('positions stay valid across a reopen; appends after it go to a new segment', async (t) => {
  const dir = tempDir(t);
  const first = SegmentLog.open({ dir, magic: 'XTESTL', maxBytes: 4096, segmentBytes: 256, whenFull: 'refuse' });
  for (let n = 1; n <= 10; n++) first.append([payload(n)]);
  first.sync();
  const records = first.read(first.start(), 100);
  const mark = records[6].position;
  const end = first.end();
  const size = first.sizeBytes();
  first.close();
  first.close();
  t.throws(() => first.append([payload(11)]), { code: ErrorCodes.SEGMENT_LOG_CLOSED });
  t.throws(() => first.read(mark, 1), { code: ErrorCodes.SEGMENT_LOG_CLOSED });

  const second = openLog(t, { dir, maxBytes: 4096, segmentBytes: 256 });
  t.equal(second.sizeBytes(), size);
  t.same(texts(second, mark), range(7, 10), 'the same position reads the same records');
  t.same(second.read(second.start(), 100).map((r) => r.position), records.map((r) => r.position));
  const after = second.append([payload(11)]);
  t.ok(after.segment > end.segment, 'a segment found at open takes no more appends');
  t.same(texts(second, end), range(11, 11), 'the old end reads on into the new segment');
  t.equal(second.corruptRecords(), 0);
  t.same(second.damage(), []);
});

t.test('a torn tail (kill during a write) is cut off at open and the earlier records survive', async (t) => {
  const dir = tempDir(t);
  const first = SegmentLog.open({ dir, magic: 'XTESTL', maxBytes: 4096, whenFull: 'refuse' });
  first.append([payload(1), payload(2), payload(3)]);
  first.close();
  const file = path.join(dir, segmentFiles(dir)[0]);
  const size = fs.statSync(file).size;
  fs.truncateSync(file, size - 4);

  const lines: Record<string, unknown>[] = [];
  const logger = { warn: (obj: object, msg: string) => lines.push({ ...obj, msg }) } as unknown as SegmentLogOptions['log'];
  const second = openLog(t, { dir, maxBytes: 4096, log: logger, name: 'test log' });
  t.same(texts(second), range(1, 2));
  t.equal(fs.statSync(file).size, size - RECORD, 'the partial record is gone from the file');
  t.equal(second.sizeBytes(), size - RECORD);
  t.same(second.damage(), [{ position: { segment: 1, offset: FILE_HEADER_BYTES + 2 * RECORD }, kind: 'torn_tail', records: 0 }]);
  t.equal(second.corruptRecords(), 0, 'a write the crash interrupted is not corruption');
  t.ok(lines.some((l) => l.msg === 'test log tail repaired'));
});

t.test('a zero-filled tail (the file grew, its data never landed) is cut off', async (t) => {
  const dir = tempDir(t);
  const first = SegmentLog.open({ dir, magic: 'XTESTL', maxBytes: 65536, whenFull: 'refuse' });
  first.append([payload(1)]);
  first.close();
  const file = path.join(dir, segmentFiles(dir)[0]);
  fs.appendFileSync(file, Buffer.alloc(4096));
  const second = openLog(t, { dir, maxBytes: 65536 });
  t.same(texts(second), range(1, 1));
  t.equal(fs.statSync(file).size, FILE_HEADER_BYTES + RECORD);
});

t.test('a flipped byte costs one record: skipped, counted, and the rest is read', async (t) => {
  const dir = tempDir(t);
  const first = SegmentLog.open({ dir, magic: 'XTESTL', maxBytes: 4096, segmentBytes: FILE_HEADER_BYTES + 3 * RECORD, whenFull: 'refuse' });
  for (let n = 1; n <= 6; n++) first.append([payload(n)]);
  first.close();
  const file = path.join(dir, segmentFiles(dir)[0]);
  const image = fs.readFileSync(file);
  image[FILE_HEADER_BYTES + RECORD + 12] ^= 0x40; // inside record 2's payload
  fs.writeFileSync(file, image);

  const second = openLog(t, { dir, maxBytes: 4096 });
  t.same(texts(second), [...range(1, 1), ...range(3, 6)]);
  t.equal(second.corruptRecords(), 1);
  t.same(second.damage(), [{ position: { segment: 1, offset: FILE_HEADER_BYTES + RECORD }, kind: 'checksum', records: 1 }]);
  t.equal(fs.statSync(file).size, image.length, 'a segment with a bad record keeps its size');
  texts(second);
  t.equal(second.corruptRecords(), 1, 'counted once, however often it is read');
});

t.test('a broken length in an older segment ends its readable part; the file is left as it is', async (t) => {
  const dir = tempDir(t);
  const first = SegmentLog.open({ dir, magic: 'XTESTL', maxBytes: 4096, segmentBytes: FILE_HEADER_BYTES + 3 * RECORD, whenFull: 'refuse' });
  for (let n = 1; n <= 6; n++) first.append([payload(n)]);
  first.close();
  const file = path.join(dir, segmentFiles(dir)[0]);
  const image = fs.readFileSync(file);
  image.writeUInt32LE(0x7fffffff, FILE_HEADER_BYTES + RECORD);
  fs.writeFileSync(file, image);
  const second = openLog(t, { dir, maxBytes: 4096 });
  t.same(texts(second), [...range(1, 1), ...range(4, 6)]);
  t.equal(second.damage()[0].kind, 'rest_of_segment');
  t.equal(second.corruptRecords(), 1);
  t.equal(fs.statSync(file).size, image.length);
});

t.test('damage that appears after open is skipped on read and counted once', async (t) => {
  const dir = tempDir(t);
  const log = openLog(t, { dir });
  log.append([payload(1), payload(2), payload(3)]);
  const fd = fs.openSync(path.join(dir, segmentFiles(dir)[0]), 'r+');
  fs.writeSync(fd, Buffer.from([0xff]), 0, 1, FILE_HEADER_BYTES + RECORD + 9);
  fs.closeSync(fd);
  t.same(texts(log), [...range(1, 1), ...range(3, 3)]);
  t.same(texts(log), [...range(1, 1), ...range(3, 3)]);
  t.equal(log.corruptRecords(), 1);
});

t.test('a vanished segment file is skipped on read, never thrown', async (t) => {
  const dir = tempDir(t);
  const log = openLog(t, { dir, segmentBytes: FILE_HEADER_BYTES + 2 * RECORD });
  for (let n = 1; n <= 5; n++) log.append([payload(n)]);
  fs.rmSync(path.join(dir, segmentFiles(dir)[0]));
  t.same(texts(log), range(3, 5));
});

t.test('segments of a version listed in readVersions are read; any other header is deleted and counted', async (t) => {
  const dir = tempDir(t);
  const old = SegmentLog.open({ dir, magic: 'XTESTL', version: 1, maxBytes: 4096, segmentBytes: FILE_HEADER_BYTES + RECORD, whenFull: 'refuse' });
  old.append([payload(1)]);
  old.append([payload(2)]);
  old.close();
  const second = path.join(dir, segmentFiles(dir)[1]);
  const image = fs.readFileSync(second);
  image.write('XOTHER', 0, 'latin1');
  fs.writeFileSync(second, image);
  const log = openLog(t, { dir, version: 2, readVersions: [1], maxBytes: 4096 });
  t.same(texts(log), range(1, 1), 'version 1 is still read');
  t.same(segmentFiles(dir), ['0000000000000001.seg'], 'the segment of another format is gone');
  t.equal(log.corruptRecords(), 1);
  t.equal(log.damage()[0].kind, 'unreadable_segment');
  const next = log.append([payload(3)]);
  t.equal(next.segment, 3, 'ids are never reused');
  t.same(fs.readFileSync(path.join(dir, segmentFiles(dir)[1])).subarray(0, FILE_HEADER_BYTES), fileHeader('XTESTL', 2));
});

t.test("'refuse' never fails for space: hasRoom() turns false at maxBytes, nothing is dropped", async (t) => {
  const dir = tempDir(t);
  const maxBytes = FILE_HEADER_BYTES + 10 * RECORD;
  const log = openLog(t, { dir, maxBytes, segmentBytes: FILE_HEADER_BYTES + 4 * RECORD, whenFull: 'refuse' });
  let n = 0;
  while (log.hasRoom()) log.append([payload(++n)]);
  t.ok(log.sizeBytes() >= maxBytes);
  log.append([payload(++n), payload(++n)]); // a commit already decided still goes in
  t.same(texts(log), range(1, n), 'every record is kept');
  t.equal(log.droppedRecords(), 0);
  t.notOk(log.hasRoom());
  log.release(log.read(log.start(), 8).at(-1)!.next);
  t.ok(log.hasRoom(), 'released segments give the room back');
});

t.test("'drop-oldest' deletes whole oldest segments, counting their unreleased records", async (t) => {
  const dir = tempDir(t);
  const segmentBytes = FILE_HEADER_BYTES + 4 * RECORD;
  const maxBytes = 3 * segmentBytes;
  const drops: number[] = [];
  const log = openLog(t, { dir, maxBytes, segmentBytes, whenFull: 'drop-oldest', onDrop: (n) => drops.push(n) });
  let largest = 0;
  for (let n = 1; n <= 40; n++) {
    log.append([payload(n)]);
    largest = Math.max(largest, log.sizeBytes());
  }
  t.ok(largest <= maxBytes, `size stays within the bound (${largest} <= ${maxBytes})`);
  const left = texts(log);
  t.equal(left.at(-1), payload(40).toString(), 'the newest record is kept');
  t.equal(left.length + log.droppedRecords(), 40, 'every record is either kept or counted');
  t.equal(drops.reduce((a, b) => a + b, 0), log.droppedRecords(), 'each drop was reported');
  t.ok(drops.every((d) => d === 4), 'whole segments of four');
  t.ok(log.hasRoom());
});

t.test("'drop-oldest' does not count records already released", async (t) => {
  const dir = tempDir(t);
  const segmentBytes = FILE_HEADER_BYTES + 4 * RECORD;
  const log = openLog(t, { dir, maxBytes: 2 * segmentBytes, segmentBytes, whenFull: 'drop-oldest' });
  for (let n = 1; n <= 8; n++) log.append([payload(n)]);
  // A reader is done with 1..3: the first segment stays (4 is not released).
  log.release(log.read(log.start(), 3)[2].next);
  t.equal(log.segmentCount(), 2);
  log.append([payload(9)]);
  t.equal(log.droppedRecords(), 1, 'only record 4 was lost');
  t.same(texts(log), range(5, 9));
});

t.test("'drop-oldest' drops even the active segment when it alone is in the way", async (t) => {
  const dir = tempDir(t);
  const maxBytes = FILE_HEADER_BYTES + 3 * RECORD;
  const log = openLog(t, { dir, maxBytes, segmentBytes: maxBytes, whenFull: 'drop-oldest' });
  log.append([payload(1), payload(2)]);
  t.equal(log.segmentFor(2 * RECORD), 2, 'the next call needs a new segment');
  const call = log.append([payload(3), payload(4)]);
  t.equal(call.segment, 2);
  t.same(texts(log), range(3, 4));
  t.equal(log.droppedRecords(), 2);
  t.throws(() => log.append([payload(5), payload(6), payload(7), payload(8)]), { code: ErrorCodes.SEGMENT_LOG_INVALID_RECORD }, 'larger than the whole log');
});

t.test('makeRoom() applies a smaller bound found at open', async (t) => {
  const dir = tempDir(t);
  const segmentBytes = FILE_HEADER_BYTES + 2 * RECORD;
  const first = SegmentLog.open({ dir, magic: 'XTESTL', maxBytes: 4096, segmentBytes, whenFull: 'drop-oldest', fsync: false });
  for (let n = 1; n <= 10; n++) first.append([payload(n)]);
  first.close();
  const log = openLog(t, { dir, maxBytes: 2 * segmentBytes, segmentBytes, whenFull: 'drop-oldest' });
  t.equal(log.segmentCount(), 5, 'open deletes nothing');
  log.makeRoom();
  t.same(texts(log), range(7, 10));
  t.equal(log.droppedRecords(), 6);
});

t.test('release deletes whole segments only, and the active one only once sealed', async (t) => {
  const dir = tempDir(t);
  const log = openLog(t, { dir, segmentBytes: FILE_HEADER_BYTES + 2 * RECORD });
  for (let n = 1; n <= 5; n++) log.append([payload(n)]);
  const records = log.read(log.start(), 10);
  t.equal(segmentFiles(dir).length, 3);
  log.release(records[2].position); // before record 3: the segment of 1 and 2 goes
  t.equal(segmentFiles(dir).length, 2);
  log.release(records[2].next); // record 4 is still needed: its segment stays
  t.equal(segmentFiles(dir).length, 2);
  t.same(texts(log), range(3, 5), 'a segment partly released is read whole');
  log.release(records[4].next);
  t.equal(segmentFiles(dir).length, 1, 'the active segment stays');
  t.same(log.start(), records[4].position);
  log.seal();
  log.release(log.end());
  t.same(segmentFiles(dir), [], 'sealed, it goes too');
  t.equal(log.sizeBytes(), 0);
  t.same(log.read({ segment: 1, offset: FILE_HEADER_BYTES }, 10), []);
  const next = log.append([payload(6)]);
  t.equal(next.segment, 4);
  t.same(texts(log, { segment: 1, offset: FILE_HEADER_BYTES }), range(6, 6), 'an old position reads from the start');
});

t.test('appends refuse empty and oversized records', async (t) => {
  const log = openLog(t, { dir: tempDir(t), maxRecordBytes: 64 });
  const invalid = { code: ErrorCodes.SEGMENT_LOG_INVALID_RECORD };
  t.throws(() => log.append([Buffer.alloc(0)]), invalid);
  t.throws(() => log.append([payload(1), Buffer.alloc(65)]), invalid);
  t.same(log.append([]).positions, []);
  t.equal(log.sizeBytes(), 0, 'a refused call writes nothing');
});

t.test('a failed segment creation throws XIMP_ERR_SEGMENT_LOG_IO and the log goes on', async (t) => {
  const dir = path.join(tempDir(t), 'log');
  const log = openLog(t, { dir, segmentBytes: FILE_HEADER_BYTES + RECORD });
  log.append([payload(1)]);
  fs.renameSync(dir, `${dir}.aside`);
  t.throws(() => log.append([payload(2)]), { code: ErrorCodes.SEGMENT_LOG_IO });
  fs.renameSync(`${dir}.aside`, dir);
  log.append([payload(2)]);
  t.same(texts(log), range(1, 2));
  t.equal(comparePositions(log.start(), log.end()) < 0, true);
});

t.test('throughput', async (t) => {
  for (const fsync of [false, true]) {
    const log = openLog(t, { dir: tempDir(t), maxBytes: 256 * 1024 * 1024, fsync });
    const body = Buffer.alloc(4000, 7);
    const started = process.hrtime.bigint();
    let calls = 0;
    const deadline = Date.now() + 200;
    while (Date.now() < deadline) {
      log.append([body, body, body, body]);
      log.sync();
      calls++;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const readStarted = process.hrtime.bigint();
    const read = log.read(log.start(), Number.MAX_SAFE_INTEGER).length;
    const readSeconds = Number(process.hrtime.bigint() - readStarted) / 1e9;
    t.equal(read, 4 * calls);
    t.comment(
      `fsync=${fsync}: ${Math.round(calls / seconds)} synced appends/s of 4 x 4 kB, ${Math.round(read / readSeconds)} records/s read`,
    );
  }
});
