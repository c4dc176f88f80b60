import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ErrorCodes, XimpError } from '@ximp/shared';
import type { EncodeJob, EncodeResult, WireBatch } from './encode-worker';
import type { QueuedBatch, SeriesDescription } from './forward-queue';
import { encodeBatches } from './write-request';

/** Turns queued batches into a remote-write request body (protobuf, snappy). */
export interface RequestEncoder {
  /** Rejects with XIMP_ERR_REMOTE_WRITE_ENCODE for batches that cannot be encoded. */
  encode(batches: readonly QueuedBatch[]): Promise<Uint8Array>;
  close(): Promise<void>;
}

function encodeFailed(message: string, cause?: unknown): XimpError {
  return new XimpError(ErrorCodes.REMOTE_WRITE_ENCODE, `remote-write encoding failed: ${message}`, { cause });
}

/** The encoder worker died with the job: the batches are fine, encoding is retried. */
export class EncoderLostError extends XimpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.REMOTE_WRITE_ENCODE, message, options);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = 'EncoderLostError';
  }
}

/** Encodes on the calling thread (`encode_in_worker: false`, and the reference in tests). */
export class InlineRequestEncoder implements RequestEncoder {
  encode(batches: readonly QueuedBatch[]): Promise<Uint8Array> {
    try {
      return Promise.resolve(encodeBatches(batches));
    } catch (err) {
      return Promise.reject(encodeFailed(err instanceof Error ? err.message : String(err), err));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The compiled worker entry. From dist/ it lies beside this file; when this file runs as
 * TypeScript (tests), the built copy in dist/ is used: the build precedes the tests, as it does
 * for workspace imports.
 */
export function encodeWorkerFile(): string {
  const beside = path.join(__dirname, 'encode-worker.js');
  if (fs.existsSync(beside)) return beside;
  const packageRoot = path.resolve(__dirname, '..', '..', '..');
  return path.join(packageRoot, 'dist', path.relative(path.join(packageRoot, 'src'), __dirname), 'encode-worker.js');
}

interface Pending {
  resolve(body: Uint8Array): void;
  reject(err: Error): void;
}

/** Series ids the worker may hold before both sides start numbering again (bounds its memory). */
export const MAX_WORKER_SERIES = 2_000_000;

/**
 * Encodes in one worker thread, so neither protobuf encoding nor snappy runs on the event loop
 * that serves agents. What the event loop still does is hand the batches over cheaply: each
 * series description crosses once (the queue hands out one object per series), after that a
 * batch is its node, timestamp and two typed arrays (series ids, values). Jobs are answered in
 * order; a worker that dies fails its pending jobs (the shard senders retry them) and the next
 * job starts a new one.
 */
export class WorkerRequestEncoder implements RequestEncoder {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private seriesIds = new WeakMap<SeriesDescription, number>();
  private nextSeriesId = 0;
  private resetNext = false;

  constructor(
    private readonly file: string = encodeWorkerFile(),
    private readonly maxSeries = MAX_WORKER_SERIES,
  ) {}

  encode(batches: readonly QueuedBatch[]): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new XimpError(ErrorCodes.STORE_STOPPED, 'remote-write encoder is closed'));
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    let job: EncodeJob;
    try {
      job = this.toWire(id, batches);
    } catch (err) {
      return Promise.reject(encodeFailed(err instanceof Error ? err.message : String(err), err));
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      if (this.pending.size === 0) worker.ref(); // a job under way keeps the process alive
      this.pending.set(id, { resolve, reject });
      worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.failAll(new XimpError(ErrorCodes.STORE_STOPPED, 'remote-write encoder is closed'));
    if (worker !== null) await worker.terminate();
  }

  private toWire(id: number, batches: readonly QueuedBatch[]): EncodeJob {
    // Numbering starts again before a job that could pass the bound, never in the middle of one:
    // the worker forgets its ids before it reads the job's definitions.
    let count = 0;
    for (const b of batches) count += b.series.length;
    if (this.nextSeriesId + count > this.maxSeries) this.forgetSeries();
    const defs: [number, SeriesDescription][] = [];
    const wire: WireBatch[] = batches.map((b) => {
      const ids = new Uint32Array(b.series.length);
      for (let i = 0; i < b.series.length; i++) {
        const series = b.series[i];
        let sid = this.seriesIds.get(series);
        if (sid === undefined) {
          sid = this.nextSeriesId++;
          this.seriesIds.set(series, sid);
          defs.push([sid, { name: series.name, labels: series.labels }]);
        }
        ids[i] = sid;
      }
      return { node: b.node, timestampMs: b.timestampMs, seriesIds: ids, values: b.values };
    });
    const job: EncodeJob = { id, reset: this.resetNext, defs, batches: wire };
    this.resetNext = false;
    return job;
  }

  /** Both sides start numbering again: every series is defined anew when next used. */
  private forgetSeries(): void {
    this.seriesIds = new WeakMap();
    this.nextSeriesId = 0;
    this.resetNext = true;
  }

  private start(): Worker {
    // No inherited --import loaders: the worker runs the compiled JavaScript.
    const worker = new Worker(this.file, { execArgv: [] });
    worker.unref(); // an idle encoder keeps nothing alive
    worker.on('message', (result: EncodeResult) => {
      const p = this.pending.get(result.id);
      if (p === undefined) return;
      this.pending.delete(result.id);
      if (this.pending.size === 0) worker.unref();
      if ('body' in result) p.resolve(result.body);
      else p.reject(encodeFailed(result.error));
    });
    worker.on('error', (err) => this.lost(worker, err));
    worker.on('exit', (code) => this.lost(worker, new Error(`encoder worker exited with code ${code}`)));
    this.worker = worker;
    // A new worker knows no series yet.
    this.seriesIds = new WeakMap();
    this.nextSeriesId = 0;
    this.resetNext = false;
    return worker;
  }

  private lost(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.failAll(new EncoderLostError(`remote-write encoder worker stopped: ${err.message}`, { cause: err }));
  }

  private failAll(err: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
  }
}

/** The encoder `encode_in_worker` asks for. */
export function createRequestEncoder(inWorker: boolean): RequestEncoder {
  return inWorker ? new WorkerRequestEncoder() : new InlineRequestEncoder();
}
