// Worker-thread entry of WorkerRequestEncoder: encodes and compresses requests off the event loop
// that serves agents. Jobs are answered one by one, in order.
import { parentPort } from 'node:worker_threads';
import type { QueuedBatch, SeriesDescription } from './forward-queue';
import { encodeBatches } from './write-request';

/** A batch as it crosses to the worker: its series as ids the worker already knows. */
export interface WireBatch {
  node: string;
  timestampMs: number;
  seriesIds: Uint32Array;
  values: Float64Array;
}

export interface EncodeJob {
  id: number;
  /** Forget every series id first (the sender started numbering again). */
  reset: boolean;
  /** Series first used by this job: `[id, description]`. */
  defs: [number, SeriesDescription][];
  batches: WireBatch[];
}

export type EncodeResult = { id: number; body: Uint8Array } | { id: number; error: string };

const known = new Map<number, SeriesDescription>();

/** Back to QueuedBatch: one description object per id, so the encoder's per-series cache holds across jobs. */
export function fromWire(job: EncodeJob, table: Map<number, SeriesDescription>): QueuedBatch[] {
  if (job.reset) table.clear();
  for (const [id, description] of job.defs) table.set(id, description);
  return job.batches.map((b) => {
    const series: SeriesDescription[] = new Array<SeriesDescription>(b.seriesIds.length);
    for (let i = 0; i < b.seriesIds.length; i++) {
      const d = table.get(b.seriesIds[i]);
      if (d === undefined) throw new Error(`series id ${b.seriesIds[i]} was never defined`);
      series[i] = d;
    }
    return { node: b.node, timestampMs: b.timestampMs, series, values: b.values };
  });
}

parentPort?.on('message', (job: EncodeJob) => {
  let result: EncodeResult;
  try {
    result = { id: job.id, body: encodeBatches(fromWire(job, known)) };
  } catch (err) {
    result = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  if ('body' in result) {
    // Only a buffer of its own is handed over (a view into a shared pool must not be detached).
    let body = result.body;
    if (body.byteOffset !== 0 || body.byteLength !== body.buffer.byteLength) body = new Uint8Array(body);
    parentPort?.postMessage({ id: result.id, body }, [body.buffer as ArrayBuffer]);
  } else {
    parentPort?.postMessage(result);
  }
});
