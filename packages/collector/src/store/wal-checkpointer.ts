import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CheckpointAnswer, CheckpointResult } from './checkpoint-worker';

/**
 * The compiled worker entry. From dist/ it lies beside this file; when this file runs as
 * TypeScript (tests), the built copy in dist/ is used: the build precedes the tests.
 */
export function checkpointWorkerFile(): string {
  const beside = path.join(__dirname, 'checkpoint-worker.js');
  if (fs.existsSync(beside)) return beside;
  const packageRoot = path.resolve(__dirname, '..', '..');
  return path.join(packageRoot, 'dist', path.relative(path.join(packageRoot, 'src'), __dirname), 'checkpoint-worker.js');
}

/**
 * Checkpoints the database's WAL in a worker thread with its own connection (the group commit
 * runs with wal_autocheckpoint=0, so no checkpoint ever runs inside a commit on the event loop).
 * One checkpoint at a time; `checkpoint()` resolves with SQLite's answer. A worker that fails
 * rejects what it was asked and every later call: the caller then falls back to SQLite's
 * automatic checkpoint.
 */
export class WalCheckpointer {
  private worker: Worker | undefined;
  private waiting: { resolve(r: CheckpointResult): void; reject(err: Error): void } | undefined;
  private failed: Error | undefined;

  constructor(
    private readonly databaseFile: string,
    private readonly workerFile = checkpointWorkerFile(),
  ) {}

  /** True once the worker failed: no checkpoint runs here any more. */
  get lost(): boolean {
    return this.failed !== undefined;
  }

  checkpoint(): Promise<CheckpointResult> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.waiting) return Promise.reject(new Error('a checkpoint is already running'));
    const worker = this.worker ?? this.start();
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      worker.ref();
      worker.postMessage('checkpoint');
    });
  }

  /** Ends the worker (its connection closes; the WAL stays, the main connection still has it open). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.failed ??= new Error('checkpointer closed');
    this.settle(this.failed);
    if (worker) await worker.terminate();
  }

  private start(): Worker {
    const worker = new Worker(this.workerFile, { execArgv: [], workerData: { file: this.databaseFile } });
    worker.unref();
    worker.on('message', (answer: CheckpointAnswer) => {
      worker.unref();
      if ('error' in answer) this.settle(new Error(answer.error));
      else this.settle(undefined, answer);
    });
    worker.on('error', (err) => this.onLost(worker, err));
    worker.on('exit', (code) => this.onLost(worker, new Error(`checkpoint worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private onLost(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.failed = err;
    this.settle(err);
  }

  private settle(err: Error | undefined, result?: CheckpointResult): void {
    const w = this.waiting;
    this.waiting = undefined;
    if (!w) return;
    if (err) w.reject(err);
    else w.resolve(result!);
  }
}
