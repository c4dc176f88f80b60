import { decodeAgentFrame } from './codec';
import type { ErrorFrame, Hello, Label, Limits, MetricBatch, SeriesDefinition } from './frames';
import { DEFAULT_LIMITS } from './limits';
import { LABEL_NAME, MAX_DEFINITIONS_PER_FRAME, MAX_LABEL_VALUE_LENGTH, MAX_NAME_LENGTH, METRIC_NAME } from './series-rules';

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
const MAX_UINT32 = 0xffffffff;

// Tags of AgentMessage.batch and of the MetricBatch fields the plain path reads (field << 3 | wire type).
const TAG_BATCH = 0x12;
const TAG_SEQUENCE = 0x08;
const TAG_TIMESTAMP = 0x10;
const TAG_DEFINITION = 0x1a;
const TAG_SERIES_IDS = 0x22;
const TAG_VALUES = 0x2a;
const TAG_DROPPED = 0x30;
const TAG_SENT = 0x38;
// SeriesDefinition's fields, and Label's.
const TAG_DEFINITION_ID = 0x08;
const TAG_DEFINITION_NAME = 0x12;
const TAG_DEFINITION_LABEL = 0x1a;
const TAG_LABEL_NAME = 0x0a;
const TAG_LABEL_VALUE = 0x12;

/**
 * Decodes one agent frame like `decodeAgentFrame`, with a MetricBatch's series ids and values
 * in typed arrays. The batch frame a conforming agent sends (every field once in its wire type,
 * packed runs, series definitions with ASCII names and label values the codec accepts, no
 * unknown fields) is read here by hand, with no object per sample and no Array in between.
 * Anything else (Hello, a field given twice, a varint beyond 2^49, a count over a limit, a text
 * that is not ASCII, any malformed byte) goes through `decodeAgentFrame`, which accepts or
 * refuses it with its own ProtocolError: this reader never refuses a frame itself, so its
 * answers are the codec's by construction.
 */
export function readAgentFrame(data: Uint8Array, limits: Limits = DEFAULT_LIMITS): ReadAgentFrame {
  const batch = readPlainAgentBatch(data, limits);
  if (batch !== null) return batch;
  const frame = decodeAgentFrame(data, limits);
  if (frame.type !== 'batch') return frame;
  return { ...frame, seriesIds: Uint32Array.from(frame.seriesIds), values: Float64Array.from(frame.values) };
}

/** The batch as `readAgentFrame` gives it, when it is one this reader takes by hand; else null. */
export function readPlainAgentBatch(data: Uint8Array, limits: Limits = DEFAULT_LIMITS): TypedMetricBatch | null {
  if (!LITTLE_ENDIAN || !(data instanceof Uint8Array) || data.byteLength > limits.maxFrameBytes) return null;
  text = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  try {
    return readPlainBatch(data, limits);
  } finally {
    text = EMPTY;
  }
}

const EMPTY = Buffer.alloc(0);
// The reader's cursor, and the frame as a Buffer for its texts: module state, since reading is
// synchronous (no object per frame).
let pos = 0;
let text: Buffer = EMPTY;

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

function readPlainBatch(buf: Uint8Array, limits: Limits): TypedMetricBatch | null {
  const maxSamples = limits.maxSamplesPerBatch;
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
  let definitions: SeriesDefinition[] | null = null;
  while (pos < end) {
    const tag = buf[pos++];
    if (tag === TAG_DEFINITION) {
      // Repeated: each occurrence is one more definition.
      definitions ??= [];
      if (definitions.length >= Math.min(MAX_DEFINITIONS_PER_FRAME, maxSamples)) return null;
      const definition = readDefinition(buf, end, limits.maxLabelsPerSeries);
      if (definition === null) return null;
      definitions.push(definition);
      continue;
    }
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
    definitions: definitions ?? (NO_DEFINITIONS as SeriesDefinition[]),
    seriesIds,
    values,
    droppedBatchesTotal,
  };
  if (sentUnixMs > 0) batch.sentUnixMs = sentUnixMs;
  return batch;
}

/** The end of a length-delimited body that lies within `end`, or -1. */
function bodyEnd(buf: Uint8Array, end: number): number {
  const length = varint(buf, end);
  return length < 0 || pos + length > end ? -1 : pos + length;
}

/** An ASCII text of at most `max` characters, or null. */
function ascii(buf: Uint8Array, end: number, max: number): string | null {
  const textEnd = bodyEnd(buf, end);
  if (textEnd < 0 || textEnd - pos > max) return null;
  for (let i = pos; i < textEnd; i++) if (buf[i] >= 0x80) return null;
  const s = text.toString('latin1', pos, textEnd);
  pos = textEnd;
  return s;
}

/** A SeriesDefinition as the codec gives it, when its name and labels are ones the codec accepts; else null. */
function readDefinition(buf: Uint8Array, end: number, maxLabels: number): SeriesDefinition | null {
  const defEnd = bodyEnd(buf, end);
  if (defEnd < 0) return null;
  let id = 0;
  let name: string | null = null;
  let idSeen = false;
  const labels: Label[] = [];
  while (pos < defEnd) {
    const tag = buf[pos++];
    if (tag === TAG_DEFINITION_ID && !idSeen) {
      idSeen = true;
      id = varint(buf, defEnd);
      if (id < 0 || id > MAX_UINT32) return null;
    } else if (tag === TAG_DEFINITION_NAME && name === null) {
      name = ascii(buf, defEnd, MAX_NAME_LENGTH);
      if (name === null || !METRIC_NAME.test(name)) return null;
    } else if (tag === TAG_DEFINITION_LABEL) {
      if (labels.length >= maxLabels) return null;
      const label = readLabel(buf, defEnd);
      if (label === null) return null;
      for (let i = 0; i < labels.length; i++) if (labels[i].name === label.name) return null;
      labels.push(label);
    } else {
      return null;
    }
  }
  if (name === null) return null;
  return { id, name, labels };
}

/** A Label with a valid name and an ASCII value within the codec's bounds; else null. */
function readLabel(buf: Uint8Array, end: number): Label | null {
  const labelEnd = bodyEnd(buf, end);
  if (labelEnd < 0) return null;
  let name: string | null = null;
  let value: string | null = null;
  while (pos < labelEnd) {
    const tag = buf[pos++];
    if (tag === TAG_LABEL_NAME && name === null) {
      name = ascii(buf, labelEnd, MAX_NAME_LENGTH);
      if (name === null || !LABEL_NAME.test(name)) return null;
    } else if (tag === TAG_LABEL_VALUE && value === null) {
      value = ascii(buf, labelEnd, MAX_LABEL_VALUE_LENGTH);
      if (value === null) return null;
    } else {
      return null;
    }
  }
  if (name === null) return null;
  return { name, value: value ?? '' };
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
