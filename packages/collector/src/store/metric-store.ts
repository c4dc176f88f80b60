import { ErrorCodes, PeriodicTask, XimpError, type Label, type Lifecycle, type OnError } from '@ximp/shared';
import { DEFAULT_COLLECTOR_CONFIG } from '../config';
import type { Database } from './database';
import type { ForwardTarget, SeriesDescription } from './forward-target';
import { idOf, packSeries, SeriesIndex, stampOf, type NodeSeries } from './series-index';
import { adoptSeriesKey, hashSeries } from './series-key-hash';
import { SeriesHold } from './series-hold';
import { readSeries, type SeriesPoints } from './series-query';
import { WalCheckpointer } from './wal-checkpointer';
import { WalFileSync } from './wal-file-sync';
import { RelaxedSync } from './relaxed-sync';

export type { SeriesPoints } from './series-query';
import { SeriesLimits, type SeriesLimitOptions } from './series-limits';

/** A batch as stored: collector-wide series ids (from `seriesId`), one timestamp, packed values. */
export interface StoredBatch {
  node: string;
  streamId: string;
  sequence: number;
  timestampMs: number;
  seriesIds: Uint32Array;
  values: Float64Array;
  /**
   * The sequence the sender sent before this one on the stream (its last acknowledged one for the
   * first batch of a session). The stream's watermark moves over this batch only when it has
   * reached `previousSequence`, so a gap left by a failed commit holds it back. Left out (the
   * collector's own series), the watermark is the highest stored sequence.
   */
  previousSequence?: number;
}

export interface AppendOptions {
  /**
   * The batch carries the collector's own series (`up` for every known agent each round): it does
   * not count against `maxQueuedBatches`, which bounds what agents queue, so a round for a fleet
   * larger than the bound never refuses an agent's batch. Its writer bounds itself (one round in
   * flight at most).
   */
  own?: boolean;
}

export interface MetricStoreOptions {
  /** How long a batch may wait for company before its commit (default 5 ms). */
  commitIntervalMs?: number;
  /** A commit starts at once when this many batches wait (default 512). */
  maxBatchesPerCommit?: number;
  /** Beyond this many waiting agents' batches `append` refuses with XIMP_ERR_STORE_BUSY (default 10 000; the collector's own are not counted). */
  maxQueuedBatches?: number;
  /** Bytes the series-id index may take (default 64 MiB; two bytes per key character plus overhead). */
  seriesCacheBytes?: number;
  /**
   * How often a worker thread checkpoints the WAL (default 250 ms); 0 leaves it to SQLite's
   * automatic checkpoint, which runs inside a commit on the event loop.
   */
  checkpointIntervalMs?: number;
  /** Where unexpected errors of the commit timer go. */
  onError?: OnError;
  /** Series per node and new series per node per minute (`limits:` in collector.yaml). */
  seriesLimits?: Omit<SeriesLimitOptions, 'now'>;
  /** Remote stores' queues: each committed, non-duplicate batch goes into every one in the commit's transaction. */
  forwardTargets?: readonly ForwardTarget[];
  /** How far ahead of the collector's clock a batch may have been stamped (default 10 min; the widest setting ever used): series expire that much later (see `removeUnusedSeries`). */
  maxFutureSkewMs?: number;
  now?: () => number;
}

export const DEFAULT_COMMIT_INTERVAL_MS = 5;
export const DEFAULT_MAX_BATCHES_PER_COMMIT = 512;
export const DEFAULT_MAX_QUEUED_BATCHES = 10_000;
export const DEFAULT_SERIES_CACHE_BYTES = 128 * 1024 * 1024;
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 250;
/** SQLite's own wal_autocheckpoint, restored when the checkpoint worker is lost. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;
/** WAL frames (of a 4 KiB page each) after which a checkpoint round makes SQLite restart the WAL: ~16 MiB. */
const WAL_RESTART_FRAMES = 4096;
/** Streams whose watermark is kept in memory; a miss reads the streams table. */
const WATERMARK_CACHE_SIZE = 100_000;
/** A held series whose stamp is older than this is stamped again by the next retention pass. */
const SERIES_STAMP_REFRESH_MS = 24 * 3600_000;
/** The retention job's period (RetentionTimer): how long a crash may come after a pass. */
const RETENTION_PERIOD_MS = 3600_000;
/** Rows deleted per retention transaction, so one pass never holds the write lock for long. */
const RETENTION_CHUNK = 10_000;
/** The collector's own series of every known node (`up`, see `seriesId`): room for them is made with a session's. */
const OWN_SERIES_PER_NODE = 1;
/** Series rows per INSERT statement when a commit writes new series. */
const SERIES_INSERT_ROWS = 64;

interface Pending {
  batch: StoredBatch;
  resolve(result: { duplicate: boolean }): void;
  reject(err: Error): void;
  /** A batch of the collector's own series (`up`): outside the agents' bound. */
  own: boolean;
}

/** A committed group whose batches wait for the sync that makes them durable. */
interface CommittedGroup {
  items: Pending[];
  duplicates: boolean[];
  /** Watermarks the commit moved, by `node\0stream`. */
  moved: Map<string, { sequence: number }>;
}

/** A series given an id in memory whose row is written by the next group commit. */
interface PendingSeries {
  id: number;
  node: string;
  name: string;
  labelsJson: string;
}

/**
 * The embedded metric store (SPEC §9). Throughput by design:
 * - a batch is ONE row (packed series ids and values as blobs), not one row per sample;
 * - group commit: batches queue for a few milliseconds and are written in one transaction with
 *   synchronous=NORMAL (the WAL is written, not synced: safe against kill -9 already); the sync
 *   that makes it durable against power loss too (fdatasync of the WAL file and of every remote
 *   store's queue) runs on libuv's thread pool, off the event loop. Only when that sync has
 *   succeeded is each `append` of the group resolved and the streams' watermarks shown, in
 *   order, so the caller acknowledges nothing that a crash could lose. Commits go on while a sync
 *   runs; the next sync covers them all;
 * - replays are dropped by the primary key (node, stream, sequence) and reported as duplicates.
 * Blobs hold the platform's byte order (little-endian on every platform Node supports here).
 */
export class MetricStore implements Lifecycle {
  private readonly commitIntervalMs: number;
  private readonly maxBatchesPerCommit: number;
  private readonly maxQueuedBatches: number;
  private readonly onError: OnError;
  private readonly index: SeriesIndex;
  private readonly limits: SeriesLimits;
  private readonly maxFutureSkewMs: number;
  private readonly now: () => number;
  private readonly stmts;
  private readonly writeCommit: (items: Pending[]) => { duplicates: boolean[]; moved: Map<string, { sequence: number }> };
  private readonly writeStamps: (stamps: [number, number][]) => void;
  private readonly deleteSeriesRows: (ids: number[]) => void;
  private readonly forwardTargets: readonly ForwardTarget[];
  private readonly describeSeries: (id: number) => SeriesDescription;
  private readonly walSync: WalFileSync;
  /** The group commit and the collector's own series rows are written relaxed (not synced on the event loop). */
  private readonly relaxed: RelaxedSync;

  /** Committed groups waiting for the next sync, oldest first. */
  private unsynced: CommittedGroup[] = [];
  /** Watermarks moved by commits whose sync failed: shown once a later sync succeeds. */
  private carried: Map<string, { sequence: number }>[] = [];
  private readonly checkpointIntervalMs: number;
  private checkpointer: WalCheckpointer | undefined;
  private readonly checkpoints: PeriodicTask;
  private checkpointing: Promise<void> | undefined;
  /** True while the checkpoint worker copies the last frames: commits wait, so the next one restarts the WAL. */
  private commitsHeld = false;
  /** The sync under way, if any. */
  private syncing: Promise<void> | undefined;
  /**
   * Streams whose watermark moved in a commit not yet durable: the durable watermark (what
   * lastSequence shows) and how many such commits wait. Other streams' committed watermark is durable.
   */
  private readonly durableWatermarks = new Map<string, { sequence: number; pending: number }>();

  /** Contiguous watermark per stream (`node\0stream`), as committed; bounded, a miss reads the table. */
  private readonly watermarks = new Map<string, number>();
  /**
   * Series given an id whose row the next commit writes, in order, and the same by node, so
   * eviction from the index cannot lose them. A list per node, not a map by key: a new series
   * builds no key when its hash was streamed, and they are looked up only on rare paths (a node
   * reloaded after eviction, or over its share of the index).
   */
  private pendingSeries: PendingSeries[] = [];
  private readonly pendingByNode = new Map<string, PendingSeries[]>();
  /** Series ids whose `last_used_ms` the next commit stamps (newly held or released), with the time. */
  private readonly touches = new Map<number, number>();
  /** The live holders (sessions) by the node they define series of: retention never removes a series they hold. */
  private readonly holders = new Map<string, Set<SeriesHold>>();
  private nextSeriesId = 0;
  /** The series handed out by `seriesId`, held while the store runs, and their ids by node and key. */
  private readonly ownSeries = new Set<number>();
  private readonly ownHold = new SeriesHold();
  private readonly ownIds = new Map<string, number>();

  private queue: Pending[] = [];
  /** How many of `queue` are the collector's own batches. */
  private ownQueued = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private state: 'new' | 'running' | 'stopped' = 'new';

  private counts = { heldBack: 0, batchesStored: 0, samplesStored: 0, duplicates: 0, commits: 0, failedCommits: 0, rejected: 0, seriesCreated: 0, seriesRemoved: 0 };

  constructor(
    private readonly db: Database,
    options: MetricStoreOptions = {},
  ) {
    this.commitIntervalMs = options.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS;
    this.maxBatchesPerCommit = Math.max(1, options.maxBatchesPerCommit ?? DEFAULT_MAX_BATCHES_PER_COMMIT);
    this.maxQueuedBatches = Math.max(1, options.maxQueuedBatches ?? DEFAULT_MAX_QUEUED_BATCHES);
    this.onError = options.onError ?? (() => undefined);
    this.index = new SeriesIndex(options.seriesCacheBytes ?? DEFAULT_SERIES_CACHE_BYTES);
    this.now = options.now ?? Date.now;
    this.limits = new SeriesLimits({ ...options.seriesLimits, now: this.now });
    this.maxFutureSkewMs = options.maxFutureSkewMs ?? DEFAULT_COLLECTOR_CONFIG.limits.maxFutureSkewMs;
    this.forwardTargets = options.forwardTargets ?? [];
    this.checkpointIntervalMs = options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    // checkpointRound never throws and keeps one round at a time itself; started only with an interval.
    this.checkpoints = new PeriodicTask({ run: () => this.checkpointRound(), everyMs: this.checkpointIntervalMs, runAtStart: false, onError: () => undefined });
    this.stmts = {
      insertBatch: db.prepare(
        'INSERT OR IGNORE INTO batches (node, stream_id, sequence, timestamp_ms, series_ids, vals) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      upsertStream: db.prepare(
        `INSERT INTO streams (node, stream_id, last_sequence) VALUES (?, ?, ?)
         ON CONFLICT (node, stream_id) DO UPDATE SET last_sequence = excluded.last_sequence`,
      ),
      lastSequence: db.prepare('SELECT last_sequence FROM streams WHERE node = ? AND stream_id = ?'),
      findSeries: db.prepare('SELECT id, last_used_ms FROM series WHERE node = ? AND name = ? AND labels_json = ?'),
      // The index key (`seriesKey`) built by SQLite: one string per row, not two and a join.
      nodeSeries: db.prepare("SELECT id, name || char(0) || labels_json, last_used_ms FROM series WHERE node = ? LIMIT ?").raw(),
      insertSeries: db.prepare('INSERT INTO series (id, node, name, labels_json, last_used_ms) VALUES (?, ?, ?, ?, ?)'),
      insertSeriesRows: db.prepare(
        `INSERT INTO series (id, node, name, labels_json, last_used_ms) VALUES ${Array(SERIES_INSERT_ROWS).fill('(?, ?, ?, ?, ?)').join(', ')}`,
      ),
      // Nothing on the table keeps (node, name, labels_json) unique (migration 6): the row is written
      // only where none is; OR IGNORE still covers an id another store on this file gave first.
      insertOwnSeries: db.prepare(
        `INSERT OR IGNORE INTO series (id, node, name, labels_json, last_used_ms) SELECT @id, @node, @name, @labelsJson, @now
         WHERE NOT EXISTS (SELECT 1 FROM series WHERE node = @node AND name = @name AND labels_json = @labelsJson)`,
      ),
      maxSeriesId: db.prepare('SELECT MAX(id) AS id FROM series'),
      countSeries: db.prepare('SELECT COUNT(*) AS n FROM series WHERE node = ?'),
      stampSeries: db.prepare('UPDATE series SET last_used_ms = ? WHERE id = ?'),
      unusedSeries: db.prepare(`SELECT id, node, name, labels_json FROM series WHERE last_used_ms < ? ORDER BY last_used_ms LIMIT ${RETENTION_CHUNK}`),
      deleteSeries: db.prepare('DELETE FROM series WHERE id = ?'),
      seriesById: db.prepare('SELECT name, labels_json FROM series WHERE id = ?'),
      deleteOld: db.prepare(
        `DELETE FROM batches WHERE rowid IN (SELECT rowid FROM batches WHERE timestamp_ms < ? LIMIT ${RETENTION_CHUNK})`,
      ),
    };
    this.writeCommit = db.transaction((items: Pending[]) => {
      this.beforeCommit();
      this.writeSeries();
      const duplicates: boolean[] = [];
      const moved = new Map<string, { node: string; streamId: string; sequence: number }>();
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
        // The watermark moves only along an unbroken chain: over this batch when it has reached the
        // batch's predecessor. A stored batch beyond a gap (its predecessor's commit failed) waits
        // until the predecessor is replayed; its replay, a duplicate, then moves the watermark on.
        const key = `${batch.node}\u0000${batch.streamId}`;
        const w = moved.get(key)?.sequence ?? this.watermarkOf(key, batch.node, batch.streamId);
        const reached = batch.previousSequence === undefined || w >= batch.previousSequence;
        if (reached && batch.sequence > w) moved.set(key, { node: batch.node, streamId: batch.streamId, sequence: batch.sequence });
      }
      moved.forEach((s) => this.stmts.upsertStream.run(s.node, s.streamId, s.sequence));
      this.forward(items, duplicates);
      return { duplicates, moved };
    });
    this.writeStamps = this.db.transaction((stamps: [number, number][]) => {
      for (const [id, ms] of stamps) this.stmts.stampSeries.run(ms, id);
    });
    this.describeSeries = (id: number): SeriesDescription => {
      const row = this.stmts.seriesById.get(id) as { name: string; labels_json: string } | undefined;
      if (!row) throw new XimpError(ErrorCodes.STORE_FAILED, `series ${id} has no row to forward it by`);
      return { name: row.name, labels: (JSON.parse(row.labels_json) as [string, string][]).map(([name, value]) => ({ name, value })) };
    };
    this.deleteSeriesRows = db.transaction((ids: number[]) => {
      for (const id of ids) this.stmts.deleteSeries.run(id);
    });
    this.walSync = new WalFileSync(db.name);
    // Only the store's own writes are relaxed here: others on this connection (tokens, users,
    // audit) keep the database's setting and are durable when their call returns.
    this.relaxed = new RelaxedSync(db);
  }

  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'running';
    if (this.checkpointIntervalMs > 0) {
      this.checkpointer = this.createCheckpointer();
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpoints.start();
    }
  }

  /** Stops accepting, commits everything queued (and series not yet written), then cancels the timer. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.cancelSchedule();
    await this.stopCheckpoints();
    while (this.queue.length > 0) {
      if (this.syncing && this.forwardTargets.length > 0) await this.syncing;
      this.commitOnce();
    }
    if (this.pendingSeries.length > 0 || this.touches.size > 0) {
      if (this.syncing && this.forwardTargets.length > 0) await this.syncing;
      try {
        // With the connection's own setting: durable when it returns.
        this.writeCommit([]);
        this.seriesWritten();
      } catch (err) {
        this.onError(err, 'metric store series');
      }
    }
    while (this.syncing) await this.syncing;
    this.walSync.close();
  }

  /**
   * Queues a batch for the next group commit. Resolves once the batch is durable
   * (`duplicate: true` when that (node, stream, sequence) was already stored); rejects with
   * XIMP_ERR_STORE_FAILED when the commit failed, XIMP_ERR_STORE_BUSY when too many batches
   * wait (retryable), XIMP_ERR_STORE_QUEUE_FULL while a remote store's queue is full, XIMP_ERR_STORE_STOPPED when the store is not running. On rejection the
   * caller must not acknowledge.
   */
  append(batch: StoredBatch, options: AppendOptions = {}): Promise<{ duplicate: boolean }> {
    const own = options.own === true;
    if (this.state !== 'running') {
      return Promise.reject(new XimpError(ErrorCodes.STORE_STOPPED, 'metric store is not running'));
    }
    const full = this.forwardTargets.find((q) => !q.hasRoom());
    if (full) {
      this.counts.heldBack++;
      return Promise.reject(new XimpError(ErrorCodes.STORE_QUEUE_FULL, `the queue of remote store "${full.name}" is full (its max_bytes)`));
    }
    if (!own && this.queue.length - this.ownQueued >= this.maxQueuedBatches) {
      this.counts.rejected++;
      return Promise.reject(new XimpError(ErrorCodes.STORE_BUSY, `metric store queue is full (${this.maxQueuedBatches} batches)`));
    }
    const problem = invalidBatch(batch);
    if (problem) return Promise.reject(new XimpError(ErrorCodes.REQUEST_INVALID, problem));
    return new Promise((resolve, reject) => {
      this.queue.push({ batch, resolve, reject, own });
      if (own) this.ownQueued++;
      this.schedule();
    });
  }

  /**
   * The collector-wide id of a series, created on first use and written at once (for the
   * collector's own series such as `up`; sessions use `resolveSeries`). Labels are sorted by
   * name, so their order does not matter. The store itself holds these series for as long as it
   * runs, so retention keeps them while anything here may still write them.
   */
  seriesId(node: string, name: string, labels: readonly Label[]): number {
    const labelsJson = labelsJsonOf(labels);
    const key = seriesKey(name, labelsJson);
    const ownKey = `${node}\u0000${key}`;
    const own = this.ownIds.get(ownKey);
    if (own !== undefined) return own;
    // Not through the node's whole index: `up` is written for every known node, most of them not defining now.
    const ns = this.index.peek(node);
    let known = ns ? this.knownSeries(ns, key, name, labelsJson) : this.unindexedSeries(node, name, labelsJson);
    if (known === undefined) {
      const now = this.now();
      const id = this.allocateSeriesId();
      // OR IGNORE: a row another store on this file wrote since the index was loaded is read back instead.
      if (this.insertOwnSeries(id, node, name, labelsJson, now)) known = packSeries(id, now);
      else {
        known = this.unindexedSeries(node, name, labelsJson);
        if (known === undefined) throw new XimpError(ErrorCodes.STORE_FAILED, `series id ${id} is taken by another series`);
      }
      if (ns) this.index.add(ns, key, known);
    }
    const id = idOf(known);
    if (!this.ownSeries.has(id)) {
      this.ownSeries.add(id);
      this.hold(this.ownHold, id, stampOf(known), ns, key);
    }
    this.ownIds.set(ownKey, id);
    return id;
  }

  /**
   * Writes a series row of the collector's own at once, without an fsync on the event loop: the
   * first `up` of 10,000 new nodes was 10,000 of them. A batch that uses it is written after it,
   * so the WAL sync that makes that batch durable makes the row durable too. True when written.
   */
  private insertOwnSeries(id: number, node: string, name: string, labelsJson: string, now: number): boolean {
    return this.relaxed.run(() => this.stmts.insertOwnSeries.run({ id, node, name, labelsJson, now }).changes === 1);
  }

  /**
   * The id of a series a session defines: a known series is a cache hit; a new one is admitted
   * against the node's limits (throws XIMP_ERR_SERIES_LIMIT), given an id at once, and its row is
   * written by the next group commit, ahead of any batch that refers to it. The id is added to
   * `holder` (the session's); held series are never removed by retention, and `releaseSeries`
   * marks them used when the session ends. Throws XIMP_ERR_STORE_FAILED when the id space is
   * exhausted or the table cannot be read.
   */
  resolveSeries(node: string, name: string, labels: readonly Label[], holder: SeriesHold): number {
    const ns = this.nodeIndex(node);
    this.listHolder(holder, node);
    // A known series is found by its hash alone: no key, no JSON, no string to build. A miss in
    // a complete index is a new series: it needs its labels' JSON for its row, and no key either.
    const hashed = hashSeries(name, labels);
    if (hashed) {
      const packed = ns.getHashed();
      if (packed !== undefined) {
        const id = idOf(packed);
        this.hold(holder, id, stampOf(packed), ns, undefined);
        return id;
      }
    }
    const labelsJson = labelsJsonOf(labels);
    let key: string | undefined;
    if (!hashed || !ns.complete) {
      key = seriesKey(name, labelsJson);
      if (hashed) adoptSeriesKey(key);
      const known = this.knownSeries(ns, key, name, labelsJson);
      if (known !== undefined) {
        const id = idOf(known);
        this.hold(holder, id, stampOf(known), ns, key);
        return id;
      }
    }
    this.limits.admit(node, () => this.storedCount(ns));
    const id = this.allocateSeriesId();
    const now = this.now();
    const pending: PendingSeries = { id, node, name, labelsJson };
    this.pendingSeries.push(pending);
    const ofNode = this.pendingByNode.get(node);
    if (ofNode) ofNode.push(pending);
    else this.pendingByNode.set(node, [pending]);
    // Without a key, keyHash is still this series' hash: nothing was hashed since the lookup.
    if (key === undefined) this.index.addHashed(ns, packSeries(id, now));
    else this.index.add(ns, key, packSeries(id, now));
    holder.add(id, now);
    return id;
  }

  /**
   * A session is about to define `count` series of `node`: a node the index holds fewer entries
   * of (new, or with nothing stored) gets room for them at once, and for the node's `up` series
   * that the store adds for every known node, instead of growing entry by entry. A node that
   * holds as many already (a reconnection) gets nothing: most of its definitions are known.
   */
  expectSeries(node: string, count: number): void {
    const ns = this.nodeIndex(node);
    const entries = count + OWN_SERIES_PER_NODE;
    if (ns.size < entries) this.index.reserve(ns, entries - ns.size);
  }

  /** The id of a known series (index, waiting for its commit, or table), or undefined; never creates one. */
  findSeries(node: string, name: string, labels: readonly Label[]): number | undefined {
    const labelsJson = labelsJsonOf(labels);
    const known = this.knownSeries(this.nodeIndex(node), seriesKey(name, labelsJson), name, labelsJson);
    return known === undefined ? undefined : idOf(known);
  }

  /**
   * A holder (an ended session) lets go of its series. Each is stamped used now unless its stamp
   * is less than a day old (see `removeUnusedSeries`): a reconnecting fleet writes no row per series.
   */
  releaseSeries(holder: SeriesHold): void {
    const now = this.now();
    holder.forEachStampedBefore(now - SERIES_STAMP_REFRESH_MS, (id) => this.touches.set(id, now));
    for (const node of holder.nodes) {
      const listed = this.holders.get(node);
      if (listed && listed.delete(holder) && listed.size === 0) this.holders.delete(node);
    }
    holder.clear();
  }

  /** Series-id index figures, for tests and /metrics. */
  get seriesCache(): { entries: number; bytes: number } {
    return { entries: this.index.size, bytes: this.index.bytes };
  }

  /**
   * Inside the commit's transaction: every batch stored now (not a duplicate) goes into each
   * remote store's queue; a queue that fails to take it throws and the whole commit rolls back
   * (nothing is acked). The queues are synced with the WAL after the commit (see `makeDurable`),
   * so an acknowledged batch is durably in every queue.
   */
  private forward(items: readonly Pending[], duplicates: readonly boolean[]): void {
    if (this.forwardTargets.length === 0) return;
    const fresh = items.filter((_, i) => !duplicates[i]).map((p) => p.batch);
    if (fresh.length === 0) return;
    for (const target of this.forwardTargets) {
      target.append(fresh, this.describeSeries);
    }
  }

  /**
   * The contiguous watermark of a stream: the highest committed sequence with every earlier batch
   * the agent sent on it committed too; 0 if none (queued batches do not count). Only what a
   * sync made durable counts: Welcome and Ack carry this, and the agent deletes every batch up to it.
   */
  lastSequence(node: string, streamId: string): number {
    const key = `${node}\u0000${streamId}`;
    return this.durableWatermarks.get(key)?.sequence ?? this.watermarkOf(key, node, streamId);
  }

  /**
   * Every series of `metric` on `node` with its points in [fromMs, toMs], in one unbounded
   * synchronous scan: for tests and tools only; the API reads through SeriesQuery (series-query.ts).
   */
  query(node: string, metric: string, fromMs: number, toMs: number): SeriesPoints[] {
    return readSeries(this.db, node, metric, fromMs, toMs);
  }

  /**
   * Deletes batches older than `now - retentionMs`, in short transactions, and returns how many;
   * then removes the series no stored batch can refer to any more (see `removeUnusedSeries`).
   */
  applyRetention(now: number, retentionMs: number): number {
    const cutoff = now - retentionMs;
    let total = 0;
    for (;;) {
      const n = this.stmts.deleteOld.run(cutoff).changes;
      total += n;
      if (n < RETENTION_CHUNK) break;
    }
    this.removeUnusedSeries(now, cutoff - this.maxFutureSkewMs - SERIES_STAMP_REFRESH_MS - RETENTION_PERIOD_MS);
    return total;
  }

  /**
   * The rule that keeps a series row while anything may refer to it. A batch refers only to series
   * its session defined, and is stamped at most max_future_skew after the collector received it.
   * `last_used_ms` is stamped when a holder (a session, or the store for `seriesId`) first holds
   * the series and when the last holder lets go, each time unless the stamp is less than a day
   * old then, and by this pass (hourly) for every series still held whose stamp is more than a
   * day old; so the stamp is never older than a day and an hour before the last moment the
   * series was held, even across a kill -9. A series that no live holder holds and whose stamp is
   * older than `before` = retention cutoff - max_future_skew - 1 day - 1 hour therefore has no
   * batch left once retention deleted the batches older than the cutoff: it is removed. A series
   * defined in a live session whose batch is not committed yet is held (and not in the table
   * yet): never removed.
   */
  removeUnusedSeries(now: number, before: number): number {
    const stamps = new Map(this.touches);
    const staleBefore = now - SERIES_STAMP_REFRESH_MS;
    const holds = [this.ownHold, ...[...this.holders.values()].flatMap((listed) => [...listed])];
    for (const hold of holds) hold.forEachStampedBefore(staleBefore, (id) => stamps.set(id, now));
    const list = [...stamps];
    try {
      for (let i = 0; i < list.length; i += RETENTION_CHUNK) this.writeStamps(list.slice(i, i + RETENTION_CHUNK));
    } catch (err) {
      // The next commit writes them; the holders keep their old stamps, so nothing is taken as stamped.
      for (const [id, ms] of list) this.touches.set(id, ms);
      throw err;
    }
    for (const hold of holds) hold.restampBefore(staleBefore, now);
    this.touches.clear();
    let removed = 0;
    for (;;) {
      const rows = (this.stmts.unusedSeries.all(before) as { id: number; node: string; name: string; labels_json: string }[]).filter(
        (r) => !this.isHeld(r.id, r.node),
      );
      if (rows.length === 0) break;
      this.deleteSeriesRows(rows.map((r) => r.id));
      for (const r of rows) {
        this.index.delete(r.node, seriesKey(r.name, r.labels_json));
        this.limits.removed(r.node, 1);
      }
      removed += rows.length;
      this.counts.seriesRemoved += rows.length;
      if (rows.length < RETENTION_CHUNK) break;
    }
    return removed;
  }

  /** A snapshot of every counter, for the collector's /metrics. */
  get counters(): {
    batchesStored: number;
    samplesStored: number;
    duplicates: number;
    commits: number;
    failedCommits: number;
    rejected: number;
    seriesCreated: number;
    seriesRemoved: number;
  } {
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

  /** Runs first inside every commit's transaction; a test's store told to fail throws here. */
  protected beforeCommit(): void {}

  /** Runs first in every sync, off the commit; a test's store told to fail rejects here, or holds the sync. */
  protected beforeSync(): Promise<void> | void {}

  /** The checkpoint worker (a test's store hands one that fails). */
  protected createCheckpointer(): WalCheckpointer {
    return new WalCheckpointer(this.db.name);
  }

  /**
   * A passive checkpoint in the worker while commits go on. Commits during it add frames it does
   * not copy, and SQLite restarts the WAL from its start only at a commit that finds every frame
   * copied: under steady load that never happens by itself. So once the WAL holds
   * WAL_RESTART_FRAMES, a second checkpoint copies the rest with commits held (a short pause:
   * only what the first one's duration added), and the next commit restarts the WAL. A lost worker
   * hands checkpoints back to SQLite (automatic, inside commits); a failed checkpoint is retried
   * next round. Never throws.
   */
  private checkpointRound(): void {
    const checkpointer = this.checkpointer;
    if (this.checkpointing || !checkpointer || this.state !== 'running') return;
    this.checkpointing = (async () => {
      try {
        const first = await checkpointer.checkpoint();
        // `log` counts the frames since the WAL last restarted, as the checkpoint began: frames
        // committed during it are not counted, so this cannot tell whether it copied all.
        if (first.log >= WAL_RESTART_FRAMES && this.state === 'running') {
          this.commitsHeld = true;
          try {
            await checkpointer.checkpoint();
          } finally {
            this.commitsHeld = false;
            if (this.queue.length > 0 && this.state === 'running' && !this.immediate) this.immediate = setImmediate(() => this.onTick());
          }
        }
      } catch (err) {
        if (this.state !== 'running') return;
        this.onError(err, 'metric store checkpoint');
        if (checkpointer.lost) this.fallBackToAutoCheckpoint();
      }
    })().finally(() => {
      this.checkpointing = undefined;
    });
  }

  private fallBackToAutoCheckpoint(): void {
    this.checkpoints.stop();
    this.checkpointer = undefined;
    try {
      this.db.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
    } catch (err) {
      this.onError(err, 'metric store checkpoint');
    }
  }

  private async stopCheckpoints(): Promise<void> {
    this.checkpoints.stop();
    const checkpointer = this.checkpointer;
    this.checkpointer = undefined;
    if (this.checkpointing) await this.checkpointing;
    if (!checkpointer) return;
    await checkpointer.close();
    try {
      // The connection outlives the store: its own checkpoints resume (its close checkpoints anyway).
      if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
    } catch (err) {
      this.onError(err, 'metric store checkpoint');
    }
  }

  /** Inside a commit: writes the series given ids since the last commit (many rows per statement), then the pending stamps. */
  private writeSeries(): void {
    const now = this.now();
    const list = this.pendingSeries;
    const n = list.length;
    let i = 0;
    if (n >= SERIES_INSERT_ROWS) {
      const params = new Array<string | number>(SERIES_INSERT_ROWS * 5);
      for (; i + SERIES_INSERT_ROWS <= n; i += SERIES_INSERT_ROWS) {
        for (let j = 0; j < SERIES_INSERT_ROWS; j++) {
          const p = list[i + j];
          params[j * 5] = p.id;
          params[j * 5 + 1] = p.node;
          params[j * 5 + 2] = p.name;
          params[j * 5 + 3] = p.labelsJson;
          params[j * 5 + 4] = now;
        }
        this.stmts.insertSeriesRows.run(params);
      }
    }
    for (; i < n; i++) this.stmts.insertSeries.run(list[i].id, list[i].node, list[i].name, list[i].labelsJson, now);
    for (const [id, ms] of this.touches) this.stmts.stampSeries.run(ms, id);
  }

  /**
   * After a commit: the series it wrote are in the table (a failed commit leaves them pending for
   * the next). A commit writes every pending series: nothing defines one during its transaction.
   */
  private seriesWritten(): void {
    this.counts.seriesCreated += this.pendingSeries.length;
    this.touches.clear();
    this.pendingSeries = [];
    this.pendingByNode.clear();
  }

  /** The node's index, loaded with one read of its rows (and its series waiting for their commit) on first use. */
  private nodeIndex(node: string): NodeSeries {
    const loaded = this.index.get(node);
    if (loaded) return loaded;
    const ns = this.index.open(node);
    const pending = this.pendingByNode.get(node);
    const now = this.now();
    if (pending) for (const p of pending) if (!this.index.fill(ns, seriesKey(p.name, p.labelsJson), packSeries(p.id, now))) return ns;
    // All at once (a third faster than row by row), at most what the node's share could hold.
    const rows = this.stmts.nodeSeries.all(node, this.index.maxNodeEntries) as [number, string, number][];
    this.index.reserve(ns, rows.length);
    for (const [id, key, stampMs] of rows) {
      if (!this.index.fill(ns, key, packSeries(id, stampMs))) break;
    }
    return ns;
  }

  /** A known series as `packSeries` packs it, or undefined. Only an index that is not complete needs a read on a miss. */
  private knownSeries(ns: NodeSeries, key: string, name: string, labelsJson: string): number | undefined {
    const known = ns.get(key);
    if (known !== undefined || ns.complete) return known;
    const packed = this.unindexedSeries(ns.node, name, labelsJson);
    if (packed !== undefined) this.index.add(ns, key, packed);
    return packed;
  }

  /** A known series of a node whose index is not loaded (waiting for its commit, or one read), or undefined. */
  private unindexedSeries(node: string, name: string, labelsJson: string): number | undefined {
    const pending = this.pendingByNode.get(node)?.find((p) => p.name === name && p.labelsJson === labelsJson);
    if (pending !== undefined) return packSeries(pending.id, this.now());
    const row = this.stmts.findSeries.get(node, name, labelsJson) as { id: number; last_used_ms: number } | undefined;
    return row ? packSeries(row.id, row.last_used_ms) : undefined;
  }

  /** The node's series rows plus those waiting for their commit, for its first limit check. */
  private storedCount(ns: NodeSeries): number {
    if (ns.complete) return ns.size;
    return (this.stmts.countSeries.get(ns.node) as { n: number }).n + (this.pendingByNode.get(ns.node)?.length ?? 0);
  }

  /** Ids come from memory (ids of removed series are not given again while the process runs). */
  private allocateSeriesId(): number {
    if (this.nextSeriesId === 0) this.nextSeriesId = ((this.stmts.maxSeriesId.get() as { id: number | null }).id ?? 0) + 1;
    if (this.nextSeriesId > 0xffffffff) throw new XimpError(ErrorCodes.STORE_FAILED, 'series id space exhausted');
    return this.nextSeriesId++;
  }

  /**
   * Adds `id` to `holder`, stamped used now unless its row's stamp (`stampMs`, never newer than
   * the row's) is less than a day old: the retention pass stamps it again before it is a day and
   * an hour old, the same bound as a stamp written now. A new stamp goes into the node's index
   * (`ns`, when loaded) too, so later holders find it there and write none; found by `key`, or
   * when `key` is undefined by the current `keyHash` (the series was just looked up by it).
   */
  private hold(holder: SeriesHold, id: number, stampMs: number, ns: NodeSeries | undefined, key: string | undefined): void {
    const now = this.now();
    if (stampMs >= now - SERIES_STAMP_REFRESH_MS) {
      holder.add(id, stampMs);
      return;
    }
    holder.add(id, now);
    this.touches.set(id, now);
    if (!ns) return;
    if (key === undefined) ns.replaceHashed(packSeries(id, now));
    else this.index.restamp(ns, key, packSeries(id, now));
  }

  /** Lists `holder` under `node`, so retention finds it (usually already listed: one node per session). */
  private listHolder(holder: SeriesHold, node: string): void {
    if (holder.nodes.includes(node)) return;
    holder.nodes.push(node);
    let listed = this.holders.get(node);
    if (!listed) this.holders.set(node, (listed = new Set()));
    listed.add(holder);
  }

  /** Whether a live holder holds the series (`node`'s, or one of the store's own). */
  private isHeld(id: number, node: string): boolean {
    if (this.ownSeries.has(id)) return true;
    for (const holder of this.holders.get(node) ?? []) if (holder.has(id)) return true;
    return false;
  }

  private watermarkOf(key: string, node: string, streamId: string): number {
    const cached = this.watermarks.get(key);
    if (cached !== undefined) return cached;
    const row = this.stmts.lastSequence.get(node, streamId) as { last_sequence: number } | undefined;
    const w = row ? row.last_sequence : 0;
    this.rememberWatermark(key, w);
    return w;
  }

  private rememberWatermark(key: string, sequence: number): void {
    this.watermarks.delete(key);
    this.watermarks.set(key, sequence);
    if (this.watermarks.size > WATERMARK_CACHE_SIZE) this.watermarks.delete(this.watermarks.keys().next().value as string);
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
    // A remote store's queue takes no append while its sync runs: the commit waits for the sync,
    // whose end calls again; likewise for the end of a checkpoint's last step.
    if (this.commitsHeld || (this.syncing && this.forwardTargets.length > 0)) return;
    try {
      this.commitOnce();
    } catch (err) {
      this.onError(err, 'metric store commit');
    }
    // Leave the event loop a turn between commits, then carry on with what is left.
    if (this.queue.length > 0 && this.state === 'running' && !this.immediate) this.immediate = setImmediate(() => this.onTick());
  }

  /**
   * Writes up to maxBatchesPerCommit queued batches in one transaction (no sync in it) and hands
   * them to the next sync, which settles their promises in order. A failed commit rejects them at once.
   */
  private commitOnce(): void {
    const items = this.queue.splice(0, this.maxBatchesPerCommit);
    if (items.length === 0) return;
    for (const item of items) if (item.own) this.ownQueued--;
    let written: { duplicates: boolean[]; moved: Map<string, { sequence: number }> };
    try {
      written = this.relaxed.run(() => this.writeCommit(items));
      this.seriesWritten();
    } catch (err) {
      this.counts.failedCommits++;
      for (const item of items) {
        item.reject(new XimpError(ErrorCodes.STORE_FAILED, `metric store commit failed: ${(err as Error).message}`, { cause: err }));
      }
      return;
    }
    this.counts.commits++;
    written.moved.forEach((s, key) => {
      // The watermark before this commit (read in its transaction) stays the one shown until the sync.
      const d = this.durableWatermarks.get(key);
      if (d) d.pending++;
      else this.durableWatermarks.set(key, { sequence: this.watermarks.get(key) ?? 0, pending: 1 });
      this.rememberWatermark(key, s.sequence);
    });
    this.unsynced.push({ items, duplicates: written.duplicates, moved: written.moved });
    this.startSync();
  }

  /** Starts a sync of every committed group waiting, unless one runs (its end starts the next). */
  private startSync(): void {
    if (this.syncing || this.unsynced.length === 0) return;
    const carried = this.carried.map((moved): CommittedGroup => ({ items: [], duplicates: [], moved }));
    const groups = [...carried, ...this.unsynced];
    this.carried = [];
    this.unsynced = [];
    this.syncing = this.makeDurable()
      .then(
        () => this.settle(groups, undefined),
        (err: unknown) => this.settle(groups, err instanceof Error ? err : new Error(String(err))),
      )
      .finally(() => {
        this.syncing = undefined;
        this.startSync();
        // Commits held back while a remote store's queue synced.
        if (this.queue.length > 0 && this.state === 'running' && !this.timer && !this.immediate) {
          this.immediate = setImmediate(() => this.onTick());
        }
      });
  }

  /** The WAL and every remote store's queue to disk, on libuv's thread pool. */
  private async makeDurable(): Promise<void> {
    await this.beforeSync();
    await Promise.all([this.walSync.sync(), ...this.forwardTargets.map((t) => t.syncAsync())]);
  }

  /**
   * After a sync: on success shows the groups' watermarks and resolves their appends, in order;
   * on failure rejects every append it covered (nothing acknowledged: the agent replays, the
   * replay is a duplicate) and keeps their watermarks back until a later sync succeeds.
   */
  private settle(groups: CommittedGroup[], err: Error | undefined): void {
    try {
      if (err) {
        this.counts.failedCommits++;
        for (const g of groups) {
          if (g.moved.size > 0) this.carried.push(g.moved);
          for (const item of g.items) {
            item.reject(new XimpError(ErrorCodes.STORE_FAILED, `metric store sync failed: ${err.message}`, { cause: err }));
          }
        }
        return;
      }
      for (const g of groups) {
        g.moved.forEach((s, key) => {
          const d = this.durableWatermarks.get(key);
          if (!d) return;
          d.sequence = Math.max(d.sequence, s.sequence);
          if (--d.pending === 0) this.durableWatermarks.delete(key);
        });
        for (let i = 0; i < g.items.length; i++) {
          if (g.duplicates[i]) this.counts.duplicates++;
          else {
            this.counts.batchesStored++;
            this.counts.samplesStored += g.items[i].batch.values.length;
          }
          g.items[i].resolve({ duplicate: g.duplicates[i] });
        }
      }
    } catch (e) {
      this.onError(e, 'metric store sync');
    }
  }
}

/**
 * Labels as stored: `[["name","value"],...]` sorted by name, so their order does not matter (the
 * text JSON.stringify gives, built without an array per label; labels already in order are not copied).
 */
export function labelsJsonOf(labels: readonly Label[]): string {
  let sorted = labels;
  for (let i = 1; i < labels.length; i++) {
    if (labels[i - 1].name > labels[i].name) {
      sorted = [...labels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      break;
    }
  }
  let json = '[';
  for (let i = 0; i < sorted.length; i++) json += `${i === 0 ? '' : ','}[${JSON.stringify(sorted[i].name)},${JSON.stringify(sorted[i].value)}]`;
  return `${json}]`;
}

/** The key of a series within its node's index (JSON escapes every NUL, so the key is unambiguous). */
function seriesKey(name: string, labelsJson: string): string {
  return `${name}\u0000${labelsJson}`;
}

function invalidBatch(b: StoredBatch): string | null {
  if (!(b.seriesIds instanceof Uint32Array) || !(b.values instanceof Float64Array)) return 'batch needs a Uint32Array of series ids and a Float64Array of values';
  if (b.seriesIds.length !== b.values.length) return 'batch has different numbers of series ids and values';
  if (!Number.isSafeInteger(b.sequence) || b.sequence < 0) return 'batch sequence must be a non-negative integer';
  if (!Number.isFinite(b.timestampMs)) return 'batch timestamp must be a finite number';
  if (b.previousSequence !== undefined && !(Number.isSafeInteger(b.previousSequence) && b.previousSequence >= 0 && b.previousSequence < b.sequence)) {
    return 'batch previous sequence must be a non-negative integer below its sequence';
  }
  return null;
}

function bytesOf(a: Uint32Array | Float64Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

