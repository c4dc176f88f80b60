import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import {
  CloseCodes,
  DEFAULT_LIMITS,
  ErrorCodes,
  MAX_DEFINITIONS_PER_FRAME,
  ProtocolError,
  XimpError,
  decodeAgentFrame,
  decodeCollectorFrame,
  encodeAgentFrame,
  encodeCollectorFrame,
} from '@ximp/shared';
import type { AgentFrame, Hello, Limits, MetricBatch, SeriesDefinition } from '@ximp/shared';

type Tap = Test;

// --- a minimal protobuf writer, so tests can build frames the codec's own encoder never would ---

function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  if (v < 0n) v = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

function tag(field: number, wireType: number): number[] {
  return varint((field << 3) | wireType);
}

function fieldVarint(field: number, n: number | bigint): number[] {
  return [...tag(field, 0), ...varint(n)];
}

function fieldBytes(field: number, body: number[] | Uint8Array): number[] {
  return [...tag(field, 2), ...varint(body.length), ...body];
}

function fieldString(field: number, s: string): number[] {
  return fieldBytes(field, Buffer.from(s, 'utf8'));
}

const bytes = (list: number[]): Uint8Array => Uint8Array.from(list);

// --- sample frames ---

function hello(over: Partial<Hello> = {}): Hello {
  return {
    type: 'hello',
    protocolVersion: 1,
    node: 'compute-node-04',
    agentVersion: '0.1.0',
    bootId: '1b3c7e0e-5d43-4c57-9d0e-6a0f1d2e3f40',
    host: {
      hostname: 'compute-node-04.example.net',
      os: 'Debian GNU/Linux 12 (bookworm)',
      kernel: '6.1.0-18-amd64',
      arch: 'x64',
      cpuModel: 'AMD EPYC 7763 64-Core Processor',
      cpuCount: 128,
      memoryBytes: 549_755_813_888,
      virtualization: 'kvm',
    },
    labels: [
      { name: 'rack', value: 'r12' },
      { name: 'dc', value: 'fra-1' },
    ],
    intervalMs: 10_000,
    streamId: 'q8Hk3-ZtR_0aB9',
    ...over,
  };
}

function batch(over: Partial<MetricBatch> = {}): MetricBatch {
  return {
    type: 'batch',
    sequence: 42,
    timestampUnixMs: 1_790_000_000_123,
    definitions: [
      { id: 1, name: 'node_load1', labels: [] },
      {
        id: 2,
        name: 'node_cpu_seconds_total',
        labels: [
          { name: 'cpu', value: '0' },
          { name: 'mode', value: 'idle' },
        ],
      },
    ],
    seriesIds: [1, 2],
    values: [0.25, 12345.5],
    droppedBatchesTotal: 3,
    ...over,
  };
}

function def(over: Partial<SeriesDefinition> = {}): SeriesDefinition {
  return { id: 7, name: 'node_memory_MemTotal_bytes', labels: [], ...over };
}

/** Asserts `fn` throws a ProtocolError with this code and close code (never message text). */
function rejects(tt: Tap, fn: () => unknown, closeCode: number, what: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  tt.ok(caught instanceof ProtocolError, `${what}: throws a ProtocolError`);
  tt.ok(caught instanceof XimpError, `${what}: which is an XimpError`);
  const err = caught as ProtocolError;
  tt.equal(err?.closeCode, closeCode, `${what}: close code ${closeCode}`);
  tt.equal(
    err?.code,
    closeCode === CloseCodes.FRAME_TOO_BIG ? ErrorCodes.PROTOCOL_FRAME_TOO_BIG : ErrorCodes.PROTOCOL_MALFORMED,
    `${what}: error code`,
  );
}

const malformedAgent = (tt: Tap, frame: AgentFrame, what: string, limits?: Limits): void =>
  rejects(tt, () => decodeAgentFrame(encodeAgentFrame(frame), limits), CloseCodes.MALFORMED, what);

// --- round trips ---

t.test('hello with host facts and labels round-trips', async (tt) => {
  const frame = hello();
  tt.strictSame(decodeAgentFrame(encodeAgentFrame(frame)), frame);
});

t.test('hello carries the runtime in the host facts; an older agent sends none', async (tt) => {
  const frame = hello({ host: { ...hello().host, runtime: 'node v24.22.3' } });
  const decoded = decodeAgentFrame(encodeAgentFrame(frame));
  tt.strictSame(decoded, frame);
  tt.equal(decoded.type === 'hello' && decoded.host.runtime, 'node v24.22.3');
  const older = decodeAgentFrame(encodeAgentFrame(hello()));
  tt.notOk(older.type === 'hello' && 'runtime' in older.host, 'absent, not "", so older frames decode as they were');
  malformedAgent(tt, hello({ host: { ...hello().host, runtime: 'n'.repeat(65) } }), 'runtime of 65 characters');
});

t.test('welcome round-trips, including a 2^53-1 last acked sequence', async (tt) => {
  const frame = {
    type: 'welcome' as const,
    sessionId: 's-5f1c2a',
    protocolVersion: 1,
    limits: { maxFrameBytes: 65_536, maxSamplesPerBatch: 1000, maxLabelsPerSeries: 16, maxSeriesPerSession: 5000 },
    tokenExpiresUnixMs: 1_821_536_000_000,
    lastAckedSequence: Number.MAX_SAFE_INTEGER,
    pingIntervalMs: 10_000,
  };
  tt.strictSame(decodeCollectorFrame(encodeCollectorFrame(frame)), frame);
  // A welcome without limits means the defaults, and 0 for "token never expires" stays 0.
  const bare = decodeCollectorFrame(bytes(fieldBytes(1, fieldString(1, 'x'))));
  tt.strictSame(bare.type === 'welcome' && bare.limits, { ...DEFAULT_LIMITS });
  tt.equal(bare.type === 'welcome' && bare.tokenExpiresUnixMs, 0);
  tt.equal(bare.type === 'welcome' && bare.lastAckedSequence, 0);
  tt.equal(bare.type === 'welcome' && bare.pingIntervalMs, 0, 'an older collector does not say: 0');
});

t.test('metric batch round-trips definitions and packed ids/values, special doubles included', async (tt) => {
  const frame = batch({
    sequence: Number.MAX_SAFE_INTEGER,
    seriesIds: [1, 2, 1, 2, 4_294_967_295, 0],
    values: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, Number.MIN_VALUE, Number.MAX_VALUE],
  });
  const decoded = decodeAgentFrame(encodeAgentFrame(frame));
  // isDeepStrictEqual compares with Object.is: NaN equals NaN, -0 differs from 0.
  tt.ok(isDeepStrictEqual(decoded, frame), 'decoded batch equals the original');
  tt.ok(decoded.type === 'batch' && Object.is(decoded.values[3], -0), '-0 stays -0');
  tt.ok(decoded.type === 'batch' && Number.isNaN(decoded.values[0]), 'NaN stays NaN (stale marker)');
  tt.equal(decoded.type === 'batch' && decoded.sequence, 9_007_199_254_740_991);
});

t.test('series ids and values travel packed', async (tt) => {
  const n = 200;
  const frame = batch({
    definitions: [],
    seriesIds: Array.from({ length: n }, (_, i) => i),
    values: Array.from({ length: n }, (_, i) => i / 3),
  });
  // 200 doubles packed are 1600 bytes; unpacked they would need 200 more tag bytes.
  tt.ok(encodeAgentFrame(frame).length < 1600 + 2 * n + 64, 'encoding is packed');
});

t.test('ack and error frames round-trip in both directions', async (tt) => {
  const ack = { type: 'ack' as const, sequence: Number.MAX_SAFE_INTEGER };
  tt.strictSame(decodeCollectorFrame(encodeCollectorFrame(ack)), ack);
  const err = { type: 'error' as const, code: CloseCodes.MALFORMED, message: 'batch before hello' };
  tt.strictSame(decodeCollectorFrame(encodeCollectorFrame(err)), err);
  tt.strictSame(decodeAgentFrame(encodeAgentFrame(err)), err);
});

// --- required fields ---

t.test('hello: node must be present and a valid node name', async (tt) => {
  malformedAgent(tt, hello({ node: '' }), 'missing node');
  malformedAgent(tt, hello({ node: 'Compute-Node' }), 'uppercase node');
  malformedAgent(tt, hello({ node: '-leading-dash' }), 'leading dash');
  malformedAgent(tt, hello({ node: 'node_04' }), 'underscore');
  malformedAgent(tt, hello({ node: 'a'.repeat(254) }), '254 characters');
  tt.equal((decodeAgentFrame(encodeAgentFrame(hello({ node: 'a'.repeat(253) }))) as Hello).node.length, 253);
});

t.test('hello: protocol_version, interval_ms and stream_id are required', async (tt) => {
  malformedAgent(tt, hello({ protocolVersion: 0 }), 'protocol_version 0');
  malformedAgent(tt, hello({ intervalMs: 0 }), 'interval_ms 0');
  malformedAgent(tt, hello({ streamId: '' }), 'missing stream_id');
  malformedAgent(tt, hello({ streamId: 'has space' }), 'stream_id with a space');
  malformedAgent(tt, hello({ streamId: '../../etc' }), 'stream_id with a path');
  malformedAgent(tt, hello({ streamId: 'x'.repeat(65) }), 'stream_id of 65 characters');
});

t.test('batch: sequence, timestamp and matching ids/values are required', async (tt) => {
  malformedAgent(tt, batch({ sequence: 0 }), 'sequence 0');
  malformedAgent(tt, batch({ timestampUnixMs: 0 }), 'timestamp 0');
  malformedAgent(tt, batch({ timestampUnixMs: -5 }), 'negative timestamp');
  malformedAgent(tt, batch({ seriesIds: [1, 2, 1], values: [1, 2] }), 'more ids than values');
  malformedAgent(tt, batch({ seriesIds: [1], values: [1, 2] }), 'more values than ids');
});

t.test('batch: a sequence above 2^53-1 is refused rather than rounded', async (tt) => {
  // MetricBatch{sequence = 2^53 + 1, timestamp_unix_ms = 5}: as a double this would round to 2^53.
  const frame = bytes(fieldBytes(2, [...fieldVarint(1, (1n << 53n) + 1n), ...fieldVarint(2, 5)]));
  rejects(tt, () => decodeAgentFrame(frame), CloseCodes.MALFORMED, 'sequence 2^53+1');
  const ack = bytes(fieldBytes(2, fieldVarint(1, (1n << 64n) - 1n)));
  rejects(tt, () => decodeCollectorFrame(ack), CloseCodes.MALFORMED, 'ack sequence 2^64-1');
  rejects(tt, () => decodeCollectorFrame(bytes(fieldBytes(2, []))), CloseCodes.MALFORMED, 'ack without sequence');
  const welcome = bytes(fieldBytes(1, fieldVarint(5, 1n << 60n)));
  rejects(tt, () => decodeCollectorFrame(welcome), CloseCodes.MALFORMED, 'welcome last_acked_sequence 2^60');
  const ancient = bytes(fieldBytes(2, [...fieldVarint(1, 1), ...fieldVarint(2, -(1n << 62n))]));
  rejects(tt, () => decodeAgentFrame(ancient), CloseCodes.MALFORMED, 'timestamp -2^62');
});

t.test('limits: samples per batch and labels per series', async (tt) => {
  const limits: Limits = { ...DEFAULT_LIMITS, maxSamplesPerBatch: 10, maxLabelsPerSeries: 3 };
  const ids = (n: number) => Array.from({ length: n }, () => 1);
  tt.equal((decodeAgentFrame(encodeAgentFrame(batch({ seriesIds: ids(10), values: ids(10) })), limits) as MetricBatch).values.length, 10);
  malformedAgent(tt, batch({ seriesIds: ids(11), values: ids(11) }), '11 samples over a limit of 10', limits);
  malformedAgent(
    tt,
    batch({ definitions: Array.from({ length: 11 }, (_, i) => def({ id: i })) }),
    '11 definitions over a limit of 10',
    limits,
  );
  const labels = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `l${i}`, value: 'v' }));
  tt.equal((decodeAgentFrame(encodeAgentFrame(batch({ definitions: [def({ labels: labels(3) })] })), limits) as MetricBatch).definitions[0].labels.length, 3);
  malformedAgent(tt, batch({ definitions: [def({ labels: labels(4) })] }), '4 series labels over 3', limits);
  malformedAgent(tt, hello({ labels: labels(4) }), '4 hello labels over 3', limits);
  // The default limit is 50 000 samples.
  const over = DEFAULT_LIMITS.maxSamplesPerBatch + 1;
  malformedAgent(tt, batch({ definitions: [], seriesIds: ids(over), values: ids(over) }), 'default samples limit');
});

t.test('names: metric and label names follow Prometheus rules, label names are unique', async (tt) => {
  for (const name of ['', '0starts_with_digit', 'has-dash', 'has space', 'ünïcode', 'a'.repeat(257)]) {
    malformedAgent(tt, batch({ definitions: [def({ name })] }), `metric name ${JSON.stringify(name.slice(0, 20))}`);
  }
  for (const name of ['', '0abc', 'with:colon', 'with-dash', 'a.b']) {
    malformedAgent(tt, batch({ definitions: [def({ labels: [{ name, value: 'x' }] })] }), `label name ${JSON.stringify(name)}`);
    malformedAgent(tt, hello({ labels: [{ name, value: 'x' }] }), `hello label name ${JSON.stringify(name)}`);
  }
  const dup = [
    { name: 'device', value: 'sda' },
    { name: 'device', value: 'sdb' },
  ];
  malformedAgent(tt, batch({ definitions: [def({ labels: dup })] }), 'duplicate series label');
  malformedAgent(tt, hello({ labels: dup }), 'duplicate hello label');
  malformedAgent(tt, batch({ definitions: [def({ labels: [{ name: 'x', value: 'v'.repeat(1025) }] })] }), 'label value over 1024');
  // Colons are fine in metric names (recording rules), not in label names.
  const ok = decodeAgentFrame(encodeAgentFrame(batch({ definitions: [def({ name: 'job:up:sum' })] }))) as MetricBatch;
  tt.equal(ok.definitions[0].name, 'job:up:sum');
});

t.test('__proto__ and friends round-trip as plain names and pollute nothing', async (tt) => {
  const tricky = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString'];
  const labels = tricky.map((name, i) => ({ name, value: `v${i}` }));
  const frame = hello({ labels: [...labels.slice(0, 1), { name: 'polluted', value: 'no' }, ...labels.slice(1)] });
  const decodedHello = decodeAgentFrame(encodeAgentFrame(frame)) as Hello;
  tt.strictSame(decodedHello.labels, frame.labels);
  const decodedBatch = decodeAgentFrame(
    encodeAgentFrame(batch({ definitions: [def({ name: '__proto__', labels })] })),
  ) as MetricBatch;
  tt.equal(decodedBatch.definitions[0].name, '__proto__');
  tt.strictSame(decodedBatch.definitions[0].labels, labels);
  for (const label of decodedBatch.definitions[0].labels) {
    tt.strictSame(Object.keys(label), ['name', 'value'], `label ${label.name} is a plain pair`);
    tt.equal(Object.getPrototypeOf(label), Object.prototype);
  }
  const probe: Record<string, unknown> = {};
  tt.equal(probe.polluted, undefined, 'Object.prototype untouched');
  tt.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'value'), false);
  tt.equal(typeof ({} as { hasOwnProperty: unknown }).hasOwnProperty, 'function');
});

t.test('a later oneof member replaces an earlier one (proto3 last-wins)', async (tt) => {
  const h = encodeAgentFrame(hello());
  const b = encodeAgentFrame(batch());
  tt.equal(decodeAgentFrame(Buffer.concat([h, b])).type, 'batch');
  tt.equal(decodeAgentFrame(Buffer.concat([b, h])).type, 'hello');
});

t.test('unknown fields are skipped, so newer agents stay readable', async (tt) => {
  const frame = hello();
  const extra = Buffer.concat([encodeAgentFrame(frame), bytes([...fieldString(15, 'future'), ...fieldVarint(16, 7)])]);
  tt.strictSame(decodeAgentFrame(extra), frame);
});

// --- broken frames ---

t.test('a frame over maxFrameBytes closes with 1009 before any decoding', async (tt) => {
  const frame = encodeAgentFrame(batch());
  const limits: Limits = { ...DEFAULT_LIMITS, maxFrameBytes: frame.length - 1 };
  rejects(tt, () => decodeAgentFrame(frame, limits), CloseCodes.FRAME_TOO_BIG, 'one byte over');
  tt.equal(decodeAgentFrame(frame, { ...limits, maxFrameBytes: frame.length }).type, 'batch', 'exactly at the limit decodes');
  const huge = new Uint8Array(DEFAULT_LIMITS.maxFrameBytes + 1);
  rejects(tt, () => decodeAgentFrame(huge), CloseCodes.FRAME_TOO_BIG, 'default limit, agent side');
  rejects(tt, () => decodeCollectorFrame(huge), CloseCodes.FRAME_TOO_BIG, 'default limit, collector side');
  rejects(tt, () => decodeCollectorFrame(encodeCollectorFrame({ type: 'ack', sequence: 1 }), 1), CloseCodes.FRAME_TOO_BIG, 'collector limit');
});

t.test('undecodable, empty and non-binary input closes with 4400', async (tt) => {
  const cases: Array<[string, unknown]> = [
    ['truncated length', bytes([0x12, 0x10, 0x08])],
    ['invalid wire type', bytes([0x0f])],
    ['field number 0', bytes([0x00, 0x01])],
    ['varint overflow', bytes([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
    ['garbage', Buffer.from('GET / HTTP/1.1\r\n\r\n')],
    ['empty frame (no oneof)', new Uint8Array(0)],
    ['only unknown fields', bytes(fieldVarint(9, 1))],
    ['string', 'hello'],
    ['ArrayBuffer', new ArrayBuffer(4)],
    ['array of numbers', [8, 1]],
    ['null', null],
    ['undefined', undefined],
    ['number', 42],
    ['object', { hello: { node: 'x' } }],
  ];
  for (const [what, input] of cases) {
    rejects(tt, () => decodeAgentFrame(input as Uint8Array), CloseCodes.MALFORMED, `agent: ${what}`);
    rejects(tt, () => decodeCollectorFrame(input as Uint8Array), CloseCodes.MALFORMED, `collector: ${what}`);
  }
  rejects(tt, () => decodeAgentFrame(bytes(fieldBytes(1, []))), CloseCodes.MALFORMED, 'agent: empty hello');
  rejects(tt, () => decodeAgentFrame(bytes(fieldBytes(2, []))), CloseCodes.MALFORMED, 'agent: empty batch');
  rejects(tt, () => decodeCollectorFrame(bytes(fieldBytes(2, []))), CloseCodes.MALFORMED, 'collector: empty ack');
});

t.test('a Buffer view into a larger pool decodes like a fresh array', async (tt) => {
  const frame = encodeAgentFrame(batch());
  const pool = Buffer.alloc(frame.length + 64, 0xff);
  Buffer.from(frame).copy(pool, 32);
  tt.ok(isDeepStrictEqual(decodeAgentFrame(pool.subarray(32, 32 + frame.length)), batch()));
});

// --- repeated fields are counted on the wire, before decoding ---

/** A MetricBatch frame (sequence 1, timestamp 1) with `body` appended to the batch's fields. */
function rawBatch(body: number[]): Uint8Array {
  return bytes(fieldBytes(2, [...fieldVarint(1, 1), ...fieldVarint(2, 1), ...body]));
}

const emptyDefinitions = (n: number): number[] => Array.from({ length: n }, () => [0x1a, 0x00]).flat();

t.test('a batch may define at most 5,000 series, whatever the sample limit', async (tt) => {
  tt.equal(MAX_DEFINITIONS_PER_FRAME, 5000);
  const defs = (n: number) => Array.from({ length: n }, (_, i) => def({ id: i + 1 }));
  const ok = decodeAgentFrame(encodeAgentFrame(batch({ definitions: defs(5000) }))) as MetricBatch;
  tt.equal(ok.definitions.length, 5000, '5,000 definitions decode');
  malformedAgent(tt, batch({ definitions: defs(5001) }), '5,001 definitions under the default 50,000-sample limit');
  // Counted over the whole frame: two batch messages (the last one wins) cannot each bring 5,000.
  const twice = Buffer.concat([encodeAgentFrame(batch({ definitions: defs(2500) })), encodeAgentFrame(batch({ definitions: defs(2501) }))]);
  rejects(tt, () => decodeAgentFrame(twice), CloseCodes.MALFORMED, '2,500 + 2,501 definitions in one frame');
});

t.test('each repeated field is counted on the wire, packed or not', async (tt) => {
  const limits: Limits = { ...DEFAULT_LIMITS, maxSamplesPerBatch: 10, maxLabelsPerSeries: 3 };
  const packedIds = (n: number) => fieldBytes(4, Array.from({ length: n }, () => 0x01));
  const packedValues = (n: number) => fieldBytes(5, Array.from({ length: n * 8 }, () => 0));
  const unpackedIds = (n: number) => Array.from({ length: n }, () => fieldVarint(4, 1)).flat();
  const unpackedValues = (n: number) => Array.from({ length: n }, () => [...tag(5, 1), 0, 0, 0, 0, 0, 0, 0, 0]).flat();
  const at = (body: number[]) => decodeAgentFrame(rawBatch(body), limits) as MetricBatch;
  tt.equal(at([...packedIds(10), ...packedValues(10)]).values.length, 10, '10 packed samples decode');
  tt.equal(at([...unpackedIds(10), ...unpackedValues(10)]).values.length, 10, '10 unpacked samples decode');
  const refused = (body: number[], what: string) => rejects(tt, () => decodeAgentFrame(rawBatch(body), limits), CloseCodes.MALFORMED, what);
  refused(packedIds(11), '11 packed ids');
  refused(unpackedIds(11), '11 unpacked ids');
  refused([...packedIds(6), ...packedIds(5)], 'two packed runs of ids, 11 together');
  refused(packedValues(11), '11 packed values');
  refused(unpackedValues(11), '11 unpacked values');
  refused(emptyDefinitions(11), '11 definitions');
  const label = fieldBytes(3, [...fieldString(1, 'a'), ...fieldString(2, 'b')]);
  const definition = (labels: number) => fieldBytes(3, [...fieldString(2, 'up'), ...Array.from({ length: labels }, () => label).flat()]);
  // Label names must also be unique; 3 repeated names still pass the count and fail later.
  refused(definition(4), 'a definition with 4 labels');
  tt.ok(at([...definition(1), ...definition(1), ...definition(1)]).definitions.length === 3, 'labels count per definition, not per frame');
  const helloLabels = (n: number) => fieldBytes(1, Array.from({ length: n }, (_, i) => fieldBytes(6, fieldString(1, `l${i}`))).flat());
  rejects(tt, () => decodeAgentFrame(bytes(helloLabels(4)), limits), CloseCodes.MALFORMED, 'hello with 4 labels');
});

t.test('a known field with another wire type cannot hide elements from the count', async (tt) => {
  // batch.sequence (a varint) sent as bytes: protobufjs would read the length as the sequence and
  // then parse the "payload" as fields of the batch, 5,001 definitions among them.
  const hidden = bytes(fieldBytes(2, [...fieldBytes(1, emptyDefinitions(5001)), ...fieldVarint(2, 1)]));
  rejects(tt, () => decodeAgentFrame(hidden), CloseCodes.MALFORMED, 'definitions inside a mistyped sequence');
  // The same for the envelope: a batch sent as a varint.
  rejects(tt, () => decodeAgentFrame(bytes(fieldVarint(2, 5))), CloseCodes.MALFORMED, 'batch as a varint');
  // Unknown fields of any wire type are still skipped.
  const extra = Buffer.concat([encodeAgentFrame(batch()), bytes([...fieldBytes(9, emptyDefinitions(6000)), ...fieldVarint(10, 3)])]);
  tt.ok(isDeepStrictEqual(decodeAgentFrame(extra), batch()), 'unknown fields skipped');
});

t.test('a 1 MiB frame of empty definitions is refused without materialising it', async (tt) => {
  // Measured in a child whose young generation is large enough that no garbage collection runs
  // during the decode: heap growth is then everything the decode allocated. Before the wire
  // count, this frame (524,000 definitions) grew the heap by 37-56 MiB; now it stays in tens of
  // KiB, and 2 MiB leaves room for a compiled function or a fresh heap page.
  const script = `
    const { decodeAgentFrame, encodeAgentFrame, DEFAULT_LIMITS } = require('@ximp/shared');
    const v8 = require('node:v8');
    const size = DEFAULT_LIMITS.maxFrameBytes - 16;
    const body = Buffer.alloc(size - 8);
    for (let i = 0; i < body.length; i += 2) body[i] = 0x1a;
    const len = [];
    for (let n = body.length + 4; ; n = Math.floor(n / 128)) { len.push(n < 128 ? n : (n & 0x7f) | 0x80); if (n < 128) break; }
    const frame = Buffer.concat([Buffer.from([0x12, ...len, 0x08, 0x01, 0x10, 0x01]), body]);
    const warm = encodeAgentFrame({ type: 'batch', sequence: 1, timestampUnixMs: 1, definitions: [{ id: 1, name: 'up', labels: [] }], seriesIds: [1], values: [1], droppedBatchesTotal: 0 });
    for (let i = 0; i < 100; i++) { decodeAgentFrame(warm); try { decodeAgentFrame(frame); } catch {} }
    global.gc(); global.gc();
    const before = v8.getHeapStatistics().used_heap_size;
    let code = 'none';
    try { decodeAgentFrame(frame); } catch (err) { code = err.closeCode; }
    const grown = v8.getHeapStatistics().used_heap_size - before;
    process.stdout.write(JSON.stringify({ code, grown, frameBytes: frame.length }));
  `;
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64', '-e', script],
    { cwd: __dirname, encoding: 'utf8' },
  );
  const result = JSON.parse(out) as { code: number; grown: number; frameBytes: number };
  tt.equal(result.code, CloseCodes.MALFORMED, 'refused with 4400');
  tt.ok(result.frameBytes > 1_048_000, `a ${result.frameBytes}-byte frame`);
  const bound = 2 * 1024 * 1024;
  tt.ok(result.grown < bound, `heap grew by ${(result.grown / 1024).toFixed(0)} KiB, under ${bound / 1024} KiB`);
});

t.test('a Hello given twice in one frame cannot add up its labels past the limit', async (tt) => {
  const labels = Array.from({ length: 30 }, (_, i) => ({ name: `l${i}`, value: 'v' }));
  const one = encodeAgentFrame({ ...hello(), labels });
  tt.equal((decodeAgentFrame(one) as Hello).labels.length, 30, '30 labels in one Hello are fine');
  // The envelope's hello field, three times: protobufjs would merge them into one Hello of 90 labels.
  rejects(tt, () => decodeAgentFrame(Buffer.concat([one, one, one])), CloseCodes.MALFORMED, 'hello given three times');
});
