import { decodeCollectorFrame } from './codec';
import type { CollectorFrame } from './frames';
import { DEFAULT_LIMITS } from './limits';

/** Varints up to 7 bytes (< 2^49) are exact as numbers and positive as int64: larger ones go the long way. */
const MAX_VARINT_BYTES = 7;
const MAX_UINT32 = 0xffffffff;

/** How a field is read: a varint, an ASCII text of at most `text` characters, or a message of these fields. */
type FieldKind = 'varint' | { text: number } | { message: MessageKinds };
/** A message's fields by tag (field number << 3 | wire type). */
type MessageKinds = Readonly<Record<number, FieldKind>>;
/** What was read, by tag. */
interface ReadFields {
  [tag: number]: number | string | ReadFields;
}

const LIMITS: MessageKinds = { 0x08: 'varint', 0x10: 'varint', 0x18: 'varint', 0x20: 'varint' };
// The codec's bounds on the texts it accepts.
const WELCOME: MessageKinds = { 0x0a: { text: 128 }, 0x10: 'varint', 0x1a: { message: LIMITS }, 0x20: 'varint', 0x28: 'varint', 0x30: 'varint' };
const ACK: MessageKinds = { 0x08: 'varint' };
const ERROR: MessageKinds = { 0x08: 'varint', 0x12: { text: 1024 } };
/** CollectorMessage: exactly one of welcome, ack or error. */
const BODIES: Readonly<Record<number, MessageKinds>> = { 0x0a: WELCOME, 0x12: ACK, 0x1a: ERROR };

/**
 * Decodes one collector frame like `decodeCollectorFrame`. The frames a conforming collector
 * sends (each field once, in its wire type, ASCII texts within their bounds, varints below 2^49,
 * no unknown fields) are read here by hand, so the agent never loads protobufjs and its schema in
 * normal operation. Anything else goes through `decodeCollectorFrame`, which accepts or refuses it
 * with its own ProtocolError: this reader never refuses a frame itself, so its answers are the
 * codec's by construction.
 */
export function readCollectorFrame(data: Uint8Array, maxFrameBytes = DEFAULT_LIMITS.maxFrameBytes): CollectorFrame {
  const plain = data instanceof Uint8Array && data.byteLength <= maxFrameBytes ? readPlainCollectorFrame(data) : null;
  return plain ?? decodeCollectorFrame(data, maxFrameBytes);
}

/** The frame as `decodeCollectorFrame` gives it, when it is one this reader takes by hand; else null. */
export function readPlainCollectorFrame(data: Uint8Array): CollectorFrame | null {
  return readPlainFrame({ buf: data, pos: 0 });
}

/** A cursor over one frame's bytes. */
interface Cursor {
  buf: Uint8Array;
  pos: number;
}

/** A varint of at most 7 bytes ending before `end`, or -1. */
function varint(c: Cursor, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES && c.pos < end; i++) {
    const b = c.buf[c.pos++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value;
    scale *= 128;
  }
  return -1;
}

/** The end of a length-delimited body that lies within `end`, or -1. */
function bodyEnd(c: Cursor, end: number): number {
  const length = varint(c, end);
  return length < 0 || c.pos + length > end ? -1 : c.pos + length;
}

/** An ASCII text of at most `max` characters, or null. */
function ascii(c: Cursor, end: number, max: number): string | null {
  const textEnd = bodyEnd(c, end);
  if (textEnd < 0 || textEnd - c.pos > max) return null;
  let s = '';
  for (; c.pos < textEnd; c.pos++) {
    const b = c.buf[c.pos];
    if (b >= 0x80) return null;
    s += String.fromCharCode(b);
  }
  return s;
}

/** The fields of one message that ends at `end`, or null on anything this reader does not take. */
function readFields(c: Cursor, end: number, kinds: MessageKinds): ReadFields | null {
  const out: ReadFields = {};
  while (c.pos < end) {
    const tag = c.buf[c.pos++];
    const kind = kinds[tag];
    if (kind === undefined || out[tag] !== undefined) return null;
    let value: number | string | ReadFields | null;
    if (kind === 'varint') value = varint(c, end);
    else if ('text' in kind) value = ascii(c, end, kind.text);
    else {
      const inner = bodyEnd(c, end);
      value = inner < 0 ? null : readFields(c, inner, kind.message);
    }
    if (value === null || value === -1) return null;
    out[tag] = value;
  }
  return out;
}

/** A uint32 field's value (0 when absent), or -1 beyond 32 bits. */
function uint32(fields: ReadFields, tag: number): number {
  const value = (fields[tag] ?? 0) as number;
  return value > MAX_UINT32 ? -1 : value;
}

function readPlainFrame(c: Cursor): CollectorFrame | null {
  const kinds = BODIES[c.buf[c.pos++]];
  if (kinds === undefined) return null;
  const end = bodyEnd(c, c.buf.length);
  if (end !== c.buf.length) return null;
  const f = readFields(c, end, kinds);
  if (f === null) return null;
  if (kinds === ACK) {
    const sequence = (f[0x08] ?? 0) as number;
    return sequence < 1 ? null : { type: 'ack', sequence };
  }
  if (kinds === ERROR) {
    const code = uint32(f, 0x08);
    return code < 0 ? null : { type: 'error', code, message: (f[0x12] ?? '') as string };
  }
  const l = (f[0x1a] ?? {}) as ReadFields;
  const numbers = [uint32(f, 0x10), uint32(f, 0x30), uint32(l, 0x08), uint32(l, 0x10), uint32(l, 0x18), uint32(l, 0x20)];
  if (numbers.some((n) => n < 0)) return null;
  const [protocolVersion, pingIntervalMs, maxFrameBytes, maxSamplesPerBatch, maxLabelsPerSeries, maxSeriesPerSession] = numbers;
  return {
    type: 'welcome',
    sessionId: (f[0x0a] ?? '') as string,
    protocolVersion,
    limits: {
      maxFrameBytes: maxFrameBytes || DEFAULT_LIMITS.maxFrameBytes,
      maxSamplesPerBatch: maxSamplesPerBatch || DEFAULT_LIMITS.maxSamplesPerBatch,
      maxLabelsPerSeries: maxLabelsPerSeries || DEFAULT_LIMITS.maxLabelsPerSeries,
      maxSeriesPerSession: maxSeriesPerSession || DEFAULT_LIMITS.maxSeriesPerSession,
    },
    tokenExpiresUnixMs: (f[0x20] ?? 0) as number,
    lastAckedSequence: (f[0x28] ?? 0) as number,
    pingIntervalMs,
  };
}
