import t from 'tap';
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import {
  CloseCodes,
  DEFAULT_LIMITS,
  ErrorCodes,
  ProtocolError,
  decodeAgentFrame,
  decodeCollectorFrame,
  encodeAgentFrame,
  encodeCollectorFrame,
} from '@ximp/shared';
import type { AgentFrame, CollectorFrame, Label, Limits } from '@ximp/shared';

/**
 * The codec faces untrusted bytes on both ends. Whatever arrives, decoding either yields a frame
 * that keeps every invariant the sessions rely on, or throws a ProtocolError carrying a close
 * code — never another exception, and never slowly.
 */

// Small limits so that the limit checks are reached often; random inputs go past maxFrameBytes.
const LIMITS: Limits = { maxFrameBytes: 16_384, maxSamplesPerBatch: 64, maxLabelsPerSeries: 8, maxSeriesPerSession: 1000 };
const MAX_DECODE_MS = 50;
const UINT32_MAX = 0xffff_ffff;
const SAFE = Number.MAX_SAFE_INTEGER;

const NODE_NAME = /^[a-z0-9][a-z0-9.-]{0,252}$/;
const STREAM_ID = /^[A-Za-z0-9_-]{1,64}$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

// --- invariants of a decoded frame ---

class InvariantBroken extends Error {}

function expect(cond: boolean, what: string): void {
  if (!cond) throw new InvariantBroken(what);
}

const isUint32 = (n: unknown): boolean => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= UINT32_MAX;
const isText = (s: unknown, max: number): boolean => typeof s === 'string' && s.length <= max;

function checkLabels(labels: Label[], where: string): void {
  expect(Array.isArray(labels) && labels.length <= LIMITS.maxLabelsPerSeries, `${where}: label count`);
  const seen = new Set<string>();
  for (const l of labels) {
    expect(isText(l.name, 256) && LABEL_NAME.test(l.name), `${where}: label name`);
    expect(!seen.has(l.name), `${where}: unique label names`);
    seen.add(l.name);
    expect(isText(l.value, 1024), `${where}: label value`);
  }
}

function checkAgentFrame(f: AgentFrame): void {
  switch (f.type) {
    case 'hello':
      expect(isText(f.node, 253) && NODE_NAME.test(f.node), 'hello.node');
      expect(isUint32(f.protocolVersion) && f.protocolVersion >= 1, 'hello.protocol_version');
      expect(isUint32(f.intervalMs) && f.intervalMs >= 1, 'hello.interval_ms');
      expect(isText(f.streamId, 64) && STREAM_ID.test(f.streamId), 'hello.stream_id');
      expect(isText(f.agentVersion, 64) && isText(f.bootId, 64), 'hello texts');
      for (const k of ['hostname', 'os', 'kernel', 'arch', 'cpuModel', 'virtualization'] as const) {
        expect(isText(f.host[k], 1024), `hello.host.${k}`);
      }
      expect(isUint32(f.host.cpuCount), 'hello.host.cpu_count');
      expect(Number.isFinite(f.host.memoryBytes) && f.host.memoryBytes >= 0, 'hello.host.memory_bytes');
      checkLabels(f.labels, 'hello');
      return;
    case 'batch':
      expect(Number.isSafeInteger(f.sequence) && f.sequence >= 1, 'batch.sequence >= 1 and exact');
      expect(Number.isSafeInteger(f.timestampUnixMs) && f.timestampUnixMs > 0, 'batch.timestamp');
      expect(Array.isArray(f.seriesIds) && Array.isArray(f.values), 'batch arrays');
      expect(f.seriesIds.length === f.values.length, 'ids.length === values.length');
      expect(f.seriesIds.length <= LIMITS.maxSamplesPerBatch, 'samples within limit');
      expect(f.seriesIds.every(isUint32), 'series ids are uint32');
      expect(f.values.every((v) => typeof v === 'number'), 'values are numbers');
      expect(f.definitions.length <= LIMITS.maxSamplesPerBatch, 'definitions within limit');
      for (const d of f.definitions) {
        expect(isUint32(d.id), 'definition id');
        expect(isText(d.name, 256) && METRIC_NAME.test(d.name), 'metric name');
        checkLabels(d.labels, 'definition');
      }
      expect(Number.isFinite(f.droppedBatchesTotal) && f.droppedBatchesTotal >= 0, 'dropped_batches_total');
      return;
    case 'error':
      expect(isUint32(f.code) && isText(f.message, 1024), 'error frame');
      return;
    default:
      expect(false, `unknown frame type ${String((f as { type: unknown }).type)}`);
  }
}

function checkCollectorFrame(f: CollectorFrame): void {
  switch (f.type) {
    case 'welcome':
      expect(isText(f.sessionId, 128) && isUint32(f.protocolVersion), 'welcome fields');
      for (const v of Object.values(f.limits)) expect(isUint32(v) && v >= 1, 'welcome limits are positive');
      expect(Number.isFinite(f.tokenExpiresUnixMs), 'welcome.token_expires_unix_ms');
      expect(Number.isSafeInteger(f.lastAckedSequence) && f.lastAckedSequence >= 0, 'welcome.last_acked_sequence');
      return;
    case 'ack':
      expect(Number.isSafeInteger(f.sequence) && f.sequence >= 1, 'ack.sequence >= 1 and exact');
      return;
    case 'error':
      expect(isUint32(f.code) && isText(f.message, 1024), 'error frame');
      return;
    default:
      expect(false, `unknown frame type ${String((f as { type: unknown }).type)}`);
  }
}

// --- the probe every input goes through, with statistics ---

const stats = { frames: 0, decodes: 0, ok: 0, tooBig: 0, malformed: 0, maxMs: 0, slowest: '', totalMs: 0 };

function elapsed(fn: () => unknown): number {
  const t0 = performance.now();
  try {
    fn();
  } catch {
    // only the time matters here
  }
  return performance.now() - t0;
}

/**
 * Runs `fn` and records its duration. A slow call is timed twice more and counts with its
 * fastest run, so a garbage-collection pause is not blamed on the input, but slowness the
 * input causes is.
 */
function timed<T>(fn: () => T, what: string): T {
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    let ms = performance.now() - t0;
    stats.totalMs += ms;
    if (ms > MAX_DECODE_MS) ms = Math.min(ms, elapsed(fn), elapsed(fn));
    if (ms > stats.maxMs) {
      stats.maxMs = ms;
      stats.slowest = what;
    }
  }
}

function checkRefusal(err: unknown, data: Uint8Array, limit: number): void {
  // Anything but a ProtocolError escapes to fast-check, which reports the input that caused it.
  if (!(err instanceof ProtocolError)) throw err;
  if (err.closeCode === CloseCodes.FRAME_TOO_BIG) {
    expect(err.code === ErrorCodes.PROTOCOL_FRAME_TOO_BIG, '1009 carries the frame-too-big code');
    expect(data.length > limit, '1009 only for frames over the limit');
    stats.tooBig++;
  } else {
    expect(err.closeCode === CloseCodes.MALFORMED, `close code is 4400, not ${err.closeCode}`);
    expect(err.code === ErrorCodes.PROTOCOL_MALFORMED, '4400 carries the malformed code');
    expect(data.length <= limit, 'an oversized frame is refused as too big, before decoding');
    stats.malformed++;
  }
}

/** Decodes `data` as both an agent and a collector frame; throws only when a property breaks. */
function probe(data: Uint8Array): void {
  stats.frames++;
  for (const side of ['agent', 'collector'] as const) {
    stats.decodes++;
    try {
      try {
        const what = `${side} decode of ${data.length} bytes`;
        if (side === 'agent') checkAgentFrame(timed(() => decodeAgentFrame(data, LIMITS), what));
        else checkCollectorFrame(timed(() => decodeCollectorFrame(data, LIMITS.maxFrameBytes), what));
        stats.ok++;
      } catch (err) {
        if (err instanceof InvariantBroken) throw err;
        checkRefusal(err, data, LIMITS.maxFrameBytes);
      }
    } catch (err) {
      // Name the exact bytes, so a failure can be replayed without fast-check.
      const hex = Buffer.from(data.subarray(0, 256)).toString('hex');
      throw new Error(`${side} side: ${(err as Error)?.message ?? String(err)}; input (${data.length} bytes): ${hex}`, { cause: err });
    }
  }
}

// --- generators of valid frames ---

// Decoded frames are plain objects; fast-check may otherwise build null-prototype ones.
const PLAIN = { noNullPrototype: true } as const;
const uint32 = fc.integer({ min: 0, max: UINT32_MAX });
const positiveUint32 = fc.integer({ min: 1, max: UINT32_MAX });
const text = (maxLength: number) => fc.string({ unit: 'grapheme', maxLength });
const ascii = (maxLength: number) => fc.string({ unit: 'grapheme-ascii', maxLength });

const labelName = fc.oneof(
  fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,15}$/),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '__name__', 'hasOwnProperty'),
);
const labels = fc.uniqueArray(fc.record({ name: labelName, value: text(12) }, PLAIN), {
  selector: (l) => l.name,
  maxLength: LIMITS.maxLabelsPerSeries,
});
const metricName = fc.oneof(
  fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,30}$/),
  fc.constantFrom('__proto__', 'node_cpu_seconds_total', 'up'),
);

const helloArb = fc.record({
  type: fc.constant('hello' as const),
  protocolVersion: positiveUint32,
  node: fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,40}$/),
  agentVersion: ascii(64),
  bootId: ascii(64),
  host: fc.record({
    hostname: text(20),
    os: text(20),
    kernel: ascii(20),
    arch: ascii(8),
    cpuModel: text(20),
    cpuCount: uint32,
    memoryBytes: fc.integer({ min: 0, max: SAFE }),
    virtualization: ascii(8),
  }, PLAIN),
  labels,
  intervalMs: positiveUint32,
  streamId: fc.stringMatching(STREAM_ID),
}, PLAIN);

const batchArb = fc
  .record({
    type: fc.constant('batch' as const),
    sequence: fc.integer({ min: 1, max: SAFE }),
    timestampUnixMs: fc.integer({ min: 1, max: SAFE }),
    definitions: fc.array(fc.record({ id: uint32, name: metricName, labels }, PLAIN), { maxLength: 4 }),
    // fc.double() includes NaN, ±Infinity and -0.
    samples: fc.array(fc.tuple(uint32, fc.double()), { maxLength: LIMITS.maxSamplesPerBatch }),
    droppedBatchesTotal: fc.integer({ min: 0, max: SAFE }),
  }, PLAIN)
  .map(({ samples, ...rest }) => ({ ...rest, seriesIds: samples.map((s) => s[0]), values: samples.map((s) => s[1]) }));

const errorArb = fc.record({ type: fc.constant('error' as const), code: uint32, message: text(40) }, PLAIN);

const welcomeArb = fc.record({
  type: fc.constant('welcome' as const),
  sessionId: ascii(128),
  protocolVersion: uint32,
  limits: fc.record({
    maxFrameBytes: positiveUint32,
    maxSamplesPerBatch: positiveUint32,
    maxLabelsPerSeries: positiveUint32,
    maxSeriesPerSession: positiveUint32,
  }, PLAIN),
  tokenExpiresUnixMs: fc.integer({ min: 0, max: SAFE }),
  lastAckedSequence: fc.integer({ min: 0, max: SAFE }),
  pingIntervalMs: uint32,
}, PLAIN);

const ackArb = fc.record({ type: fc.constant('ack' as const), sequence: fc.integer({ min: 1, max: SAFE }) }, PLAIN);

const agentFrameArb: fc.Arbitrary<AgentFrame> = fc.oneof(helloArb, batchArb, errorArb);
const collectorFrameArb: fc.Arbitrary<CollectorFrame> = fc.oneof(welcomeArb, ackArb, errorArb);
const encodedFrameArb = fc.oneof(agentFrameArb.map(encodeAgentFrame), collectorFrameArb.map(encodeCollectorFrame));

// Mutation runs draw from a fixed pool of valid frames: building a fresh valid frame for each of
// thousands of runs costs more than the decoding under test, and the mutations supply variety.
const validPool = fc.sample(encodedFrameArb, { numRuns: 500, seed: 20_261_123 });
const pooledFrameArb = fc.nat({ max: validPool.length - 1 }).map((i) => validPool[i]);

// --- a raw protobuf writer, for shapes our encoder never produces ---

function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

type PbField =
  | { field: number; kind: 'varint'; value: bigint }
  | { field: number; kind: 'i64' | 'i32' | 'bytes'; data: Uint8Array }
  | { field: number; kind: 'msg' | 'group'; children: PbField[] };

function encodeFields(fields: PbField[]): number[] {
  const out: number[] = [];
  for (const f of fields) {
    switch (f.kind) {
      case 'varint':
        out.push(...varint(f.field * 8), ...varint(f.value));
        break;
      case 'i64':
        out.push(...varint(f.field * 8 + 1), ...f.data.subarray(0, 8), ...new Array(Math.max(0, 8 - f.data.length)).fill(0));
        break;
      case 'i32':
        out.push(...varint(f.field * 8 + 5), ...f.data.subarray(0, 4), ...new Array(Math.max(0, 4 - f.data.length)).fill(0));
        break;
      case 'bytes':
        out.push(...varint(f.field * 8 + 2), ...varint(f.data.length), ...f.data);
        break;
      case 'msg': {
        const body = encodeFields(f.children);
        out.push(...varint(f.field * 8 + 2), ...varint(body.length), ...body);
        break;
      }
      case 'group':
        out.push(...varint(f.field * 8 + 3), ...encodeFields(f.children), ...varint(f.field * 8 + 4));
        break;
    }
  }
  return out;
}

// Field numbers 1..8 are the schema's own (at every level), so wrong wire types hit real fields.
const fieldNo = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 8 }), weight: 8 },
  { arbitrary: fc.integer({ min: 9, max: 536_870_911 }), weight: 1 },
);
const varintValue = fc.oneof(
  fc.bigInt({ min: 0n, max: 300n }),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.constantFrom(0n, 1n, (1n << 53n) + 1n, (1n << 63n), (1n << 64n) - 1n),
);
const { pbField } = fc.letrec<{ pbField: PbField }>((tie) => ({
  pbField: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ field: fieldNo, kind: fc.constant('varint' as const), value: varintValue }),
    fc.record({ field: fieldNo, kind: fc.constantFrom('i64' as const, 'i32' as const), data: fc.uint8Array({ minLength: 8, maxLength: 8 }) }),
    fc.record({
      field: fieldNo,
      kind: fc.constant('bytes' as const),
      data: fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.string({ maxLength: 20 }).map((s) => Uint8Array.from(Buffer.from(s)))),
    }),
    fc.record({ field: fieldNo, kind: fc.constantFrom('msg' as const, 'group' as const), children: fc.array(tie('pbField'), { maxLength: 6 }) }),
  ),
}));
// The top level mostly opens one of the oneof members (1..3) with a random body.
const pbMessage = fc
  .tuple(
    fc.record({ field: fc.integer({ min: 1, max: 3 }), kind: fc.constant('msg' as const), children: fc.array(pbField, { maxLength: 8 }) }),
    fc.array(pbField, { maxLength: 2 }),
  )
  .map(([top, rest]) => Uint8Array.from(encodeFields([top, ...rest])));

// --- mutations of valid frames ---

type Mutation =
  | { op: 'flip'; at: number; mask: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'insert'; at: number; data: Uint8Array }
  | { op: 'delete'; at: number; len: number }
  | { op: 'truncate'; at: number }
  | { op: 'repeat'; at: number; len: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.constantFrom(0x00, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x12, 0x1a) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), data: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
);

function mutate(frame: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = Buffer.from(frame);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.op) {
      case 'flip':
        if (at < b.length) b[at] ^= m.mask;
        break;
      case 'set':
        if (at < b.length) b[at] = m.byte;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.data, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'repeat':
        b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at)]);
        break;
    }
  }
  return Uint8Array.from(b);
}

/** Large random inputs, filled by a seeded xorshift: generating them byte by byte is slow. */
function noise(minLength: number, maxLength: number): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.integer({ min: minLength, max: maxLength }), fc.integer({ min: 1, max: 0x7fff_ffff })).map(([len, seed]) => {
    const out = new Uint8Array(len);
    let x = seed;
    for (let i = 0; i < len; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  });
}

// --- properties ---

const RUNS = { bytes: 4000, mutated: 3500, wrongTypes: 3000, roundTrip: 1000 };

// The first decode of each message type compiles protobufjs' decoder; that is not the input's cost.
for (const frame of validPool) {
  elapsed(() => decodeAgentFrame(frame, LIMITS));
  elapsed(() => decodeCollectorFrame(frame, LIMITS.maxFrameBytes));
}

t.test('(a) arbitrary bytes decode to a valid frame or a ProtocolError', async (tt) => {
  const lengths = fc.oneof(
    fc.constant(new Uint8Array(0)),
    fc.uint8Array({ maxLength: 16 }),
    fc.uint8Array({ maxLength: 256 }),
    noise(0, 2048),
    noise(LIMITS.maxFrameBytes - 2, LIMITS.maxFrameBytes + 64),
    // Random bodies behind a well-formed envelope reach the field checks, not just the reader.
    fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.uint8Array({ maxLength: 256 }))
      .map(([field, body]) => Uint8Array.from([field * 8 + 2, ...varint(body.length), ...body])),
  );
  const before = stats.frames;
  fc.assert(
    fc.property(lengths, (data) => probe(data)),
    { numRuns: RUNS.bytes },
  );
  tt.equal(stats.frames - before, RUNS.bytes);
});

t.test('(b) valid frames with flips, insertions and truncations', async (tt) => {
  const before = stats.frames;
  fc.assert(
    fc.property(pooledFrameArb, fc.array(mutationArb, { minLength: 1, maxLength: 5 }), (frame, mutations) =>
      probe(mutate(frame, mutations)),
    ),
    { numRuns: RUNS.mutated },
  );
  tt.equal(stats.frames - before, RUNS.mutated);
});

t.test('(c) well-formed protobuf with wrong field types', async (tt) => {
  const before = stats.frames;
  const inputs = fc.oneof(
    pbMessage,
    // A valid frame followed by fields of the wrong type: proto3 merges, the last value wins.
    fc.tuple(pooledFrameArb, pbMessage).map(([a, b]) => Uint8Array.from(Buffer.concat([a, b]))),
  );
  fc.assert(
    fc.property(inputs, (data) => probe(data)),
    { numRuns: RUNS.wrongTypes },
  );
  tt.equal(stats.frames - before, RUNS.wrongTypes);
});

t.test('encode(decode(x)) is x for every valid frame', async (tt) => {
  fc.assert(
    fc.property(agentFrameArb, (frame) => {
      const wire = encodeAgentFrame(frame);
      const decoded = decodeAgentFrame(wire, LIMITS);
      checkAgentFrame(decoded);
      // isDeepStrictEqual compares with Object.is: NaN equals NaN and -0 is not 0.
      expect(isDeepStrictEqual(decoded, frame), 'decode(encode(frame)) equals frame');
      expect(Buffer.from(encodeAgentFrame(decoded)).equals(wire), 'encode(decode(x)) equals x');
    }),
    { numRuns: RUNS.roundTrip },
  );
  fc.assert(
    fc.property(collectorFrameArb, (frame) => {
      const wire = encodeCollectorFrame(frame);
      const decoded = decodeCollectorFrame(wire, LIMITS.maxFrameBytes);
      checkCollectorFrame(decoded);
      expect(isDeepStrictEqual(decoded, frame), 'decode(encode(frame)) equals frame');
      expect(Buffer.from(encodeCollectorFrame(decoded)).equals(wire), 'encode(decode(x)) equals x');
    }),
    { numRuns: RUNS.roundTrip },
  );
  tt.pass('round trips hold');
});

t.test('totals: enough frames, every decode fast, no prototype touched', async (tt) => {
  tt.ok(stats.frames >= 10_000, `${stats.frames} random and mutated frames`);
  tt.equal(stats.decodes, stats.frames * 2, 'each decoded by both sides');
  tt.ok(stats.ok > 0 && stats.malformed > 0 && stats.tooBig > 0, 'every outcome was reached');
  tt.ok(stats.maxMs < MAX_DECODE_MS, `slowest decode ${stats.maxMs.toFixed(2)} ms < ${MAX_DECODE_MS} ms (${stats.slowest})`);
  // All decodes together: tens of thousands of frames of up to 16 KiB take well under a second.
  tt.ok(stats.totalMs < 10_000, `all decodes together took ${Math.round(stats.totalMs)} ms`);
  tt.comment(
    `decodes: ${stats.decodes}, frames ok: ${stats.ok}, 4400: ${stats.malformed}, 1009: ${stats.tooBig}, slowest ${stats.maxMs.toFixed(2)} ms (${stats.slowest})`,
  );
  const probeObject: Record<string, unknown> = {};
  tt.equal(probeObject.name, undefined, 'Object.prototype has no name');
  tt.equal(probeObject.value, undefined, 'Object.prototype has no value');
  tt.equal(Object.getOwnPropertyNames(Object.prototype).includes('polluted'), false);
});

t.test('full-size hostile frames cost time linear in their size, bounded by the frame limit', async (tt) => {
  // 1 MiB of empty sub-messages is the most objects per byte the decoder can be made to build.
  const size = DEFAULT_LIMITS.maxFrameBytes - 16;
  const fill = (tag: number) => {
    const body = Buffer.alloc(size - 8);
    for (let i = 0; i < body.length; i += 2) body[i] = tag;
    return body;
  };
  const envelope = (field: number, body: Uint8Array) =>
    Uint8Array.from(Buffer.concat([Buffer.from([field * 8 + 2, ...varint(body.length)]), body]));
  const withSeq = (body: Buffer) => Buffer.concat([Buffer.from([0x08, 0x01, 0x10, 0x01]), body]);
  const hostile: Array<[string, Uint8Array]> = [
    ['1 MiB of empty series definitions', envelope(2, withSeq(fill(0x1a)))],
    ['1 MiB of unpacked series ids', envelope(2, withSeq(fill(0x20)))],
    ['1 MiB of empty hello labels', envelope(1, fill(0x32))],
    ['1 MiB of nested groups', Uint8Array.from(Buffer.alloc(size, 0x7b))],
  ];
  for (const [what, data] of hostile) {
    const t0 = performance.now();
    let err: unknown;
    try {
      decodeAgentFrame(data);
    } catch (e) {
      err = e;
    }
    const ms = performance.now() - t0;
    tt.ok(err instanceof ProtocolError && err.closeCode === CloseCodes.MALFORMED, `${what}: refused with 4400`);
    tt.ok(ms < 5000, `${what}: ${ms.toFixed(1)} ms`);
  }
});

t.test('decode throughput of 200-sample batches', async (tt) => {
  const n = 200;
  const wire = encodeAgentFrame({
    type: 'batch',
    sequence: 123_456,
    timestampUnixMs: 1_790_000_000_000,
    definitions: [],
    seriesIds: Array.from({ length: n }, (_, i) => i + 1),
    values: Array.from({ length: n }, (_, i) => i * 1.5 + 0.125),
    droppedBatchesTotal: 0,
  });
  let batches = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 250) {
    for (let i = 0; i < 100; i++) decodeAgentFrame(wire);
    batches += 100;
  }
  const seconds = (performance.now() - t0) / 1000;
  tt.comment(
    `decode: ${Math.round(batches / seconds)} batches/s, ${Math.round((batches * n) / seconds)} samples/s ` +
      `(${wire.length} bytes per 200-sample batch)`,
  );
  tt.ok(batches > 0);
});
