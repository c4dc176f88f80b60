import * as os from 'node:os';
import type { Label } from '@ximp/shared';

/**
 * The payloads of a forward-queue shard's log records. Two kinds: series definitions (collector
 * series ids with their names and labels, each written once per segment, in a record right
 * before the first batch that uses it, so a segment never depends on anything outside it) and a
 * batch (node, timestamp, the series ids and their values). Little endian.
 */

export const RECORD_SERIES = 1;
export const RECORD_BATCH = 2;

export interface SeriesDescription {
  name: string;
  labels: readonly Label[];
}

/** A batch as the collector stored it: ids are collector series ids. */
export interface BatchToQueue {
  node: string;
  timestampMs: number;
  seriesIds: Uint32Array;
  values: Float64Array;
}

export interface DecodedBatch {
  node: string;
  timestampMs: number;
  seriesIds: Uint32Array;
  values: Float64Array;
}

/** Thrown for a payload whose checksum held but whose content does not parse. */
export class QueueRecordError extends Error {
  override name = 'QueueRecordError';
}

// Batch layout: [u8 kind][u8 0][u16 node bytes][u32 count][f64 timestamp ms][node][pad to 4][ids u32…][pad to 8][values f64…]
const BATCH_HEADER = 16;
const MAX_NODE_BYTES = 0xffff;
const LITTLE_ENDIAN = os.endianness() === 'LE';

function align(n: number, to: number): number {
  return (n + to - 1) & ~(to - 1);
}

export interface SeriesDefinition {
  id: number;
  series: SeriesDescription;
}

// Series record: [u8 kind][u32 count] then per series [u32 id][str name][u32 labels]([str name][str value])…, str = [u32 bytes][UTF-8]
let scratch = Buffer.allocUnsafe(64 * 1024);
const SCRATCH_KEEP = 1024 * 1024;

/** The definitions a batch needs before it, in one record: one allocation and one checksum for all. */
export function encodeSeriesRecord(definitions: readonly SeriesDefinition[]): Buffer {
  let off = 0;
  const room = (bytes: number): void => {
    if (off + bytes <= scratch.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(scratch.length * 2, off + bytes));
    scratch.copy(bigger, 0, 0, off);
    scratch = bigger;
  };
  // A UTF-16 code unit takes at most 3 UTF-8 bytes: reserve that before each write.
  const str = (text: string): void => {
    room(4 + text.length * 3);
    const n = scratch.write(text, off + 4, 'utf8');
    scratch.writeUInt32LE(n, off);
    off += 4 + n;
  };
  room(5);
  scratch[0] = RECORD_SERIES;
  scratch.writeUInt32LE(definitions.length, 1);
  off = 5;
  for (const { id, series } of definitions) {
    room(4);
    scratch.writeUInt32LE(id, off);
    off += 4;
    str(series.name);
    room(4);
    scratch.writeUInt32LE(series.labels.length, off);
    off += 4;
    for (const l of series.labels) {
      str(l.name);
      str(l.value);
    }
  }
  const payload = Buffer.from(scratch.subarray(0, off));
  if (scratch.length > SCRATCH_KEEP) scratch = Buffer.allocUnsafe(64 * 1024);
  return payload;
}

export function decodeSeriesRecord(payload: Buffer): SeriesDefinition[] {
  const r = new Reader(payload, 1);
  const count = r.u32();
  // Each definition takes at least 12 bytes: a count beyond that is damage, not a reason to allocate.
  if (count * 12 > payload.length - r.off) throw new QueueRecordError('series record: count beyond its length');
  const out: SeriesDefinition[] = [];
  for (let d = 0; d < count; d++) {
    const id = r.u32();
    const name = r.string();
    const labelCount = r.u32();
    if (labelCount * 8 > payload.length - r.off) throw new QueueRecordError('series record: label count beyond its length');
    const labels: Label[] = [];
    for (let i = 0; i < labelCount; i++) labels.push({ name: r.string(), value: r.string() });
    out.push({ id, series: { name, labels } });
  }
  if (r.off !== payload.length) throw new QueueRecordError('series record: trailing bytes');
  return out;
}

function batchLayout(nodeBytes: number, count: number): { idsAt: number; valuesAt: number; size: number } {
  const idsAt = align(BATCH_HEADER + nodeBytes, 4);
  const valuesAt = align(idsAt + count * 4, 8);
  return { idsAt, valuesAt, size: valuesAt + count * 8 };
}

export function encodeBatchRecord(batch: BatchToQueue): Buffer {
  const count = batch.seriesIds.length;
  if (batch.values.length !== count) throw new QueueRecordError('batch has different numbers of series ids and values');
  const nodeBytes = Buffer.byteLength(batch.node);
  if (nodeBytes > MAX_NODE_BYTES) throw new QueueRecordError('batch node name too long');
  const { idsAt, valuesAt, size } = batchLayout(nodeBytes, count);
  const buf = Buffer.alloc(size);
  buf[0] = RECORD_BATCH;
  buf.writeUInt16LE(nodeBytes, 2);
  buf.writeUInt32LE(count, 4);
  buf.writeDoubleLE(batch.timestampMs, 8);
  buf.write(batch.node, BATCH_HEADER, 'utf8');
  if (LITTLE_ENDIAN) {
    buf.set(new Uint8Array(batch.seriesIds.buffer, batch.seriesIds.byteOffset, count * 4), idsAt);
    buf.set(new Uint8Array(batch.values.buffer, batch.values.byteOffset, count * 8), valuesAt);
  } else {
    for (let i = 0; i < count; i++) {
      buf.writeUInt32LE(batch.seriesIds[i], idsAt + i * 4);
      buf.writeDoubleLE(batch.values[i], valuesAt + i * 8);
    }
  }
  return buf;
}

/** Count and timestamp only: what the queue's bookkeeping needs without decoding the arrays. */
export function batchRecordHeader(payload: Buffer): { count: number; timestampMs: number } {
  if (payload.length < BATCH_HEADER || payload[0] !== RECORD_BATCH) throw new QueueRecordError('batch record: too short');
  const count = payload.readUInt32LE(4);
  const timestampMs = payload.readDoubleLE(8);
  if (batchLayout(payload.readUInt16LE(2), count).size !== payload.length) throw new QueueRecordError('batch record: length does not match its count');
  return { count, timestampMs };
}

export function decodeBatchRecord(payload: Buffer): DecodedBatch {
  const { count, timestampMs } = batchRecordHeader(payload);
  const nodeBytes = payload.readUInt16LE(2);
  const node = payload.toString('utf8', BATCH_HEADER, BATCH_HEADER + nodeBytes);
  const { idsAt, valuesAt } = batchLayout(nodeBytes, count);
  const seriesIds = new Uint32Array(count);
  const values = new Float64Array(count);
  if (LITTLE_ENDIAN) {
    // A copy, not a view: the payload's offset in its buffer need not be aligned.
    new Uint8Array(seriesIds.buffer).set(payload.subarray(idsAt, idsAt + count * 4));
    new Uint8Array(values.buffer).set(payload.subarray(valuesAt, valuesAt + count * 8));
  } else {
    for (let i = 0; i < count; i++) {
      seriesIds[i] = payload.readUInt32LE(idsAt + i * 4);
      values[i] = payload.readDoubleLE(valuesAt + i * 8);
    }
  }
  return { node, timestampMs, seriesIds, values };
}

/** The record kind, or 0 for an empty payload. */
export function recordKind(payload: Buffer): number {
  return payload.length === 0 ? 0 : payload[0];
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    public off: number,
  ) {}

  u32(): number {
    if (this.off + 4 > this.buf.length) throw new QueueRecordError('series record: truncated');
    const v = this.buf.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }

  string(): string {
    const n = this.u32();
    if (this.off + n > this.buf.length) throw new QueueRecordError('series record: truncated');
    const s = this.buf.toString('utf8', this.off, this.off + n);
    this.off += n;
    return s;
  }
}
