// Worker-thread entry of WorkerRequestEncoder: encodes and compresses requests off the event loop
// that serves agents. One message in, one out, in order.
import { parentPort } from 'node:worker_threads';
import type { QueuedBatch } from './queue-types';
import { encodeBatches } from './write-request';

export interface EncodeJob {
  id: number;
  batches: QueuedBatch[];
}

export type EncodeResult = { id: number; body: Uint8Array } | { id: number; error: string };

parentPort?.on('message', (job: EncodeJob) => {
  let result: EncodeResult;
  try {
    result = { id: job.id, body: encodeBatches(job.batches) };
  } catch (err) {
    result = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  if ('body' in result) parentPort?.postMessage(result, [result.body.buffer as ArrayBuffer]);
  else parentPort?.postMessage(result);
});
