import * as path from 'node:path';
import { protobufjs } from '@ximp/shared';
import { compress } from 'snappyjs';
import { XIMP_JOB } from '../node-labels';
import { familyMetadata } from './node-exporter-metadata';
import type { QueuedBatch, SeriesDescription } from './forward-queue';

/** Remote write 1.0's schema, loaded into a root of its own: nothing is shared with the agent protocol's. */
export const REMOTE_WRITE_PROTO_FILE = path.join(__dirname, '..', '..', '..', 'proto', 'prometheus', 'remote-write.proto');

const protobuf = protobufjs();
const root = new protobuf.Root().loadSync(REMOTE_WRITE_PROTO_FILE);
/** The request message, for the encoder here and for receivers in tests. */
export const WriteRequestType = root.lookupType('prometheus.WriteRequest');

/** The headers remote write 1.0 requires beside the snappy-compressed body. */
export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'application/x-protobuf',
  'Content-Encoding': 'snappy',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
});

export interface RemoteSeries {
  /** The metric name, sent as the `__name__` label. */
  name: string;
  /** Every other label (`instance` and `job` included); `__name__` here is refused. */
  labels: Readonly<Record<string, string>>;
  /** `[unix ms, value]`, oldest first: receivers refuse out-of-order samples. */
  samples: readonly (readonly [number, number])[];
}

/**
 * The body of one remote-write request: a protobuf WriteRequest, snappy block-compressed.
 * Labels go out sorted by name, as the specification requires; a series without samples is left
 * out. Throws when a series names `__name__` among its labels or its samples are not in order.
 */
export function encodeWriteRequest(series: readonly RemoteSeries[]): Uint8Array {
  const timeseries = [];
  for (const s of series) {
    if (s.samples.length === 0) continue;
    if (Object.prototype.hasOwnProperty.call(s.labels, '__name__')) throw new Error(`series ${s.name}: __name__ is set from its name, not a label`);
    for (let i = 1; i < s.samples.length; i++) {
      if (s.samples[i][0] < s.samples[i - 1][0]) throw new Error(`series ${s.name}: samples out of order`);
    }
    const labels = [{ name: '__name__', value: s.name }, ...Object.entries(s.labels).map(([name, value]) => ({ name, value }))];
    labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    timeseries.push({ labels, samples: s.samples.map(([timestamp, value]) => ({ value, timestamp })) });
  }
  const message = WriteRequestType.fromObject({ timeseries });
  return compress(WriteRequestType.encode(message).finish());
}

/** Every series leaves with `instance` (the node) and `job` (XIMP_JOB), as from the embedded store (node-labels.ts). */
const RESERVED = new Set(['__name__', 'instance', 'job']);

interface OutSeries {
  /** The TimeSeries.labels fields, encoded once per series and request. */
  labels: Buffer;
  /** Per sample: the index of its batch (whose timestamp it has). */
  batchIndex: number[];
  values: number[];
  /** Encoded size of the TimeSeries message (set before writing). */
  size: number;
}

/** Bytes of an unsigned varint of a non-negative integer up to 2^53. */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** int64 as protobuf writes it: a negative number is ten bytes of two's complement. */
function int64Size(n: number): number {
  return n >= 0 ? varintSize(n) : 10;
}

function writeInt64(buf: Buffer, pos: number, n: number): number {
  if (n >= 0) return writeVarint(buf, pos, n);
  let v = BigInt.asUintN(64, BigInt(n));
  for (let i = 0; i < 9; i++) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  return pos;
}

/** A string field: tag, length, UTF-8 bytes. */
function stringFieldSize(text: string): number {
  const n = Buffer.byteLength(text, 'utf8');
  return 1 + varintSize(n) + n;
}

function writeStringField(buf: Buffer, pos: number, tag: number, text: string): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, Buffer.byteLength(text, 'utf8'));
  return pos + buf.write(text, pos, 'utf8');
}

/** TimeSeries.labels (field 1) for sorted `[name, value]` pairs. */
function encodeLabels(labels: readonly (readonly [string, string])[]): Buffer {
  let size = 0;
  const inner = labels.map(([name, value]) => stringFieldSize(name) + (value === '' ? 0 : stringFieldSize(value)));
  for (const n of inner) size += 1 + varintSize(n) + n;
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  labels.forEach(([name, value], i) => {
    buf[pos++] = 0x0a;
    pos = writeVarint(buf, pos, inner[i]);
    pos = writeStringField(buf, pos, 0x0a, name);
    if (value !== '') pos = writeStringField(buf, pos, 0x12, value);
  });
  return buf;
}

/** 0 but not -0 (whose sign only the field itself can carry). */
function isPositiveZero(v: number): boolean {
  return v === 0 && 1 / v > 0;
}

const seriesKeys = new WeakMap<SeriesDescription, string>();

/** Name and labels as one string, remembered per description object. */
function seriesKey(series: SeriesDescription): string {
  let key = seriesKeys.get(series);
  if (key === undefined) {
    key = series.name;
    for (const l of series.labels) key += `\u0000${l.name}\u0000${l.value}`;
    seriesKeys.set(series, key);
  }
  return key;
}

/**
 * The protobuf WriteRequest (not yet compressed) for queued batches: one TimeSeries per series
 * (its samples in batch order, so oldest first within a shard), labels sorted with `__name__`,
 * `instance=<node>` and `job="ximp"` (a same-named label of the agent's is replaced), and the
 * metadata of every node_exporter family present. Throws on a batch whose values and series differ
 * in number (a damaged record: the caller drops it).
 *
 * Written by hand into one buffer of the exact size: the same bytes protobufjs' encoder gives
 * for the same message (a test holds them equal), at several times its speed, because this runs
 * for every sample the collector forwards.
 */
export function encodeBatchesUncompressed(batches: readonly QueuedBatch[]): Uint8Array {
  // node -> series key -> series. The key of a description is built once per object (the queue
  // hands out one object per series id), so a sample costs two map lookups, no string building.
  const byNode = new Map<string, Map<string, OutSeries>>();
  const order: OutSeries[] = [];
  const families: string[] = [];
  const familySeen = new Set<string>();
  // A batch's samples share its timestamp: its varint is encoded once.
  const stamps: Buffer[] = [];
  for (let b = 0; b < batches.length; b++) {
    const batch = batches[b];
    if (!Number.isSafeInteger(batch.timestampMs)) throw new Error(`batch of ${batch.node}: timestamp ${batch.timestampMs} is not an integer`);
    // The field with its tag; none for 0 (proto3 leaves default values out, as protobufjs does).
    const stamp = Buffer.allocUnsafe(batch.timestampMs === 0 ? 0 : 1 + int64Size(batch.timestampMs));
    if (batch.timestampMs !== 0) writeInt64(stamp, (stamp[0] = 0x10, 1), batch.timestampMs);
    stamps.push(stamp);
    if (batch.values.length !== batch.series.length) {
      throw new Error(`batch of ${batch.node} at ${batch.timestampMs}: ${batch.values.length} values for ${batch.series.length} series`);
    }
    let bySeries = byNode.get(batch.node);
    if (bySeries === undefined) {
      bySeries = new Map();
      byNode.set(batch.node, bySeries);
    }
    for (let i = 0; i < batch.series.length; i++) {
      const series = batch.series[i];
      const key = seriesKey(series);
      let out = bySeries.get(key);
      if (out === undefined) {
        const labels: [string, string][] = [
          ['__name__', series.name],
          ['instance', batch.node],
          ['job', XIMP_JOB],
        ];
        for (const l of series.labels) if (!RESERVED.has(l.name)) labels.push([l.name, l.value]);
        labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        out = { labels: encodeLabels(labels), batchIndex: [], values: [], size: 0 };
        bySeries.set(key, out);
        order.push(out);
        if (!familySeen.has(series.name)) {
          familySeen.add(series.name);
          families.push(series.name);
        }
      }
      out.batchIndex.push(b);
      out.values.push(batch.values[i]);
    }
  }

  const metadata: { family: string; type: number; help: string; unit: string; size: number }[] = [];
  for (const family of families) {
    const meta = familyMetadata(family);
    if (meta === undefined) continue;
    const size = 1 + varintSize(meta.type) + stringFieldSize(family) + stringFieldSize(meta.help) + (meta.unit === '' ? 0 : stringFieldSize(meta.unit));
    metadata.push({ family, type: meta.type, help: meta.help, unit: meta.unit, size });
  }

  let total = 0;
  for (const s of order) {
    let size = s.labels.length;
    // A sample is [0x12, length < 128, 0x09 + 8 bytes unless +0, 0x10 + varint unless 0].
    for (let i = 0; i < s.values.length; i++) size += 2 + (isPositiveZero(s.values[i]) ? 0 : 9) + stamps[s.batchIndex[i]].length;
    s.size = size;
    total += 1 + varintSize(size) + size;
  }
  for (const m of metadata) total += 1 + varintSize(m.size) + m.size;

  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const s of order) {
    buf[pos++] = 0x0a; // WriteRequest.timeseries = 1
    pos = writeVarint(buf, pos, s.size);
    pos += s.labels.copy(buf, pos);
    for (let i = 0; i < s.values.length; i++) {
      const stamp = stamps[s.batchIndex[i]];
      const value = s.values[i];
      const zero = isPositiveZero(value);
      buf[pos++] = 0x12; // TimeSeries.samples = 2
      buf[pos++] = (zero ? 0 : 9) + stamp.length; // the Sample's length, < 128: one byte
      if (!zero) {
        buf[pos++] = 0x09; // Sample.value = 1, fixed64
        pos = buf.writeDoubleLE(value, pos);
      }
      for (let k = 0; k < stamp.length; k++) buf[pos++] = stamp[k]; // Sample.timestamp = 2
    }
  }
  for (const m of metadata) {
    buf[pos++] = 0x1a; // WriteRequest.metadata = 3
    pos = writeVarint(buf, pos, m.size);
    buf[pos++] = 0x08; // MetricMetadata.type = 1
    pos = writeVarint(buf, pos, m.type);
    pos = writeStringField(buf, pos, 0x12, m.family); // metric_family_name = 2
    pos = writeStringField(buf, pos, 0x22, m.help); // help = 4
    if (m.unit !== '') pos = writeStringField(buf, pos, 0x2a, m.unit); // unit = 5
  }
  if (pos !== total) throw new Error(`remote-write encoder wrote ${pos} of ${total} bytes`);
  return buf;
}

/** The body of one remote-write request for queued batches: encodeBatchesUncompressed, snappy block-compressed. */
export function encodeBatches(batches: readonly QueuedBatch[]): Uint8Array {
  return compress(encodeBatchesUncompressed(batches));
}
