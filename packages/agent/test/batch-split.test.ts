import t from 'tap';
import fc from 'fast-check';
import { AGENT_BATCH_BOUNDS, encodeAgentFrame, type SeriesDefinition } from '@ximp/shared';
import { definitionBytesBound, splitIntoBatches, type SampleBatch } from '../src/batch-split';

/** The frame the connection would send for this batch, with every series in it defined. */
function frameBytes(batch: SampleBatch, defs: Map<number, SeriesDefinition>): number {
  const definitions = [...new Set(batch.seriesIds)].map((id) => defs.get(id)!);
  return encodeAgentFrame({
    type: 'batch',
    sequence: Number.MAX_SAFE_INTEGER,
    timestampUnixMs: Number.MAX_SAFE_INTEGER,
    definitions,
    seriesIds: batch.seriesIds,
    values: batch.values,
    droppedBatchesTotal: Number.MAX_SAFE_INTEGER,
  }).byteLength;
}

const definition = fc.record({
  name: fc.string({ minLength: 1, maxLength: 256 }),
  labels: fc.array(fc.record({ name: fc.string({ minLength: 1, maxLength: 64 }), value: fc.string({ maxLength: 1024, unit: 'binary' }) }), {
    maxLength: 32,
  }),
});

t.test('every batch fits the frame bound with all its definitions; nothing is lost or reordered', async () => {
  fc.assert(
    fc.property(
      fc.array(definition, { minLength: 1, maxLength: 40 }),
      fc.array(fc.tuple(fc.nat(), fc.double()), { maxLength: 400 }),
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 2_000, max: 200_000 }),
      (raw, picks, samples, bytes) => {
        const defs = new Map(raw.map((d, i) => [i + 1, { id: 0xffff_ffff - i, ...d }]));
        const input: SampleBatch = { seriesIds: picks.map(([p]) => (p % raw.length) + 1), values: picks.map(([, v]) => v) };
        const bounds = { samples, frameBytes: bytes };
        const batches = splitIntoBatches(input, (id) => definitionBytesBound(defs.get(id)!), bounds);
        if (batches.flatMap((b) => b.seriesIds).join() !== input.seriesIds.join()) throw new Error('ids lost or reordered');
        if (batches.flatMap((b) => b.values).length !== input.values.length) throw new Error('values lost');
        for (const b of batches) {
          if (b.seriesIds.length > samples) throw new Error(`${b.seriesIds.length} samples, bound ${samples}`);
          // One series on its own may exceed a tiny bound; it still goes, alone.
          if (b.seriesIds.length > 1 && frameBytes(b, defs) > bytes) throw new Error(`${frameBytes(b, defs)} bytes, bound ${bytes}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

t.test('an empty cycle is one empty batch', async (t) => {
  t.same(splitIntoBatches({ seriesIds: [], values: [] }, () => 0), [{ seriesIds: [], values: [] }]);
});

t.test('the default bounds: 12,000 small series make 3 batches; wide definitions split by size', async (t) => {
  const small = { seriesIds: Array.from({ length: 12_000 }, (_, i) => i + 1), values: new Array(12_000).fill(1) };
  t.same(
    splitIntoBatches(small, () => 40).map((b) => b.seriesIds.length),
    [5_000, 5_000, 2_000],
  );
  const wide: SeriesDefinition = { id: 1, name: 'node_x', labels: Array.from({ length: 24 }, (_, i) => ({ name: `l${i}`, value: 'v'.repeat(1024) })) };
  const perSeries = definitionBytesBound(wide);
  t.ok(perSeries > 24 * 1024, `a definition with 24 values of 1 KiB counts ${perSeries} bytes`);
  const batches = splitIntoBatches({ seriesIds: Array.from({ length: 10 }, (_, i) => i + 1), values: new Array(10).fill(0) }, () => perSeries, {
    samples: AGENT_BATCH_BOUNDS.samples,
    frameBytes: 4 * perSeries,
  });
  t.same(batches.map((b) => b.seriesIds.length), [3, 3, 3, 1], 'at most 3 such definitions in a frame of 4 of them (the rest is overhead)');
});

t.test('a series repeated after a split is defined again in the next batch', async (t) => {
  const batches = splitIntoBatches({ seriesIds: [1, 2, 1, 2, 1], values: [1, 2, 3, 4, 5] }, () => 100, { samples: 2, frameBytes: 10_000 });
  t.same(batches, [
    { seriesIds: [1, 2], values: [1, 2] },
    { seriesIds: [1, 2], values: [3, 4] },
    { seriesIds: [1], values: [5] },
  ]);
});

t.test('a cycle that fits one frame with every sample defining its series is one batch; one byte more splits it', async (t) => {
  // Each sample costs 13 bytes plus its definition's bound (100 here); the rest is fixed overhead.
  const overhead = batchOverhead(100);
  const samples = { seriesIds: [1, 2, 3], values: [1, 2, 3] };
  t.same(splitIntoBatches(samples, () => 100, { samples: 10, frameBytes: overhead + 3 * 113 }), [samples], 'exactly at the bound: one batch');
  t.same(
    splitIntoBatches(samples, () => 100, { samples: 10, frameBytes: overhead + 3 * 113 - 1 }),
    [{ seriesIds: [1, 2], values: [1, 2] }, { seriesIds: [3], values: [3] }],
    'a byte under it: split',
  );
  t.same(splitIntoBatches(samples, () => 100, { samples: 2, frameBytes: 1_000_000 }).length, 2, 'the sample bound splits too');
  const repeated = { seriesIds: [1, 1, 1], values: [1, 2, 3] };
  t.same(
    splitIntoBatches(repeated, () => 100, { samples: 10, frameBytes: overhead + 113 + 2 * 13 }),
    [repeated],
    'a repeated series is defined once: a cycle over the all-new estimate can still be one batch',
  );
});

/** The fixed bytes of a batch: the smallest frame two new series fit in, less their own bytes. */
function batchOverhead(definition: number): number {
  let frameBytes = 0;
  while (splitIntoBatches({ seriesIds: [1, 2], values: [1, 2] }, () => definition, { samples: 10, frameBytes }).length > 1) frameBytes++;
  return frameBytes - 2 * (13 + definition);
}
