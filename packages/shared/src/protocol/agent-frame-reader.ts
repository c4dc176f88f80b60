import { decodeAgentFrame } from './codec';
import type { ErrorFrame, Hello, Limits, MetricBatch, SeriesDefinition } from './frames';
import { DEFAULT_LIMITS } from './limits';

/** A MetricBatch as the collector stores it: the packed fields straight in typed arrays. */
export interface TypedMetricBatch extends Omit<MetricBatch, 'seriesIds' | 'values'> {
  seriesIds: Uint32Array;
  values: Float64Array;
}

export type ReadAgentFrame = Hello | ErrorFrame | TypedMetricBatch;

const NO_DEFINITIONS: readonly SeriesDefinition[] = Object.freeze([]);
/** Packed doubles are little-endian on the wire: copied as bytes only where the host is too. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Varints up to 7 bytes (< 2^49) are exact as numbers and positive as int64: larger ones go the long way. */
const MAX_VARINT_BYTES = 7;

// Tags of AgentMessage.batch and of the MetricBatch fields the plain path reads (field << 3 | wire type).
const TAG_BATCH = 0x12;
const TAG_SEQUENCE = 0x08;
const TAG_TIMESTAMP = 0x10;
const TAG_SERIES_IDS = 0x22;
const TAG_VALUES = 0x2a;
const TAG_DROPPED = 0x30;
const TAG_SENT = 0x38;

/**
 * Decodes one agent frame like `decodeAgentFrame`, with a MetricBatch's series ids and values
 * in typed arrays. The frame a conforming agent sends for a batch without definitions (every
 * field once, in its wire type, packed runs, no unknown fields) is read here by hand, with no
 * object per sample and no Array in between. Anything else (Hello, definitions, a field given
 * twice, a varint beyond 2^49, a count over a limit, any malformed byte) goes through
 * `decodeAgentFrame`, which accepts or refuses it with its own ProtocolError: this reader never
 * refuses a frame itself, so its answers are the codec's by construction.
 */
export function readAgentFrame(data: Uint8Array, limits: Limits = DEFAULT_LIMITS): ReadAgentFrame {
  if (LITTLE_ENDIAN && data instanceof Uint8Array && data.byteLength <= limits.maxFrameBytes) {
    const batch = readPlainBatch(data, limits.maxSamplesPerBatch);
    if (batch !== null) return batch;
  }
  const frame = decodeAgentFrame(data, limits);
  if (frame.type !== 'batch') return frame;
  return { ...frame, seriesIds: Uint32Array.from(frame.seriesIds), values: Float64Array.from(frame.values) };
}

// The reader's cursor: module state, since reading is synchronous (no object per frame).
let pos = 0;

/** A varint of at most 7 bytes ending before `end`, or -1. */
function varint(buf: Uint8Array, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES && pos < end; i++) {
    const b = buf[pos++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value;
    scale *= 128;
  }
  return -1;
}

function readPlainBatch(buf: Uint8Array, maxSamples: number): TypedMetricBatch | null {
  pos = 0;
  const end = buf.length;
  if (end < 2 || buf[pos++] !== TAG_BATCH) return null;
  const length = varint(buf, end);
  if (length < 0 || pos + length !== end) return null;
  let seen = 0;
  let sequence = 0;
  let timestampUnixMs = 0;
  let droppedBatchesTotal = 0;
  let sentUnixMs = 0;
  let seriesIds: Uint32Array | null = null;
  let values: Float64Array | null = null;
  while (pos < end) {
    const tag = buf[pos++];
    const bit = 1 << (tag >>> 3);
    if (tag >= 0x80 || (seen & bit) !== 0) return null;
    seen |= bit;
    switch (tag) {
      case TAG_SEQUENCE:
        sequence = varint(buf, end);
        if (sequence < 0) return null;
        break;
      case TAG_TIMESTAMP:
        timestampUnixMs = varint(buf, end);
        if (timestampUnixMs < 0) return null;
        break;
      case TAG_DROPPED:
        droppedBatchesTotal = varint(buf, end);
        if (droppedBatchesTotal < 0) return null;
        break;
      case TAG_SENT:
        sentUnixMs = varint(buf, end);
        if (sentUnixMs < 0) return null;
        break;
      case TAG_SERIES_IDS:
        seriesIds = packedUint32(buf, end, maxSamples);
        if (seriesIds === null) return null;
        break;
      case TAG_VALUES:
        values = packedDoubles(buf, end, maxSamples);
        if (values === null) return null;
        break;
      default:
        return null;
    }
  }
  seriesIds ??= new Uint32Array(0);
  values ??= new Float64Array(0);
  if (sequence < 1 || timestampUnixMs <= 0 || seriesIds.length !== values.length) return null;
  const batch: TypedMetricBatch = {
    type: 'batch',
    sequence,
    timestampUnixMs,
    definitions: NO_DEFINITIONS as SeriesDefinition[],
    seriesIds,
    values,
    droppedBatchesTotal,
  };
  if (sentUnixMs > 0) batch.sentUnixMs = sentUnixMs;
  return batch;
}

/** A packed run of uint32 varints, each of at most 5 bytes that fit 32 bits; null otherwise. */
function packedUint32(buf: Uint8Array, end: number, maxSamples: number): Uint32Array | null {
  const length = varint(buf, end);
  if (length < 0 || pos + length > end) return null;
  const runEnd = pos + length;
  if (length > 0 && buf[runEnd - 1] >= 0x80) return null;
  let n = 0;
  for (let i = pos; i < runEnd; i++) if (buf[i] < 0x80) n++;
  if (n > maxSamples) return null;
  const out = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    let b = buf[pos++];
    let value = b & 0x7f;
    if (b >= 0x80) {
      b = buf[pos++];
      value |= (b & 0x7f) << 7;
      if (b >= 0x80) {
        b = buf[pos++];
        value |= (b & 0x7f) << 14;
        if (b >= 0x80) {
          b = buf[pos++];
          value |= (b & 0x7f) << 21;
          if (b >= 0x80) {
            b = buf[pos++];
            if (b > 0x0f) return null;
            value = (value >>> 0) + b * 0x10000000;
          }
        }
      }
    }
    out[k] = value;
  }
  return out;
}

/** A packed run of little-endian doubles, copied as bytes (never a view of the frame); null otherwise. */
function packedDoubles(buf: Uint8Array, end: number, maxSamples: number): Float64Array | null {
  const length = varint(buf, end);
  if (length < 0 || pos + length > end || length % 8 !== 0 || length / 8 > maxSamples) return null;
  const out = new Float64Array(length / 8);
  new Uint8Array(out.buffer).set(buf.subarray(pos, pos + length));
  pos += length;
  return out;
}
