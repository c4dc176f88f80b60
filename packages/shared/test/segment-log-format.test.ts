import t from 'tap';
import { encodeRecord, fileHeader, parseSegmentFileName, recordAt, scanRecords, segmentFileName } from '../src/segment-log/index';

// The segment log's framing, pure: records, the scan that recovery is built on, file names.
const SEGMENT_HEADER = fileHeader('XSPOOL', 2);

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
