import t from 'tap';
import fc from 'fast-check';
import { decodeAgentFrame, encodeAgentFrame, type MetricBatch } from '@ximp/shared';
import { encodeBatchFrame } from '../src/batch-frame-encoder';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

t.test('a cycle-like batch encodes to the same bytes as protobufjs and decodes back', async (t) => {
  const batch: Omit<MetricBatch, 'type'> = {
    sequence: 123_456,
    timestampUnixMs: 1_764_633_600_123,
    definitions: [
      { id: 1, name: 'node_cpu_seconds_total', labels: [{ name: 'cpu', value: '0' }, { name: 'mode', value: 'idle' }] },
      { id: 300, name: 'node_filesystem_size_bytes', labels: [{ name: 'mountpoint', value: '/srv/données' }] },
      { id: 2, name: 'node_load1', labels: [] },
    ],
    seriesIds: [1, 300, 2, 70_000, 1 << 28],
    values: [12345.67, Number.NaN, -0, Infinity, 2 ** 60],
    droppedBatchesTotal: 0,
    sentUnixMs: 1_764_633_600_456,
  };
  t.equal(hex(encodeBatchFrame(batch)), hex(encodeAgentFrame({ type: 'batch', ...batch })));
  const back = decodeAgentFrame(encodeBatchFrame(batch));
  t.same(back, { type: 'batch', ...batch });
});

t.test('an empty batch (no samples) and one without a send time match protobufjs too', async (t) => {
  const empty = { sequence: 1, timestampUnixMs: 1000, definitions: [], seriesIds: [], values: [], droppedBatchesTotal: 7, sentUnixMs: 0 };
  t.equal(hex(encodeBatchFrame(empty)), hex(encodeAgentFrame({ type: 'batch', ...empty })));
  const old = { ...empty, sentUnixMs: undefined };
  delete old.sentUnixMs;
  t.equal(hex(encodeBatchFrame(old)), hex(encodeAgentFrame({ type: 'batch', ...old })));
});

t.test('any batch encodes to the bytes protobufjs writes', async () => {
  const label = fc.record({ name: fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/), value: fc.string({ maxLength: 40, unit: 'grapheme' }) });
  const batch = fc
    .record({
      sequence: fc.maxSafeNat().filter((n) => n > 0),
      timestampUnixMs: fc.maxSafeNat().filter((n) => n > 0),
      definitions: fc.array(fc.record({ id: fc.nat({ max: 0xffffffff }), name: fc.stringMatching(/^[a-z_:][a-z0-9_:]{0,30}$/), labels: fc.array(label, { maxLength: 4 }) }), { maxLength: 5 }),
      samples: fc.array(fc.tuple(fc.nat({ max: 0xffffffff }), fc.double()), { maxLength: 50 }),
      droppedBatchesTotal: fc.maxSafeNat(),
      sentUnixMs: fc.option(fc.maxSafeNat(), { nil: undefined }),
    })
    .map(({ samples, sentUnixMs, ...rest }) => ({
      ...rest,
      seriesIds: samples.map((s) => s[0]),
      values: samples.map((s) => s[1]),
      ...(sentUnixMs === undefined ? {} : { sentUnixMs }),
    }));
  fc.assert(
    fc.property(batch, (b) => hex(encodeBatchFrame(b)) === hex(encodeAgentFrame({ type: 'batch', ...b }))),
    { numRuns: 500 },
  );
});

t.test('what the writer does not cover goes through protobufjs', async (t) => {
  const odd = { sequence: 5, timestampUnixMs: -1000, definitions: [], seriesIds: [1], values: [1], droppedBatchesTotal: 0 };
  t.equal(hex(encodeBatchFrame(odd)), hex(encodeAgentFrame({ type: 'batch', ...odd })));
});
