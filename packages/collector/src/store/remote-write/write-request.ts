import * as path from 'node:path';
import protobuf from 'protobufjs';
import { compress } from 'snappyjs';
import { familyMetadata } from './node-exporter-metadata';
import type { QueuedBatch } from './queue-types';

/** Remote write 1.0's schema, loaded into a root of its own: nothing is shared with the agent protocol's. */
export const REMOTE_WRITE_PROTO_FILE = path.join(__dirname, '..', '..', '..', 'proto', 'prometheus', 'remote-write.proto');

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

/** Every series leaves with these (SPEC §8): `instance` is the node, `job` is fixed. */
export const REMOTE_WRITE_JOB = 'ximp';

const RESERVED = new Set(['__name__', 'instance', 'job']);

interface OutSeries {
  /** Sorted `[name, value]` pairs, `__name__` among them. */
  labels: [string, string][];
  timestamps: number[];
  values: number[];
}

/**
 * The protobuf WriteRequest (not yet compressed) for queued batches: one TimeSeries per series
 * (its samples in batch order, so oldest first within a shard), labels sorted with `__name__`,
 * `instance=<node>` and `job="ximp"` (a same-named label of the agent's is replaced), and the
 * metadata of every node_exporter family present. Throws on a batch whose values and series differ
 * in number (a damaged record: the caller drops it).
 */
export function encodeBatchesUncompressed(batches: readonly QueuedBatch[]): Uint8Array {
  const byKey = new Map<string, OutSeries>();
  const order: OutSeries[] = [];
  const families = new Set<string>();
  for (const batch of batches) {
    if (batch.values.length !== batch.series.length) {
      throw new Error(`batch of ${batch.node} at ${batch.timestampMs}: ${batch.values.length} values for ${batch.series.length} series`);
    }
    for (let i = 0; i < batch.series.length; i++) {
      const series = batch.series[i];
      let key = `${batch.node}\u0000${series.name}`;
      for (const l of series.labels) key += `\u0000${l.name}\u0000${l.value}`;
      let out = byKey.get(key);
      if (out === undefined) {
        const labels: [string, string][] = [
          ['__name__', series.name],
          ['instance', batch.node],
          ['job', REMOTE_WRITE_JOB],
        ];
        for (const l of series.labels) if (!RESERVED.has(l.name)) labels.push([l.name, l.value]);
        labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        out = { labels, timestamps: [], values: [] };
        byKey.set(key, out);
        order.push(out);
        families.add(series.name);
      }
      out.timestamps.push(batch.timestampMs);
      out.values.push(batch.values[i]);
    }
  }
  // Written field by field (the generated encoder's way) rather than through fromObject(): the
  // same bytes without building a message object per sample.
  const w = protobuf.Writer.create();
  for (const s of order) {
    w.uint32(0x0a).fork(); // WriteRequest.timeseries = 1
    for (const [name, value] of s.labels) w.uint32(0x0a).fork().uint32(0x0a).string(name).uint32(0x12).string(value).ldelim();
    for (let i = 0; i < s.values.length; i++) {
      w.uint32(0x12).fork().uint32(0x09).double(s.values[i]).uint32(0x10).int64(s.timestamps[i]).ldelim();
    }
    w.ldelim();
  }
  for (const family of families) {
    const meta = familyMetadata(family);
    if (meta === undefined) continue;
    w.uint32(0x1a).fork(); // WriteRequest.metadata = 3
    w.uint32(0x08).int32(meta.type).uint32(0x12).string(family).uint32(0x22).string(meta.help);
    if (meta.unit !== '') w.uint32(0x2a).string(meta.unit);
    w.ldelim();
  }
  return w.finish();
}

/** The body of one remote-write request for queued batches: encodeBatchesUncompressed, snappy block-compressed. */
export function encodeBatches(batches: readonly QueuedBatch[]): Uint8Array {
  return compress(encodeBatchesUncompressed(batches));
}
