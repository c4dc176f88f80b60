import * as path from 'node:path';
import protobuf from 'protobufjs';
import { compress } from 'snappyjs';

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
