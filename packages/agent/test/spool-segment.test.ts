import t from 'tap';
import fc from 'fast-check';
import { ErrorCodes, encodeRecord } from '@ximp/shared';
import { batchRecordBytes, decodeBatch, encodeBatch, validateBatch, type SpooledBatch } from '../src/spool-segment';

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
