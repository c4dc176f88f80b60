import t from 'tap';
import fc from 'fast-check';
import { ErrorCodes } from '@ximp/shared';
import {
  SEGMENT_HEADER,
  batchRecordBytes,
  decodeBatch,
  encodeBatch,
  encodeRecord,
  parseSegmentFileName,
  recordAt,
  scanRecords,
  segmentFileName,
  validateBatch,
  type SpooledBatch,
} from '../src/spool-segment';

const batchArb = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.double()), { maxLength: 200 })
  .chain((samples) =>
    fc.record({
      sequence: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      timestampUnixMs: fc.integer({ min: 0, max: 2 ** 45 }),
      seriesIds: fc.constant(samples.map((s) => s[0])),
      values: fc.constant(samples.map((s) => s[1])),
    }),
  );

t.test('a batch round-trips bit for bit (NaN, -0, infinities included)', async (t) => {
  fc.assert(
    fc.property(batchArb, (batch: SpooledBatch) => {
      const payload = encodeBatch(batch);
      if (encodeRecord(payload).length !== batchRecordBytes(batch.values.length)) return false;
      const back = decodeBatch(payload);
      return (
        back.sequence === batch.sequence &&
        back.timestampUnixMs === batch.timestampUnixMs &&
        back.seriesIds.every((id, i) => id === batch.seriesIds[i]) &&
        back.values.every((v, i) => Object.is(v, batch.values[i]))
      );
    }),
  );
  const special = { sequence: 1, timestampUnixMs: 1, seriesIds: [1, 2, 3, 4], values: [Number.NaN, -0, Infinity, -Infinity] };
  const back = decodeBatch(encodeBatch(special));
  t.ok(Object.is(back.values[0], Number.NaN) && Object.is(back.values[1], -0));
  t.same(back.values.slice(2), [Infinity, -Infinity]);
});

t.test('decodeBatch rejects anything that is not a whole batch with XIMP_ERR_SPOOL_CORRUPT', async (t) => {
  const good = encodeBatch({ sequence: 5, timestampUnixMs: 1000, seriesIds: [1, 2], values: [1, 2] });
  const isCorrupt = { code: ErrorCodes.SPOOL_CORRUPT };
  t.throws(() => decodeBatch(good.subarray(0, 10)), isCorrupt, 'too short');
  t.throws(() => decodeBatch(good.subarray(0, good.length - 1)), isCorrupt, 'length does not match the count');
  const wrongFormat = Buffer.from(good);
  wrongFormat[0] = 9;
  t.throws(() => decodeBatch(wrongFormat), isCorrupt, 'unknown format');
  const zeroSequence = Buffer.from(good);
  zeroSequence.writeDoubleLE(0, 8);
  t.throws(() => decodeBatch(zeroSequence), isCorrupt, 'sequence 0');
  const nanTime = Buffer.from(good);
  nanTime.writeDoubleLE(Number.NaN, 16);
  t.throws(() => decodeBatch(nanTime), isCorrupt, 'timestamp NaN');
});

t.test('validateBatch refuses what the format cannot hold', async (t) => {
  const invalid = { code: ErrorCodes.SPOOL_INVALID_BATCH };
  const ok = { sequence: 1, timestampUnixMs: 1, seriesIds: [1], values: [1] };
  t.doesNotThrow(() => validateBatch(ok));
  t.throws(() => validateBatch({ ...ok, sequence: 0 }), invalid);
  t.throws(() => validateBatch({ ...ok, sequence: 1.5 }), invalid);
  t.throws(() => validateBatch({ ...ok, timestampUnixMs: Number.NaN }), invalid);
  t.throws(() => validateBatch({ ...ok, seriesIds: [1, 2] }), invalid);
  t.throws(() => validateBatch({ ...ok, seriesIds: [2 ** 32] }), invalid);
  t.throws(() => validateBatch({ ...ok, seriesIds: [-1] }), invalid);
});

t.test('recordAt tells whole, torn, mis-sized and checksum-failed records apart', async (t) => {
  const record = encodeRecord(Buffer.from('hello world'));
  t.same(recordAt(record, 0, 1, 100), { kind: 'ok', payloadStart: 8, next: record.length });
  t.same(recordAt(record.subarray(0, 5), 0, 1, 100), { kind: 'incomplete' }, 'header cut');
  t.same(recordAt(record.subarray(0, record.length - 1), 0, 1, 100), { kind: 'incomplete' }, 'payload cut');
  t.same(recordAt(Buffer.alloc(64), 0, 1, 100), { kind: 'bad_length' }, 'zero-filled tail');
  t.same(recordAt(record, 0, 1, 5), { kind: 'bad_length' }, 'longer than allowed');
  const flipped = Buffer.from(record);
  flipped[10] ^= 1;
  t.same(recordAt(flipped, 0, 1, 100), { kind: 'bad_crc', next: record.length });
});

t.test('scanRecords skips a record with a bad checksum when the next one is intact', async (t) => {
  const records = ['one', 'two', 'three', 'four'].map((s) => encodeRecord(Buffer.from(s)));
  const image = Buffer.concat([SEGMENT_HEADER, ...records]);
  const clean = scanRecords(image, SEGMENT_HEADER.length, 1, 100);
  t.same(clean.records.map((r) => r.payload.toString()), ['one', 'two', 'three', 'four']);
  t.equal(clean.end, image.length);

  const payloadFlip = Buffer.from(image);
  payloadFlip[SEGMENT_HEADER.length + records[0].length + 8] ^= 0xff; // inside "two"
  const skipped = scanRecords(payloadFlip, SEGMENT_HEADER.length, 1, 100);
  t.same(skipped.records.map((r) => r.payload.toString()), ['one', 'three', 'four']);
  t.same(skipped.records.map((r) => r.skippedBefore), [0, 1, 0]);
  t.equal(skipped.end, image.length);

  const lengthFlip = Buffer.from(image);
  lengthFlip[SEGMENT_HEADER.length + records[0].length] ^= 0x02; // length of "two"
  const ended = scanRecords(lengthFlip, SEGMENT_HEADER.length, 1, 100);
  t.same(ended.records.map((r) => r.payload.toString()), ['one']);
  t.equal(ended.end, SEGMENT_HEADER.length + records[0].length, 'readable part ends at the damage');

  const lastFlip = Buffer.from(image);
  lastFlip[image.length - 1] ^= 0x01;
  const tail = scanRecords(lastFlip, SEGMENT_HEADER.length, 1, 100);
  t.same(tail.records.map((r) => r.payload.toString()), ['one', 'two', 'three']);
  t.equal(tail.skippedAtEnd, 1);

  const torn = scanRecords(image.subarray(0, image.length - 2), SEGMENT_HEADER.length, 1, 100);
  t.same(torn.records.length, 3);
  t.equal(torn.end, image.length - records[3].length);
  t.equal(torn.skippedAtEnd, 0);
});

t.test('segment file names sort by number and parse back', async (t) => {
  t.equal(segmentFileName(42), '0000000000000042.seg');
  t.equal(parseSegmentFileName('0000000000000042.seg'), 42);
  t.equal(parseSegmentFileName('42.seg'), null);
  t.equal(parseSegmentFileName('0000000000000042.seg.tmp'), null);
  t.equal(parseSegmentFileName('stream.json'), null);
});
