import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import fc from 'fast-check';
import { ProtocolError, decodeCollectorFrame, encodeCollectorFrame, readCollectorFrame, readPlainCollectorFrame } from '@ximp/shared';
import type { CollectorFrame } from '@ximp/shared';
import { checkMutatedFrames, checkRandomFrames } from './frame-fuzz';

/**
 * The hand-written collector-frame reader against the protobufjs codec: on any bytes (frames a
 * collector writes, random bytes, mutated and truncated frames) both accept with the same frame
 * or both refuse with the same close code and message; and the frames a collector writes are
 * read by hand, without protobufjs.
 */

const MAX_FRAME_BYTES = 4096;

type Outcome = { ok: true; frame: unknown } | { ok: false; closeCode: number; code: string; message: string };

function outcome(decode: () => CollectorFrame): Outcome {
  try {
    return { ok: true, frame: decode() };
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return { ok: false, closeCode: err.closeCode, code: err.code, message: err.message };
  }
}

function sameOutcome(t: Test, bytes: Uint8Array): boolean {
  const expected = outcome(() => decodeCollectorFrame(bytes, MAX_FRAME_BYTES));
  const actual = outcome(() => readCollectorFrame(bytes, MAX_FRAME_BYTES));
  const plain = readPlainCollectorFrame(bytes);
  // The hand path alone either declines or gives exactly the codec's frame.
  const plainAgrees = plain === null || (expected.ok && JSON.stringify(plain) === JSON.stringify(expected.frame));
  if (plainAgrees && JSON.stringify(actual) === JSON.stringify(expected)) return true;
  t.fail(`reader and codec differ on ${Buffer.from(bytes).toString('hex').slice(0, 200)}`, { actual, expected, plain });
  return false;
}

const uint32 = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 100_000 }), weight: 6 }, { arbitrary: fc.constantFrom(0, 0xffffffff), weight: 1 });
const count = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 2 ** 42 }), weight: 6 },
  { arbitrary: fc.constantFrom(2 ** 49 - 1, 2 ** 49, 2 ** 53 - 1), weight: 1 },
);
const text = (max: number) =>
  fc.oneof({ arbitrary: fc.string({ maxLength: 40 }), weight: 6 }, { arbitrary: fc.string({ unit: 'binary', maxLength: 12 }), weight: 1 }, { arbitrary: fc.constant('x'.repeat(max + 1)), weight: 1 });

const welcome = fc.record({
  type: fc.constant('welcome' as const),
  sessionId: text(128),
  protocolVersion: uint32,
  limits: fc.record({ maxFrameBytes: uint32, maxSamplesPerBatch: uint32, maxLabelsPerSeries: uint32, maxSeriesPerSession: uint32 }),
  tokenExpiresUnixMs: fc.oneof(count, fc.constantFrom(-1, -(2 ** 40))),
  lastAckedSequence: count,
  pingIntervalMs: uint32,
});
const ack = fc.record({ type: fc.constant('ack' as const), sequence: fc.oneof(count, fc.constant(0)) });
const error = fc.record({ type: fc.constant('error' as const), code: uint32, message: text(1024) });
const frame: fc.Arbitrary<CollectorFrame> = fc.oneof(welcome, ack, error);

t.test('frames a collector writes, in range or not, decode the same', (t) => {
  let byHand = 0;
  fc.assert(
    fc.property(frame, (f) => {
      const bytes = encodeCollectorFrame(f);
      if (readPlainCollectorFrame(bytes) !== null) byHand++;
      return sameOutcome(t, bytes);
    }),
    { numRuns: 3000 },
  );
  t.ok(byHand > 1000, `${byHand} of 3000 frames were read by hand, the rest by the codec`);
  t.end();
});

t.test('mutated and truncated frames decode or fail the same', (t) => {
  checkMutatedFrames(frame, encodeCollectorFrame, (bytes) => sameOutcome(t, bytes), 5000);
  t.end();
});

t.test('random bytes decode or fail the same', (t) => {
  checkRandomFrames([0x0a, 0x12, 0x1a], (bytes) => sameOutcome(t, bytes), 2000);
  t.end();
});

t.test('hand-made encodings the codec never writes go to the codec', (t) => {
  const cases: [string, string][] = [
    ['an ack sequence given twice', '1204 0801 0802'],
    ['an ack sequence as a length-delimited field', '1203 0a0101'],
    ['an unknown field in an ack', '1204 0801 2001'],
    ['a varint of ten bytes', '120b 08 ffffffffffffffffff01'],
    ['a body longer than the frame', '1205 0801'],
    ['a limits message that overruns the welcome', '0a04 1a050801'],
    ['two bodies', '1202 0801 1202 0802'],
    ['an error code beyond 32 bits', '1a06 0880808080 20'],
    ['a session id that is not ASCII', '0a04 0a02c3a9'],
  ];
  for (const [what, hex] of cases) {
    const bytes = Buffer.from(hex.replace(/ /g, ''), 'hex');
    t.equal(readPlainCollectorFrame(bytes), null, `${what}: not read by hand`);
    t.ok(sameOutcome(t, bytes), `${what}: the codec's answer`);
  }
  t.throws(() => readCollectorFrame(new Uint8Array(MAX_FRAME_BYTES + 1), MAX_FRAME_BYTES), /exceeds the limit/, 'an oversized frame is refused by its size');
  t.throws(() => readCollectorFrame('0801' as unknown as Uint8Array), /not binary/, 'a text is refused');
  t.end();
});

t.test('a process that only reads the frames a collector writes never loads protobufjs', (t) => {
  const frames = [
    encodeCollectorFrame({ type: 'welcome', sessionId: 's-1', protocolVersion: 1, limits: { maxFrameBytes: 1 << 20, maxSamplesPerBatch: 10_000, maxLabelsPerSeries: 32, maxSeriesPerSession: 10_000 }, tokenExpiresUnixMs: Date.now() + 3_600_000, lastAckedSequence: 42, pingIntervalMs: 15_000 }),
    encodeCollectorFrame({ type: 'ack', sequence: 43 }),
    encodeCollectorFrame({ type: 'error', code: 1008, message: 'token revoked' }),
  ].map((b) => Buffer.from(b).toString('hex'));
  const script = `
    const { readCollectorFrame } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
    const types = ${JSON.stringify(frames)}.map((hex) => readCollectorFrame(Buffer.from(hex, 'hex')).type);
    const loaded = Object.keys(require.cache).some((file) => file.includes('protobufjs'));
    process.stdout.write(JSON.stringify({ types, loaded }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as { types: string[]; loaded: boolean };
  t.same(out.types, ['welcome', 'ack', 'error']);
  t.equal(out.loaded, false, 'protobufjs stayed unloaded');
  t.end();
});
