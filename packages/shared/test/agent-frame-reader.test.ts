import t, { type Test } from 'tap';
import fc from 'fast-check';
import {
  PROTO_FILE,
  ProtocolError,
  decodeAgentFrame,
  decodeCollectorFrame,
  encodeAck,
  encodeAgentFrame,
  encodeCollectorFrame,
  protobufjs,
  readAgentFrame,
  readPlainAgentBatch,
} from '@ximp/shared';
import type { AgentFrame, Limits, MetricBatch, SeriesDefinition } from '@ximp/shared';
import { checkMutatedFrames, checkRandomFrames } from './frame-fuzz';

/**
 * The hand-written batch reader against the protobufjs codec: on any bytes (well-formed batches,
 * random bytes, mutated and truncated batches, hand-made hostile encodings) both accept with the
 * same frame or both refuse with the same close code and message.
 */

const LIMITS: Limits = { maxFrameBytes: 16_384, maxSamplesPerBatch: 64, maxLabelsPerSeries: 8, maxSeriesPerSession: 1000 };

type Outcome = { ok: true; frame: unknown } | { ok: false; closeCode: number; code: string; message: string };

/** The frame as plain data: typed arrays as number arrays (bit-exact for NaN and -0 via Object.is below). */
function plain(frame: AgentFrame | ReturnType<typeof readAgentFrame>): unknown {
  if (frame.type !== 'batch') return frame;
  return { ...frame, seriesIds: Array.from(frame.seriesIds), values: Array.from(frame.values) };
}

function outcome(decode: () => AgentFrame | ReturnType<typeof readAgentFrame>): Outcome {
  try {
    return { ok: true, frame: plain(decode()) };
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return { ok: false, closeCode: err.closeCode, code: err.code, message: err.message };
  }
}

/** Frames the hand-written path read, and how many of them defined series. */
let readByHand = 0;
let definedByHand = 0;

function sameOutcome(t: Test, bytes: Uint8Array, limits = LIMITS): boolean {
  const expected = outcome(() => decodeAgentFrame(bytes, limits));
  const plainBatch = readPlainAgentBatch(bytes, limits);
  if (plainBatch !== null) {
    readByHand++;
    if (plainBatch.definitions.length > 0) definedByHand++;
  }
  const actual = outcome(() => readAgentFrame(bytes, limits));
  if (sameValue(actual, expected)) return true;
  t.fail(`reader and codec differ on ${Buffer.from(bytes).toString('hex').slice(0, 200)}`, { actual, expected });
  return false;
}

/** Deep equality where NaN equals NaN and -0 differs from 0 (values must survive bit-exact). */
function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return sameValue(ka, kb) && ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

/** Texts mostly as agents write them, sometimes beyond what the codec accepts (non-ASCII, too long, invalid). */
const metricName = fc.oneof(
  { arbitrary: fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,30}$/), weight: 40 },
  { arbitrary: fc.constantFrom('', '9m', 'm-x', 'm\u00e9', 'a'.repeat(256), 'a'.repeat(257)), weight: 1 },
);
const labelName = fc.oneof(
  { arbitrary: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/), weight: 40 },
  { arbitrary: fc.constantFrom('', 'a:b', '1a', 'b'.repeat(257)), weight: 1 },
);
const labelValue = fc.oneof(
  { arbitrary: fc.stringMatching(/^[ -~]{0,40}$/), weight: 40 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 4 },
  { arbitrary: fc.constantFrom('v'.repeat(1024), 'v'.repeat(1025), 'caf\u00e9', '\u{1f600}', '\ud800', '\u0000'), weight: 1 },
);
const definitionArb: fc.Arbitrary<SeriesDefinition> = fc.record({
  id: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 600 }), weight: 6 }, { arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }), weight: 1 }),
  name: metricName,
  labels: fc.oneof({ arbitrary: fc.array(fc.record({ name: labelName, value: labelValue }), { maxLength: 4 }), weight: 8 }, { arbitrary: fc.array(fc.record({ name: labelName, value: labelValue }), { maxLength: 10 }), weight: 1 }),
});

const double = fc.oneof(fc.double(), fc.constantFrom(NaN, -0, Infinity, -Infinity, Number.MIN_VALUE));
const batchArb = fc
  .record({
    n: fc.integer({ min: 0, max: 80 }),
    extra: fc.oneof({ arbitrary: fc.constant(0), weight: 6 }, { arbitrary: fc.integer({ min: -2, max: 2 }), weight: 1 }),
    sequence: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 1000 }), weight: 6 }, { arbitrary: fc.constantFrom(2 ** 49 - 1, 2 ** 49, 2 ** 53 - 1), weight: 1 }),
    timestampUnixMs: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 2 ** 42 }), weight: 6 }, { arbitrary: fc.constantFrom(-1, 2 ** 50), weight: 1 }),
    droppedBatchesTotal: fc.integer({ min: 0, max: 2 ** 40 }),
    sentUnixMs: fc.oneof({ arbitrary: fc.constant(0), weight: 2 }, { arbitrary: fc.integer({ min: 1, max: 2 ** 42 }), weight: 4 }, { arbitrary: fc.constant(-5), weight: 1 }),
    bigIds: fc.boolean(),
    definitionCount: fc.oneof({ arbitrary: fc.constant(0), weight: 6 }, { arbitrary: fc.integer({ min: 1, max: 4 }), weight: 4 }, { arbitrary: fc.integer({ min: 5, max: 70 }), weight: 1 }),
    seed: fc.integer(),
  })
  .chain((r) =>
    fc.record({
      r: fc.constant(r),
      definitions: fc.array(definitionArb, { minLength: r.definitionCount, maxLength: r.definitionCount }),
      ids: fc.array(r.bigIds ? fc.integer({ min: 0, max: 0xffff_ffff }) : fc.integer({ min: 0, max: 600 }), { minLength: r.n, maxLength: r.n }),
      values: fc.array(double, { minLength: Math.max(0, r.n + r.extra), maxLength: Math.max(0, r.n + r.extra) }),
    }),
  )
  .map(({ r, definitions, ids, values }): MetricBatch => ({
    type: 'batch',
    sequence: r.sequence,
    timestampUnixMs: r.timestampUnixMs,
    definitions,
    seriesIds: ids,
    values,
    droppedBatchesTotal: r.droppedBatchesTotal,
    sentUnixMs: r.sentUnixMs,
  }));

t.test('well-formed and borderline batches decode the same', (t) => {
  readByHand = 0;
  definedByHand = 0;
  fc.assert(
    fc.property(batchArb, (batch) => sameOutcome(t, encodeAgentFrame(batch))),
    { numRuns: 3000 },
  );
  t.ok(readByHand > 500, `${readByHand} of 3000 batches were read by hand, the rest by the codec`);
  t.ok(definedByHand > 100, `${definedByHand} of them defined series`);
  t.end();
});

t.test('mutated and truncated batches decode or fail the same', (t) => {
  checkMutatedFrames(batchArb, encodeAgentFrame, (bytes) => sameOutcome(t, bytes), 5000);
  t.end();
});

t.test('random bytes decode or fail the same', (t) => {
  checkRandomFrames([0x12], (bytes) => sameOutcome(t, bytes), 3000);
  t.end();
});

// Hand-made encodings protobufjs' encoder never writes, each a way for a reader to disagree.
// protobufjs as the codec sets it up (64-bit fields as numbers).
const root = protobufjs().loadSync(PROTO_FILE);
const MetricBatchType = root.lookupType('ximp.v1.MetricBatch');

function frameOf(batchBody: number[]): Buffer {
  const body = Buffer.from(batchBody);
  const len: number[] = [];
  let v = body.length;
  while (v >= 128) {
    len.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  len.push(v);
  return Buffer.concat([Buffer.from([0x12, ...len]), body]);
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

const SEQ = [0x08, 5];
const TS = [0x10, ...varintBytes(1_700_000_000_000)];
const packedIds = (ids: number[]): number[] => {
  const body = ids.flatMap(varintBytes);
  return [0x22, ...varintBytes(body.length), ...body];
};
const packedValues = (vals: number[]): number[] => {
  const body = Buffer.alloc(vals.length * 8);
  vals.forEach((v, i) => body.writeDoubleLE(v, i * 8));
  return [0x2a, ...varintBytes(body.length), ...body];
};

const HOSTILE: [string, Buffer][] = [
  ['a plain batch', frameOf([...SEQ, ...TS, ...packedIds([1, 2]), ...packedValues([1.5, -2])])],
  ['sequence given twice (last wins)', frameOf([...SEQ, 0x08, 9, ...TS, ...packedIds([1]), ...packedValues([1])])],
  ['series ids in two packed runs', frameOf([...SEQ, ...TS, ...packedIds([1]), ...packedIds([2]), ...packedValues([1, 2])])],
  ['series ids unpacked', frameOf([...SEQ, ...TS, 0x20, 1, 0x20, 2, ...packedValues([1, 2])])],
  ['values unpacked', frameOf([...SEQ, ...TS, ...packedIds([1]), 0x29, ...Buffer.alloc(8)])],
  ['an unknown field', frameOf([...SEQ, ...TS, 0x40, 1, ...packedIds([1]), ...packedValues([1])])],
  ['an unknown group', frameOf([...SEQ, ...TS, 0x43, 0x44, ...packedIds([1]), ...packedValues([1])])],
  ['sequence with the wrong wire type', frameOf([0x09, ...Buffer.alloc(8, 1), ...TS])],
  ['a 10-byte negative timestamp', frameOf([...SEQ, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
  ['a sequence of 2^53', frameOf([0x08, ...varintBytes(2 ** 53), ...TS])],
  ['a sequence of 2^49', frameOf([0x08, ...varintBytes(2 ** 49), ...TS])],
  ['a series id over 32 bits', frameOf([...SEQ, ...TS, 0x22, 5, 0xff, 0xff, 0xff, 0xff, 0x1f, ...packedValues([1])])],
  ['a 6-byte series id varint', frameOf([...SEQ, ...TS, 0x22, 6, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, ...packedValues([1])])],
  ['an unterminated series id', frameOf([...SEQ, ...TS, 0x22, 2, 0x01, 0x81, ...packedValues([1, 2])])],
  ['values of 12 bytes', frameOf([...SEQ, ...TS, ...packedIds([1, 2]), 0x2a, 12, ...Buffer.alloc(12)])],
  ['a packed run past the end', frameOf([...SEQ, ...TS, 0x22, 40, 1, 2])],
  ['more ids than the limit', frameOf([...SEQ, ...TS, ...packedIds(Array.from({ length: 65 }, (_, i) => i)), ...packedValues(Array(65).fill(0))])],
  ['exactly the limit', frameOf([...SEQ, ...TS, ...packedIds(Array.from({ length: 64 }, (_, i) => i)), ...packedValues(Array(64).fill(0))])],
  ['a batch field longer than the frame', Buffer.from([0x12, 0x20, ...SEQ])],
  ['a batch field shorter than the frame', Buffer.concat([frameOf([...SEQ, ...TS]), Buffer.from([0x08, 1])])],
  ['batch given twice (merged)', Buffer.concat([frameOf([...SEQ, ...TS, ...packedIds([1])]), frameOf([...packedValues([1])])])],
  ['a hello after the batch', Buffer.concat([frameOf([...SEQ, ...TS]), Buffer.from([0x0a, 0])])],
  ['an empty batch', Buffer.from([0x12, 0])],
  ['no sequence', frameOf([...TS])],
  ['a zero timestamp', frameOf([...SEQ, 0x10, 0])],
  ['sent time given', frameOf([...SEQ, ...TS, 0x38, ...varintBytes(1_700_000_000_123), 0x30, 7])],
  ['a non-minimal length prefix', Buffer.from([0x12, 0x84, 0x00, ...SEQ, ...TS.slice(0, 2)])],
  ['a tag of two bytes', frameOf([...SEQ, ...TS, 0x88, 0x01, 1])],
  ['an empty frame', Buffer.alloc(0)],
  ...HOSTILE_DEFINITIONS(),
];

/** A batch of one sample of series 1, defined by `definitions` (SeriesDefinition bodies). */
function defining(...definitions: number[][]): Buffer {
  return frameOf([...SEQ, ...TS, ...definitions.flatMap((d) => [0x1a, ...varintBytes(d.length), ...d]), ...packedIds([1]), ...packedValues([1])]);
}
function str(tag: number, s: string): number[] {
  const bytes = [...Buffer.from(s, 'utf8')];
  return [tag, ...varintBytes(bytes.length), ...bytes];
}
function label(name: string | null, value: string | null): number[] {
  const body = [...(name === null ? [] : str(0x0a, name)), ...(value === null ? [] : str(0x12, value))];
  return [0x1a, ...varintBytes(body.length), ...body];
}


function HOSTILE_DEFINITIONS(): [string, Buffer][] {
  const ID1 = [0x08, 1];
  return [
    ['a definition as agents send it', defining([...ID1, ...str(0x12, 'node_load1'), ...label('instance', 'n1'), ...label('job', 'ximp')])],
    ['two definitions, between the packed runs', frameOf([...SEQ, ...TS, ...packedIds([1]), 0x1a, 3, ...str(0x12, 'a'), ...packedValues([1]), 0x1a, 5, 0x08, 2, ...str(0x12, 'b')])],
    ['a definition without an id (0)', defining([...str(0x12, 'm')])],
    ['a definition without a name', defining([...ID1, ...label('a', 'b')])],
    ['a definition with an empty body', defining([])],
    ['the name given twice (last wins)', defining([...ID1, ...str(0x12, 'm'), ...str(0x12, 'n')])],
    ['the id given twice (last wins)', defining([...ID1, 0x08, 2, ...str(0x12, 'm')])],
    ['an id of 2^32', defining([0x08, ...varintBytes(2 ** 32), ...str(0x12, 'm')])],
    ['an id of 2^32 - 1', defining([0x08, ...varintBytes(2 ** 32 - 1), ...str(0x12, 'm')])],
    ['an id of 10 bytes', defining([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, ...str(0x12, 'm')])],
    ['an id with the wrong wire type', defining([0x0d, 1, 0, 0, 0, ...str(0x12, 'm')])],
    ['an unknown field in a definition', defining([...ID1, ...str(0x12, 'm'), 0x20, 1])],
    ['a label without a value', defining([...ID1, ...str(0x12, 'm'), ...label('a', null)])],
    ['a label without a name', defining([...ID1, ...str(0x12, 'm'), ...label(null, 'v')])],
    ['a label name given twice', defining([...ID1, ...str(0x12, 'm'), 0x1a, 6, ...str(0x0a, 'a'), ...str(0x0a, 'b')])],
    ['an unknown field in a label', defining([...ID1, ...str(0x12, 'm'), 0x1a, 5, ...str(0x0a, 'a'), 0x18, 1])],
    ['a repeated label name', defining([...ID1, ...str(0x12, 'm'), ...label('a', '1'), ...label('a', '2')])],
    ['a label value of 1024 characters', defining([...ID1, ...str(0x12, 'm'), ...label('a', 'v'.repeat(1024))])],
    ['a label value of 1025 characters', defining([...ID1, ...str(0x12, 'm'), ...label('a', 'v'.repeat(1025))])],
    ['a non-ASCII label value', defining([...ID1, ...str(0x12, 'm'), ...label('a', 'caf\u00e9')])],
    ['invalid UTF-8 in a label value', defining([...ID1, ...str(0x12, 'm'), 0x1a, 7, ...str(0x0a, 'a'), 0x12, 2, 0xc3, 0x28])],
    ['a name of 256 characters', defining([...ID1, ...str(0x12, 'm'.repeat(256))])],
    ['a name of 257 characters', defining([...ID1, ...str(0x12, 'm'.repeat(257))])],
    ['an invalid metric name', defining([...ID1, ...str(0x12, 'm-1')])],
    ['an invalid label name', defining([...ID1, ...str(0x12, 'm'), ...label('a:b', 'v')])],
    ['labels at the limit', defining([...ID1, ...str(0x12, 'm'), ...Array.from({ length: 8 }, (_, i) => label(`l${i}`, 'v')).flat()])],
    ['labels over the limit', defining([...ID1, ...str(0x12, 'm'), ...Array.from({ length: 9 }, (_, i) => label(`l${i}`, 'v')).flat()])],
    ['definitions at the limit', defining(...Array.from({ length: 64 }, (_, i) => [0x08, i, ...str(0x12, 'm')]))],
    ['definitions over the limit', defining(...Array.from({ length: 65 }, (_, i) => [0x08, i, ...str(0x12, 'm')]))],
    ['a label past its definition\'s end', frameOf([...SEQ, ...TS, 0x1a, 5, ...ID1, ...str(0x12, 'm'), 0x1a, 4, ...str(0x0a, 'a')])],
    ['a text past its label\'s end', defining([...ID1, ...str(0x12, 'm'), 0x1a, 2, 0x0a, 5, 0x61])],
    ['a definition past the batch\'s end', frameOf([...SEQ, ...TS, 0x1a, 40, ...ID1])],
    ['definitions with the wrong wire type', frameOf([...SEQ, ...TS, 0x18, 1])],
  ];
}

t.test('hand-made hostile encodings decode or fail the same', (t) => {
  for (const [what, bytes] of HOSTILE) t.ok(sameOutcome(t, bytes), what);
  readByHand = 0;
  definedByHand = 0;
  sameOutcome(t, HOSTILE[0][1]);
  t.equal(readByHand, 1, 'the plain batch is read by hand');
  const [, asAgentsSend] = HOSTILE.find(([what]) => what === 'a definition as agents send it')!;
  sameOutcome(t, asAgentsSend);
  t.equal(definedByHand, 1, 'so is a batch with a definition as agents send it');
  // The decoded frame of the plain batch, as protobufjs itself reads the body.
  const plainBody = HOSTILE[0][1].subarray(2);
  const viaProtobufjs = MetricBatchType.toObject(MetricBatchType.decode(plainBody)) as { seriesIds: number[]; values: number[] };
  const read = readAgentFrame(HOSTILE[0][1], LIMITS);
  t.ok(read.type === 'batch' && read.seriesIds instanceof Uint32Array && read.values instanceof Float64Array, 'typed arrays');
  if (read.type === 'batch') t.same([Array.from(read.seriesIds), Array.from(read.values)], [viaProtobufjs.seriesIds, viaProtobufjs.values]);
  t.end();
});

t.test('oversized frames fail with 1009 before anything is read', (t) => {
  const big = encodeAgentFrame({ type: 'batch', sequence: 1, timestampUnixMs: 1, definitions: [], seriesIds: [1], values: [1], droppedBatchesTotal: 0 });
  const limits = { ...LIMITS, maxFrameBytes: big.length - 1 };
  t.ok(sameOutcome(t, big, limits));
  t.throws(() => readAgentFrame(big, limits), new ProtocolError(1009, `frame of ${big.length} bytes exceeds the limit of ${big.length - 1} bytes`));
  t.end();
});

t.test('values are copied out of the frame, not viewed', (t) => {
  const bytes = Buffer.from(encodeAgentFrame({ type: 'batch', sequence: 1, timestampUnixMs: 1, definitions: [], seriesIds: [1, 2], values: [3, 4], droppedBatchesTotal: 0 }));
  const read = readAgentFrame(bytes, LIMITS);
  bytes.fill(0);
  t.same(read.type === 'batch' ? [Array.from(read.seriesIds), Array.from(read.values)] : null, [[1, 2], [3, 4]]);
  t.end();
});

t.test('the hand-encoded Ack is the codec\'s Ack, byte for byte', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })), (sequence) => {
      const mine = encodeAck(sequence);
      const theirs = Buffer.from(encodeCollectorFrame({ type: 'ack', sequence }));
      return mine.equals(theirs) && (decodeCollectorFrame(mine) as { sequence: number }).sequence === sequence;
    }),
    { numRuns: 2000 },
  );
  for (const sequence of [1, 127, 128, 16383, 16384, 2 ** 32, 2 ** 53 - 1]) {
    t.same(encodeAck(sequence), Buffer.from(encodeCollectorFrame({ type: 'ack', sequence })), `sequence ${sequence}`);
  }
  t.end();
});
