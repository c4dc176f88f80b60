/**
 * The bench's load generator sends what an agent sends: its pre-encoded batches (sequence and
 * timestamps written in front of a tail encoded once) decode, with the collector's own decoder,
 * to the same frame encodeAgentFrame makes, at every varint width; its hand-read acks give the
 * sequence the collector encoded and leave every other frame to the decoder; its latency sample
 * stays bounded; its agents spread over loopback addresses 50 at a time.
 */
import t from 'tap';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { decodeAgentFrame, encodeAgentFrame, encodeCollectorFrame, DEFAULT_LIMITS } from '../packages/shared/src/index';
import { ROOT } from './helpers/system';

const load = createRequire(path.join(ROOT, 'bench/load/'));
const { batchFrames, ackSequence, seriesDefinitions } = load('./frames.js') as {
  batchFrames(o: { samples: number }): { batch(sequence: number, unixMs: number, first: boolean): Buffer };
  ackSequence(buf: Uint8Array): number;
  seriesDefinitions(n: number): { id: number; name: string; labels: { name: string; value: string }[] }[];
};
const { Reservoir, weightedPercentile } = load('./reservoir.js') as {
  Reservoir: new (size: number) => { add(v: number): void; values: number[]; seen: number };
  weightedPercentile(parts: { values: number[]; seen: number }[], p: number): number;
};
const { groupAddress } = load('./generator.js') as { groupAddress(k: number): string };

const limits = { ...DEFAULT_LIMITS, maxSamplesPerBatch: 10_000 };

t.test('a pre-encoded batch decodes to the frame encodeAgentFrame makes', async (t) => {
  const frames = batchFrames({ samples: 300 });
  const now = Date.now();
  for (const sequence of [1, 127, 128, 16_384, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
    for (const first of [true, false]) {
      const frame = decodeAgentFrame(frames.batch(sequence, now, first), limits);
      if (frame.type !== 'batch') throw new Error('not a batch');
      t.equal(frame.sequence, sequence);
      t.equal(frame.timestampUnixMs, now);
      t.equal(frame.sentUnixMs, now);
      t.same(frame.seriesIds, Array.from({ length: 300 }, (_, k) => k + 1));
      t.equal(frame.values.length, 300);
      t.equal(frame.definitions.length, first ? 300 : 0);
      const reference = decodeAgentFrame(
        encodeAgentFrame({ ...frame, definitions: first ? seriesDefinitions(300) : [], droppedBatchesTotal: 0 }),
        limits,
      );
      t.same(frame, reference, `sequence ${sequence}${first ? ' with definitions' : ''}`);
    }
  }
});

t.test('acks are read by hand; other collector frames are left to the decoder', async (t) => {
  for (const sequence of [1, 127, 128, 300_000, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
    t.equal(ackSequence(encodeCollectorFrame({ type: 'ack', sequence })), sequence);
  }
  t.equal(ackSequence(encodeCollectorFrame({ type: 'error', code: 4001, message: 'token revoked' })), -1);
  const welcome = encodeCollectorFrame({
    type: 'welcome',
    sessionId: 's',
    protocolVersion: 1,
    limits: { maxFrameBytes: 1, maxSamplesPerBatch: 1, maxLabelsPerSeries: 1, maxSeriesPerSession: 1 },
    tokenExpiresUnixMs: 0,
    lastAckedSequence: 7,
    pingIntervalMs: 1000,
  });
  t.equal(ackSequence(welcome), -1);
  t.equal(ackSequence(new Uint8Array([0x12, 0x02, 0x08, 0x81])), -1, 'a truncated varint is not an ack');
});

t.test('the latency sample is bounded and its percentiles weigh each thread by what it saw', async (t) => {
  const r = new Reservoir(100);
  for (let i = 0; i < 10_000; i++) r.add(i);
  t.equal(r.values.length, 100);
  t.equal(r.seen, 10_000);
  // A thread that saw 9 of 10 values, all 10 ms, and one that saw 1 in 10, all 1000 ms.
  const parts = [
    { values: [10, 10, 10], seen: 900 },
    { values: [1000], seen: 100 },
  ];
  t.equal(weightedPercentile(parts, 50), 10);
  t.equal(weightedPercentile(parts, 95), 1000);
  t.ok(Number.isNaN(weightedPercentile([{ values: [], seen: 0 }], 99)));
});

t.test('agents spread over loopback addresses, never .0, .1 or .255', async (t) => {
  t.equal(groupAddress(0), '127.0.0.2');
  t.equal(groupAddress(249), '127.0.0.251');
  t.equal(groupAddress(250), '127.0.1.2');
  const all = new Set(Array.from({ length: 400 }, (_, k) => groupAddress(k)));
  t.equal(all.size, 400);
  t.same([...all].filter((a) => /\.(0|1|255)$/.test(a)), []);
});
