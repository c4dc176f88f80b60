import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, makePrivateDir, XimpError, type Logger } from '@ximp/shared';
import type { BatchToQueue, SeriesDescription } from './queue-records';
import { QueueShard, type ShardQueue } from './shard-queue';
import { shardForNode } from './shard-for-node';

export type { BatchToQueue, SeriesDescription } from './queue-records';
export type { QueuedBatch, ShardQueue } from './shard-queue';

export interface ForwardQueueOptions {
  /** `<data_dir>/queue/<store name>`: one `shard-N` folder per shard below it. */
  dir: string;
  shards: number;
  /** Soft bound over all shards: hasRoom() turns false once reached. */
  maxBytes: number;
  /** Size at which a shard starts a new segment (default: maxBytes / shards / 8, 1–64 MiB). */
  segmentBytes?: number;
  fsync?: boolean;
  now?: () => number;
  /** Where repaired tails and unreadable segments are reported. */
  log?: Logger;
}

export interface ForwardQueueStats {
  bytes: number;
  /** Batches and samples not yet confirmed. */
  batches: number;
  samples: number;
  /** now − timestamp of the oldest unconfirmed batch (the head of a shard), null when empty. */
  oldestAgeMs: number | null;
  /** Records skipped as damaged: torn tails cut at open, records that did not parse. */
  unreadableRecords: number;
}

const SHARD_DIR = /^shard-(\d+)$/;
const MIB = 1024 * 1024;
/** Node → shard, cached: hashing runs for every batch inside the store's commit. */
const SHARD_CACHE_MAX = 10_000;

/**
 * A store's durable forward queue: one segment log per shard under `dir`, each a FIFO of the
 * batches of the nodes that hash to it. Appends are synchronous (they run inside the collector's
 * SQLite commit) and durable after sync(); each shard's sender reads from its confirmed position.
 */
export class ForwardQueue {
  readonly shardCount: number;
  private readonly shards: QueueShard[];
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly nodeShard = new Map<string, number>();
  private closed = false;

  private constructor(options: ForwardQueueOptions, count: number) {
    this.maxBytes = options.maxBytes;
    this.now = options.now ?? Date.now;
    const segmentBytes = options.segmentBytes ?? Math.min(64 * MIB, Math.max(MIB, Math.floor(options.maxBytes / count / 8)));
    const shards: QueueShard[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const dir = path.join(options.dir, `shard-${i}`);
        makePrivateDir(dir);
        shards.push(
          QueueShard.open({
            dir,
            maxBytes: options.maxBytes,
            segmentBytes,
            fsync: options.fsync,
            log: options.log,
            name: `forward queue ${path.basename(options.dir)} shard-${i}`,
            full: () => !this.hasRoom(),
          }),
        );
      }
    } catch (err) {
      for (const s of shards) s.close();
      throw err;
    }
    this.shards = shards;
    this.shardCount = count;
  }

  /**
   * Opens (creating) the queue. A queue that still holds batches keeps the shard count it was
   * written with, whatever `shards` says now: moving a node's batches to another shard could send
   * them out of order. Once it is empty the new count applies.
   */
  static open(options: ForwardQueueOptions): ForwardQueue {
    if (!Number.isInteger(options.shards) || options.shards < 1) throw new XimpError(ErrorCodes.CONFIG_INVALID, 'forward queue needs at least one shard');
    makePrivateDir(options.dir);
    const existing = fs
      .readdirSync(options.dir)
      .map((name) => SHARD_DIR.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]));
    const existingCount = existing.length === 0 ? 0 : Math.max(...existing) + 1;
    if (existingCount !== 0 && existingCount !== options.shards) {
      const old = new ForwardQueue(options, existingCount);
      if (old.stats().batches > 0) return old;
      old.close();
      for (const i of existing) fs.rmSync(path.join(options.dir, `shard-${i}`), { recursive: true, force: true });
    }
    return new ForwardQueue(options, options.shards);
  }

  /** False once the shards' files reach maxBytes: the collector then stops acknowledging. */
  hasRoom(): boolean {
    return this.sizeBytes() < this.maxBytes;
  }

  /** Sync write; not durable until sync(). describe(id) gives a collector series id's name and labels. */
  append(batches: readonly BatchToQueue[], describe: (id: number) => SeriesDescription): void {
    if (this.closed) throw new XimpError(ErrorCodes.STORE_STOPPED, 'forward queue is closed');
    if (this.shardCount === 1) {
      this.shards[0].append(batches, describe);
      return;
    }
    const perShard: BatchToQueue[][] = [];
    for (const batch of batches) {
      const i = this.shardOf(batch.node);
      (perShard[i] ??= []).push(batch);
    }
    for (let i = 0; i < perShard.length; i++) {
      if (perShard[i] !== undefined) this.shards[i].append(perShard[i], describe);
    }
  }

  /** Makes every append so far durable (fdatasync of the shards written to). */
  sync(): void {
    for (const s of this.shards) s.sync();
  }

  /** sync() on libuv's thread pool; no append may run until it settles (see SegmentLog.syncAsync). */
  async syncAsync(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.syncAsync()));
  }

  shard(i: number): ShardQueue {
    const s = this.shards[i];
    if (s === undefined) throw new RangeError(`no shard ${i}: the queue has ${this.shardCount}`);
    return s;
  }

  /** The shard a node's batches go to. */
  shardOf(node: string): number {
    let i = this.nodeShard.get(node);
    if (i === undefined) {
      i = shardForNode(node, this.shardCount);
      if (this.nodeShard.size >= SHARD_CACHE_MAX) this.nodeShard.clear();
      this.nodeShard.set(node, i);
    }
    return i;
  }

  stats(): ForwardQueueStats {
    let bytes = 0;
    let batches = 0;
    let samples = 0;
    let unreadableRecords = 0;
    let oldest: number | undefined;
    for (const s of this.shards) {
      const st = s.stats();
      bytes += st.bytes;
      batches += st.batches;
      samples += st.samples;
      unreadableRecords += st.unreadableRecords;
      if (st.headTimestampMs !== undefined && (oldest === undefined || st.headTimestampMs < oldest)) oldest = st.headTimestampMs;
    }
    return { bytes, batches, samples, oldestAgeMs: oldest === undefined ? null : Math.max(0, this.now() - oldest), unreadableRecords };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.shards) s.close();
  }

  private sizeBytes(): number {
    let n = 0;
    for (const s of this.shards) n += s.sizeBytes();
    return n;
  }
}

