import { AGENT_BATCH_BOUNDS, type SeriesDefinition } from '@ximp/shared';

export interface SampleBatch {
  seriesIds: number[];
  values: number[];
}

export interface BatchBounds {
  samples: number;
  frameBytes: number;
}

// Upper bounds of protobuf's encoding: a tag is 1 byte here, a varint at most 5 (32-bit) or
// 10 (64-bit) bytes, a length prefix at most 5.
const FIELD = 1 + 5;
const SAMPLE_BYTES = 5 + 8; // a packed uint32 series id and a double
/** Frame, batch wrapper, sequence, timestamp, dropped count and the two packed-array headers. */
const BATCH_OVERHEAD_BYTES = 2 * FIELD + 3 * (1 + 10) + 2 * FIELD;

/** At most the bytes this definition takes in a MetricBatch (counted in UTF-8). */
export function definitionBytesBound(def: SeriesDefinition): number {
  let bytes = FIELD + (1 + 5) + FIELD + Buffer.byteLength(def.name);
  for (let i = 0; i < def.labels.length; i++) {
    const label = def.labels[i]!;
    bytes += FIELD + FIELD + Buffer.byteLength(label.name) + FIELD + Buffer.byteLength(label.value);
  }
  return bytes;
}

/**
 * Splits one cycle's samples into batches within the protocol's bounds, counting every series as
 * new to the session (a replay after a reconnect defines them all again). A cycle with no samples
 * still yields one empty batch: it keeps the node's last-seen time moving.
 */
export function splitIntoBatches(
  samples: SampleBatch,
  definitionBytes: (seriesId: number) => number,
  bounds: BatchBounds = AGENT_BATCH_BOUNDS,
): SampleBatch[] {
  if (fitsOneBatch(samples.seriesIds, definitionBytes, bounds)) return [samples];
  const batches: SampleBatch[] = [];
  let current: SampleBatch = { seriesIds: [], values: [] };
  let bytes = BATCH_OVERHEAD_BYTES;
  let defined = new Set<number>();
  for (let i = 0; i < samples.seriesIds.length; i++) {
    const id = samples.seriesIds[i]!;
    let idBytes = defined.has(id) ? 0 : definitionBytes(id);
    const full = current.seriesIds.length >= bounds.samples || bytes + SAMPLE_BYTES + idBytes > bounds.frameBytes;
    if (full && current.seriesIds.length > 0) {
      batches.push(current);
      current = { seriesIds: [], values: [] };
      bytes = BATCH_OVERHEAD_BYTES;
      defined = new Set();
      // A series the closed batch defined is new to this one.
      if (idBytes === 0) idBytes = definitionBytes(id);
    }
    bytes += SAMPLE_BYTES + idBytes;
    defined.add(id);
    current.seriesIds.push(id);
    current.values.push(samples.values[i]!);
  }
  batches.push(current);
  return batches;
}

/**
 * Whether the whole cycle fits one batch even with every sample defining its series (a repeat
 * counted twice only over-estimates): the usual cycle, which then needs no copy and no set.
 */
function fitsOneBatch(seriesIds: number[], definitionBytes: (seriesId: number) => number, bounds: BatchBounds): boolean {
  if (seriesIds.length > bounds.samples) return false;
  let bytes = BATCH_OVERHEAD_BYTES;
  for (let i = 0; i < seriesIds.length && bytes <= bounds.frameBytes; i++) bytes += SAMPLE_BYTES + definitionBytes(seriesIds[i]!);
  return bytes <= bounds.frameBytes;
}
