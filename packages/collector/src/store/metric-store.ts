import { ErrorCodes, XimpError, type Label, type Lifecycle, type OnError } from '@ximp/shared';
import type { Database } from './database';
import { SeriesCache } from './series-cache';
import { readSeries, type SeriesPoints } from './series-query';

export type { SeriesPoints } from './series-query';

/** A batch as stored: collector-wide series ids (from `seriesId`), one timestamp, packed values. */
export interface StoredBatch {
  node: string;
  streamId: string;
  sequence: number;
  timestampMs: number;
  seriesIds: Uint32Array;
  values: Float64Array;
}

export interface MetricStoreOptions {
  /** How long a batch may wait for company before its commit (default 5 ms). */
  commitIntervalMs?: number;
  /** A commit starts at once when this many batches wait (default 512). */
  maxBatchesPerCommit?: number;
  /** Beyond this many waiting batches `append` refuses with XIMP_ERR_STORE_BUSY (default 10 000). */
  maxQueuedBatches?: number;
  /** Series ids kept in memory (default 100 000). */
  seriesCacheSize?: number;
  /** Where unexpected errors of the commit timer go. */
  onError?: OnError;
}

export const DEFAULT_COMMIT_INTERVAL_MS = 5;
export const DEFAULT_MAX_BATCHES_PER_COMMIT = 512;
export const DEFAULT_MAX_QUEUED_BATCHES = 10_000;
export const DEFAULT_SERIES_CACHE_SIZE = 100_000;
/** Rows deleted per retention transaction, so one pass never holds the write lock for long. */
const RETENTION_CHUNK = 10_000;

interface Pending {
  batch: StoredBatch;
  resolve(result: { duplicate: boolean }): void;
  reject(err: Error): void;
}

/**
 * The embedded metric store (SPEC §9). Throughput by design:
 * - a batch is ONE row (packed series ids and values as blobs), not one row per sample;
 * - group commit: batches queue for a few milliseconds and are written in one transaction, whose
 *   single WAL fsync (synchronous=FULL) makes all of them durable; only then is each `append`
 *   resolved, so the caller acknowledges nothing that a kill -9 could lose;
 * - replays are dropped by the primary key (node, stream, sequence) and reported as duplicates.
 * Blobs hold the platform's byte order (little-endian on every platform Node supports here).
 */
export class MetricStore implements Lifecycle {
  private readonly commitIntervalMs: number;
  private readonly maxBatchesPerCommit: number;
  private readonly maxQueuedBatches: number;
  private readonly onError: OnError;
  private readonly cache: SeriesCache;
  private readonly stmts;
  private readonly writeCommit: (items: Pending[]) => boolean[];

  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private state: 'new' | 'running' | 'stopped' = 'new';

  private counts = { batchesStored: 0, samplesStored: 0, duplicates: 0, commits: 0, failedCommits: 0, rejected: 0 };

  constructor(
    private readonly db: Database,
    options: MetricStoreOptions = {},
  ) {
    this.commitIntervalMs = options.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS;
    this.maxBatchesPerCommit = Math.max(1, options.maxBatchesPerCommit ?? DEFAULT_MAX_BATCHES_PER_COMMIT);
    this.maxQueuedBatches = Math.max(1, options.maxQueuedBatches ?? DEFAULT_MAX_QUEUED_BATCHES);
    this.onError = options.onError ?? (() => undefined);
    this.cache = new SeriesCache(options.seriesCacheSize ?? DEFAULT_SERIES_CACHE_SIZE);
    this.stmts = {
      insertBatch: db.prepare(
        'INSERT OR IGNORE INTO batches (node, stream_id, sequence, timestamp_ms, series_ids, vals) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      upsertStream: db.prepare(
        `INSERT INTO streams (node, stream_id, last_sequence) VALUES (?, ?, ?)
         ON CONFLICT (node, stream_id) DO UPDATE SET last_sequence = MAX(last_sequence, excluded.last_sequence)`,
      ),
      lastSequence: db.prepare('SELECT last_sequence FROM streams WHERE node = ? AND stream_id = ?'),
      findSeries: db.prepare('SELECT id FROM series WHERE node = ? AND name = ? AND labels_json = ?'),
      insertSeries: db.prepare('INSERT INTO series (node, name, labels_json) VALUES (?, ?, ?)'),
      deleteOld: db.prepare(
        `DELETE FROM batches WHERE rowid IN (SELECT rowid FROM batches WHERE timestamp_ms < ? LIMIT ${RETENTION_CHUNK})`,
      ),
    };
    this.writeCommit = db.transaction((items: Pending[]): boolean[] => {
      const duplicates: boolean[] = [];
      const highest = new Map<string, { node: string; streamId: string; sequence: number }>();
      for (const { batch } of items) {
        const info = this.stmts.insertBatch.run(
          batch.node,
          batch.streamId,
          batch.sequence,
          batch.timestampMs,
          bytesOf(batch.seriesIds),
          bytesOf(batch.values),
        );
        duplicates.push(info.changes === 0);
        const key = `${batch.node}\u0000${batch.streamId}`;
        const seen = highest.get(key);
        if (!seen || seen.sequence < batch.sequence) highest.set(key, { node: batch.node, streamId: batch.streamId, sequence: batch.sequence });
      }
      highest.forEach((s) => this.stmts.upsertStream.run(s.node, s.streamId, s.sequence));
      return duplicates;
    });
  }

  async start(): Promise<void> {
    if (this.state === 'new') this.state = 'running';
  }

  /** Stops accepting, commits everything queued, then cancels the timer. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.cancelSchedule();
    while (this.queue.length > 0) this.commitOnce();
  }

  /**
   * Queues a batch for the next group commit. Resolves once the batch is durable
   * (`duplicate: true` when that (node, stream, sequence) was already stored); rejects with
   * XIMP_ERR_STORE_FAILED when the commit failed, XIMP_ERR_STORE_BUSY when too many batches
   * wait (retryable), XIMP_ERR_STORE_STOPPED when the store is not running. On rejection the
   * caller must not acknowledge.
   */
  append(batch: StoredBatch): Promise<{ duplicate: boolean }> {
    if (this.state !== 'running') {
      return Promise.reject(new XimpError(ErrorCodes.STORE_STOPPED, 'metric store is not running'));
    }
    if (this.queue.length >= this.maxQueuedBatches) {
      this.counts.rejected++;
      return Promise.reject(new XimpError(ErrorCodes.STORE_BUSY, `metric store queue is full (${this.maxQueuedBatches} batches)`));
    }
    const problem = invalidBatch(batch);
    if (problem) return Promise.reject(new XimpError(ErrorCodes.REQUEST_INVALID, problem));
    return new Promise((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      this.schedule();
    });
  }

  /**
   * The collector-wide id of a series, created on first use. Labels are sorted by name, so their
   * order does not matter. A new series row is committed without its own fsync: any batch that
   * refers to it is committed later with one, which makes the series row durable too (WAL frames
   * are written and recovered in order).
   */
  seriesId(node: string, name: string, labels: readonly Label[]): number {
    const labelsJson = JSON.stringify(
      [...labels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((l) => [l.name, l.value]),
    );
    const key = `${node}\u0000${name}\u0000${labelsJson}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const row = this.stmts.findSeries.get(node, name, labelsJson) as { id: number } | undefined;
    let id: number;
    if (row) id = row.id;
    else if (this.db.inTransaction) id = Number(this.stmts.insertSeries.run(node, name, labelsJson).lastInsertRowid);
    else {
      this.db.pragma('synchronous = NORMAL');
      try {
        id = Number(this.stmts.insertSeries.run(node, name, labelsJson).lastInsertRowid);
      } finally {
        this.db.pragma('synchronous = FULL');
      }
    }
    if (id > 0xffffffff) throw new XimpError(ErrorCodes.STORE_FAILED, 'series id space exhausted');
    this.cache.set(key, id);
    return id;
  }

  /** The highest committed sequence of a stream, 0 if none (queued batches do not count). */
  lastSequence(node: string, streamId: string): number {
    const row = this.stmts.lastSequence.get(node, streamId) as { last_sequence: number } | undefined;
    return row ? row.last_sequence : 0;
  }

  /**
   * Every series of `metric` on `node` with its points in [fromMs, toMs], in one unbounded
   * synchronous scan: for tests and tools only; the API reads through SeriesQuery (series-query.ts).
   */
  query(node: string, metric: string, fromMs: number, toMs: number): SeriesPoints[] {
    return readSeries(this.db, node, metric, fromMs, toMs);
  }

  /** Deletes batches older than `now - retentionMs`, in short transactions; returns how many. */
  applyRetention(now: number, retentionMs: number): number {
    const cutoff = now - retentionMs;
    let total = 0;
    for (;;) {
      const n = this.stmts.deleteOld.run(cutoff).changes;
      total += n;
      if (n < RETENTION_CHUNK) return total;
    }
  }

  /** A snapshot of every counter, for the collector's /metrics. */
  get counters(): { batchesStored: number; samplesStored: number; duplicates: number; commits: number; failedCommits: number; rejected: number } {
    return { ...this.counts };
  }

  /** Batches waiting for a commit. */
  get queued(): number {
    return this.queue.length;
  }
  get batchesStored(): number {
    return this.counts.batchesStored;
  }
  get samplesStored(): number {
    return this.counts.samplesStored;
  }
  get duplicates(): number {
    return this.counts.duplicates;
  }
  get commits(): number {
    return this.counts.commits;
  }
  get failedCommits(): number {
    return this.counts.failedCommits;
  }
  /** Appends refused because the queue was full. */
  get rejected(): number {
    return this.counts.rejected;
  }

  private schedule(): void {
    if (this.queue.length >= this.maxBatchesPerCommit) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      if (!this.immediate) this.immediate = setImmediate(() => this.onTick());
      return;
    }
    if (!this.timer && !this.immediate) this.timer = setTimeout(() => this.onTick(), this.commitIntervalMs);
  }

  private cancelSchedule(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private onTick(): void {
    this.timer = undefined;
    this.immediate = undefined;
    try {
      this.commitOnce();
    } catch (err) {
      this.onError(err, 'metric store commit');
    }
    // Leave the event loop a turn between commits, then carry on with what is left.
    if (this.queue.length > 0 && this.state === 'running') this.immediate = setImmediate(() => this.onTick());
  }

  /** Writes up to maxBatchesPerCommit queued batches in one transaction and settles their promises in order. */
  private commitOnce(): void {
    const items = this.queue.splice(0, this.maxBatchesPerCommit);
    if (items.length === 0) return;
    let duplicates: boolean[];
    try {
      duplicates = this.writeCommit(items);
    } catch (err) {
      this.counts.failedCommits++;
      for (const item of items) {
        item.reject(new XimpError(ErrorCodes.STORE_FAILED, `metric store commit failed: ${(err as Error).message}`, { cause: err }));
      }
      return;
    }
    this.counts.commits++;
    for (let i = 0; i < items.length; i++) {
      if (duplicates[i]) this.counts.duplicates++;
      else {
        this.counts.batchesStored++;
        this.counts.samplesStored += items[i].batch.values.length;
      }
      items[i].resolve({ duplicate: duplicates[i] });
    }
  }
}

function invalidBatch(b: StoredBatch): string | null {
  if (!(b.seriesIds instanceof Uint32Array) || !(b.values instanceof Float64Array)) return 'batch needs a Uint32Array of series ids and a Float64Array of values';
  if (b.seriesIds.length !== b.values.length) return 'batch has different numbers of series ids and values';
  if (!Number.isSafeInteger(b.sequence) || b.sequence < 0) return 'batch sequence must be a non-negative integer';
  if (!Number.isFinite(b.timestampMs)) return 'batch timestamp must be a finite number';
  return null;
}

function bytesOf(a: Uint32Array | Float64Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
