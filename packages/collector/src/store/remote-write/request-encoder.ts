import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ErrorCodes, XimpError } from '@ximp/shared';
import type { EncodeJob, EncodeResult } from './encode-worker';
import type { QueuedBatch } from './queue-types';
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

/**
 * Encodes in one worker thread, so neither protobuf encoding nor snappy runs on the event loop
 * that serves agents. Jobs are answered in order; a worker that dies fails its pending jobs (the
 * shard senders retry them) and the next job starts a new one.
 */
export class WorkerRequestEncoder implements RequestEncoder {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly file: string = encodeWorkerFile()) {}

  encode(batches: readonly QueuedBatch[]): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new XimpError(ErrorCodes.STORE_STOPPED, 'remote-write encoder is closed'));
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const job: EncodeJob = { id, batches: batches as QueuedBatch[] };
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

  private start(): Worker {
    // No inherited --import loaders: the worker runs the compiled JavaScript.
    const worker = new Worker(this.file, { execArgv: [] });
    worker.unref(); // pending jobs are promises the caller holds; the thread itself keeps nothing alive
    worker.on('message', (result: EncodeResult) => {
      const p = this.pending.get(result.id);
      if (p === undefined) return;
      this.pending.delete(result.id);
      if ('body' in result) p.resolve(result.body);
      else p.reject(encodeFailed(result.error));
    });
    worker.on('error', (err) => this.lost(worker, err));
    worker.on('exit', (code) => this.lost(worker, new Error(`encoder worker exited with code ${code}`)));
    this.worker = worker;
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
