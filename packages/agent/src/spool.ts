import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ErrorCodes, XimpError, isOwnerOnly, silentLogger, type Logger } from '@ximp/shared';
import { SeriesTable } from './series-table';
import {
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER,
  SEGMENT_START_BYTES,
  STREAM_RECORD_FORMAT,
  BATCH_FIXED_BYTES,
  batchRecordBytes,
  decodeBatch,
  decodeStreamRecord,
  encodeBatch,
  encodeRecord,
  encodeStreamRecord,
  fsyncDir,
  hasSegmentHeader,
  payloadFormat,
  parseSegmentFileName,
  readExactSync,
  scanRecords,
  segmentFileName,
  validateBatch,
  writeAll,
  writeFileAtomic,
  type SpooledBatch,
} from './spool-segment';

export type { SpooledBatch } from './spool-segment';

export interface SpoolOptions {
  dir: string;
  /** Bound on the segment files together (the series table and stream.json are not counted). */
  maxBytes: number;
  /** A segment is closed once it reaches this size. Default min(maxBytes / 8, 4 MiB). */
  segmentBytes?: number;
  log?: Logger;
  /** fsync appends, acks and new files (default true). Only tests and benchmarks turn it off. */
  fsync?: boolean;
  /** Bound of the series table (default 1,000,000). */
  maxSeries?: number;
}

const STATE_FILE = 'stream.json';
const SERIES_FILE = 'series.log';
const STREAM_ID = /^[A-Za-z0-9_-]{16,64}$/;
const DEFAULT_SEGMENT_BYTES = 4 * 1024 * 1024;
// Keeps the entry array from growing without bound at its acknowledged front.
const COMPACT_AFTER = 1024;

/** stream.json: what must survive a restart besides the segments themselves. */
interface StreamState {
  version: 1;
  streamId: string;
  /** Everything <= this was acknowledged by the collector. */
  ackedSequence: number;
  droppedTotal: number;
  /** Sequences up to here were already checked for damage: a loss is counted only once. */
  checkedSequence: number;
}

interface Segment {
  id: number;
  file: string;
  size: number;
  /** Highest sequence stored in the segment; 0 while it holds none. */
  lastSequence: number;
  /** Open for appends: only the newest segment, and only after something was appended this run. */
  handle: fsp.FileHandle | undefined;
}

/** Where an unacknowledged batch lies on disk; the batch itself is read back on demand. */
interface Entry {
  sequence: number;
  segment: Segment;
  offset: number;
  /** Record bytes, header included. */
  bytes: number;
  /** Found unreadable on read-back and counted as dropped (once). */
  unreadable?: boolean;
}

interface QueuedAppend {
  sequence: number;
  record: Buffer;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The agent's on-disk buffer of every batch the collector has not acknowledged, so nothing is
 * lost across agent restarts, collector restarts or network loss.
 *
 * Layout of `dir` (mode 0700): `stream.json` (stream id, acknowledged watermark, dropped count),
 * `series.log` (the SeriesTable) and numbered segment files `0000000000000001.seg`, ... of
 * checksummed records (see spool-segment.ts). New batches are appended to the newest segment;
 * a segment is deleted as a whole once every batch in it is acknowledged, or, when the spool
 * reaches `maxBytes`, oldest first while still unacknowledged (counted in droppedTotal).
 *
 * Every segment begins with a stream record naming its stream. When stream.json is lost or
 * unreadable, the stream is recovered from the newest segment, so pending batches keep their
 * stream id: the collector, which drops duplicates by (node, stream id, sequence) and tells the
 * stream's acknowledged sequence in Welcome, never stores an acknowledged batch twice. Only
 * when no segment is left (nothing pending) does a lost stream.json begin a new stream.
 *
 * Appends are group-committed: every append waiting while a write is in progress goes out in the
 * next write with one fsync, and each promise resolves only after its record is synced. Memory
 * holds only an index entry per pending batch; pending() reads the batches back from disk.
 */
export class Spool {
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly log: Logger;
  private readonly sync: boolean;
  private series: SeriesTable;
  private state: StreamState = newState('');
  private segments: Segment[] = [];
  private nextSegmentId = 1;
  private totalBytes = 0;
  /** Pending entries are entries[head..]; everything before head is acknowledged or dropped. */
  private entries: Entry[] = [];
  private head = 0;
  private pendingByteCount = 0;
  /** Highest sequence seen: appended (or reserved by an append in progress), or acknowledged. */
  private lastSequence = 0;
  /** Highest sequence known to be written (this run or found on disk). */
  private durableSequence = 0;
  /**
   * The acknowledged sequence as stream.json (or a stream record) holds it. Only segments at or
   * below it are deleted, so after any crash the spool still knows a sequence at least as high
   * as anything the collector has acknowledged, and never mistakes a true Welcome for a lie.
   */
  private persistedAcked = 0;
  private queue: QueuedAppend[] = [];
  private drainScheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private opened = false;
  private closed = false;

  constructor(options: SpoolOptions) {
    const minimum = SEGMENT_START_BYTES + batchRecordBytes(0);
    if (!(options.maxBytes >= minimum)) throw new RangeError(`spool maxBytes must be at least ${minimum}`);
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    const segmentBytes = options.segmentBytes ?? Math.min(Math.floor(options.maxBytes / 8), DEFAULT_SEGMENT_BYTES);
    this.segmentBytes = Math.min(Math.max(segmentBytes, minimum), options.maxBytes);
    this.log = options.log ?? silentLogger();
    this.sync = options.fsync ?? true;
    this.series = this.newSeriesTable(options.maxSeries);
  }

  /** The random id of this spool's stream, persisted in stream.json; '' before open(). */
  get streamId(): string {
    return this.state.streamId;
  }

  /** Stream-local series ids; Spool.append() makes new ones durable before the batch. */
  get seriesTable(): SeriesTable {
    return this.series;
  }

  /** Batches lost since the stream began: dropped at maxBytes, or unreadable on disk. */
  get droppedTotal(): number {
    return this.state.droppedTotal;
  }

  /**
   * Creates the directory (0700), loads or creates the stream state and the series table, and
   * indexes the segments. Damage never stops the agent: a torn tail is cut off, unreadable
   * records are skipped and counted as dropped, each with a warning.
   */
  async open(): Promise<void> {
    if (this.opened) return;
    if (this.closed) throw new XimpError(ErrorCodes.SPOOL_CLOSED, 'spool is closed');
    try {
      await this.prepareDir();
      const loaded = await this.readState();
      const tableState = await this.series.open();
      const ids = (await fsp.readdir(this.dir))
        .map(parseSegmentFileName)
        .filter((id): id is number => id !== null)
        .sort((a, b) => a - b);
      this.nextSegmentId = (ids.at(-1) ?? 0) + 1;
      if (loaded) {
        this.state = loaded;
      } else {
        const recovered = await this.recoverStream(ids);
        this.state = recovered ? { ...newState(recovered.streamId), ...recovered } : newState(newStreamId());
        if (recovered) {
          this.log.warn({ dir: this.dir, stream: this.state.streamId }, 'spool stream state lost, stream recovered from its segments');
        } else if (ids.length > 0) {
          // Segments of an older agent name no stream: their batches go out under a new one.
          this.log.warn({ dir: this.dir, stream: this.state.streamId }, 'spool stream state lost, starting a new stream');
        }
      }
      this.lastSequence = this.state.ackedSequence;
      this.persistedAcked = this.state.ackedSequence;
      await this.loadSegments(ids);

      if (tableState !== 'loaded' && (loaded !== undefined || this.segments.length > 0)) {
        // Pending batches reference series ids that can no longer be resolved: sending them
        // would attribute values to the wrong series. Start a new stream instead.
        const lost = this.pendingCount();
        this.log.warn({ dir: this.dir, dropped: lost }, 'spool series table lost, starting a new stream');
        await this.dropBatchesForNewStream(lost);
      }
      await this.deleteAcknowledgedSegments();
      await this.makeRoom(0);
      await this.writeState();
      this.opened = true;
      this.log.info(
        { dir: this.dir, stream: this.state.streamId, pending: this.pendingCount(), bytes: this.totalBytes },
        'spool opened',
      );
    } catch (err) {
      // Leave the object as it was before open(), so a later open() starts clean.
      await this.series.close().catch(() => undefined);
      this.series = this.newSeriesTable(this.series.maxSeries);
      this.segments = [];
      this.entries = [];
      this.head = 0;
      this.totalBytes = 0;
      this.pendingByteCount = 0;
      this.lastSequence = 0;
      this.durableSequence = 0;
      this.persistedAcked = 0;
      this.state = newState('');
      throw err instanceof XimpError ? err : ioError('cannot open the spool', err);
    }
  }

  /** The sequence the next batch should carry: 1 for a new stream, else the highest seen + 1. */
  nextSequence(): number {
    return this.lastSequence + 1;
  }

  /**
   * A collector says this stream is stored up to `sequence`, above anything spooled here (a disk
   * restored from a snapshot, segments removed by hand). Nothing is deleted on that word alone;
   * later batches are numbered above it, so none reuses a sequence the collector already holds.
   */
  skipSequencesThrough(sequence: number): void {
    if (Number.isSafeInteger(sequence) && sequence > this.lastSequence) this.lastSequence = sequence;
  }

  /** Everything <= this was acknowledged by the collector. */
  ackedSequence(): number {
    return this.state.ackedSequence;
  }

  /**
   * Spools a batch; resolves once it is durable (after fsync). Sequences must increase.
   * Series definitions handed out by seriesTable.idFor() are made durable first.
   * Rejects with XIMP_ERR_SPOOL_INVALID_BATCH (bad batch, sequence not increasing, larger
   * than maxBytes), XIMP_ERR_SPOOL_CLOSED or XIMP_ERR_SPOOL_IO.
   */
  append(batch: SpooledBatch): Promise<void> {
    try {
      if (!this.opened || this.closed) throw new XimpError(ErrorCodes.SPOOL_CLOSED, 'spool is not open');
      validateBatch(batch);
      if (batch.sequence <= this.lastSequence) {
        throw new XimpError(
          ErrorCodes.SPOOL_INVALID_BATCH,
          `batch sequence ${batch.sequence} does not follow ${this.lastSequence}`,
        );
      }
      const bytes = batchRecordBytes(batch.values.length);
      if (bytes + SEGMENT_START_BYTES > this.maxBytes) {
        throw new XimpError(
          ErrorCodes.SPOOL_INVALID_BATCH,
          `batch of ${bytes} bytes does not fit in a spool of ${this.maxBytes} bytes`,
        );
      }
      const record = encodeRecord(encodeBatch(batch));
      this.lastSequence = batch.sequence;
      return new Promise<void>((resolve, reject) => {
        this.queue.push({ sequence: batch.sequence, record, resolve, reject });
        if (!this.drainScheduled) {
          this.drainScheduled = true;
          void this.exclusive(() => this.drain());
        }
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Unacknowledged batches with a sequence above `afterSequence`, oldest first, at most
   * `maxBatches` of them (read back from disk, so page through a long backlog). A record that no
   * longer reads back intact is skipped with a warning; the next acknowledgement removes it.
   */
  pending(afterSequence = 0, maxBatches = Number.POSITIVE_INFINITY): SpooledBatch[] {
    const out: SpooledBatch[] = [];
    let i = this.firstAfter(afterSequence);
    while (i < this.entries.length && out.length < maxBatches) {
      const segment = this.entries[i].segment;
      let fd = segment.handle?.fd;
      const own = fd === undefined;
      try {
        if (own) fd = fs.openSync(segment.file, 'r');
      } catch (err) {
        this.log.error({ file: segment.file, err: (err as Error).message }, 'spool segment unreadable, skipped');
      }
      try {
        for (; i < this.entries.length && this.entries[i].segment === segment && out.length < maxBatches; i++) {
          const batch = fd === undefined ? undefined : this.readEntry(fd, this.entries[i]);
          if (batch) out.push(batch);
        }
      } finally {
        if (own && fd !== undefined) fs.closeSync(fd);
      }
    }
    return out;
  }

  /** Number of unacknowledged batches. */
  pendingCount(): number {
    return this.entries.length - this.head;
  }

  /** Bytes of the unacknowledged batches' records. */
  pendingBytes(): number {
    return this.pendingByteCount;
  }

  /** Bytes of all segment files (what maxBytes bounds). */
  diskBytes(): number {
    return this.totalBytes;
  }

  /**
   * Counts batches lost before they reached the spool (a write failed: disk full, I/O error);
   * reported to the collector like every other drop, and persisted with the next state write.
   */
  countDropped(batches: number): void {
    if (Number.isSafeInteger(batches) && batches > 0) this.state.droppedTotal += batches;
  }

  /**
   * The collector stored every batch <= sequence: persist the watermark, then delete every
   * segment that holds nothing unacknowledged (the newest one stays open until it fills up).
   * When the watermark cannot be written (disk full), nothing is deleted until it can.
   */
  ack(sequence: number): Promise<void> {
    if (!Number.isSafeInteger(sequence) || sequence <= this.state.ackedSequence) return Promise.resolve();
    if (!this.opened || this.closed) return Promise.reject(new XimpError(ErrorCodes.SPOOL_CLOSED, 'spool is not open'));
    return this.exclusive(async () => {
      if (sequence <= this.state.ackedSequence) return;
      this.state.ackedSequence = sequence;
      this.lastSequence = Math.max(this.lastSequence, sequence);
      while (this.head < this.entries.length && this.entries[this.head].sequence <= sequence) {
        this.pendingByteCount -= this.entries[this.head].bytes;
        this.head++;
      }
      this.compactEntries();
      await this.writeState();
      await this.deleteAcknowledgedSegments();
    });
  }

  /**
   * Starts a new stream with an empty series table, so that series a host no longer has (gone
   * containers' interfaces, unmounted filesystems) stop taking memory and disk. Only when nothing
   * is pending or being appended: pending batches refer to the old table's ids. The series log is
   * removed before the new state is written, so a crash in between also ends in a new stream.
   * Returns false, changing nothing, when something is pending.
   */
  async startNewStream(): Promise<boolean> {
    if (!this.opened || this.closed) throw new XimpError(ErrorCodes.SPOOL_CLOSED, 'spool is not open');
    let started = false;
    await this.exclusive(async () => {
      if (this.pendingCount() > 0 || this.queue.length > 0 || this.lastSequence !== this.state.ackedSequence) return;
      const previous = { stream: this.state.streamId, series: this.series.count };
      await this.series.close();
      await fsp.rm(path.join(this.dir, SERIES_FILE), { force: true });
      this.series = this.newSeriesTable(this.series.maxSeries);
      await this.series.open();
      await this.dropBatchesForNewStream(this.state.droppedTotal);
      await this.writeState();
      this.log.info({ dir: this.dir, previous_stream: previous.stream, series_dropped: previous.series, stream: this.state.streamId }, 'spool started a new stream');
      started = true;
    });
    return started;
  }

  /** Waits for appends in progress, then closes the files. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return this.chain;
    this.closed = true;
    if (!this.opened) return;
    await this.exclusive(async () => {
      await this.closeActive();
      await this.deleteAcknowledgedSegments();
      // Drops counted since the last state write (failed writes, unreadable records) persist.
      await this.writeState().catch((err: unknown) => this.log.error({ dir: this.dir, err: (err as Error).message }, 'spool state write failed'));
      await this.series.close();
    });
  }

  /** Deletes every segment and begins a new stream id at sequence 1 (the caller writes the state). */
  private async dropBatchesForNewStream(droppedTotal: number): Promise<void> {
    for (const segment of [...this.segments]) await this.deleteSegment(segment);
    this.state = { ...newState(newStreamId()), droppedTotal };
    this.lastSequence = 0;
    this.durableSequence = 0;
    this.persistedAcked = 0;
    this.entries = [];
    this.head = 0;
    this.pendingByteCount = 0;
  }

  private newSeriesTable(maxSeries: number | undefined): SeriesTable {
    return new SeriesTable({ file: path.join(this.dir, SERIES_FILE), log: this.log, fsync: this.sync, maxSeries });
  }

  /** Runs operations that touch files one at a time, in call order. */
  private exclusive(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async prepareDir(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const stat = await fsp.stat(this.dir);
    if (!isOwnerOnly(stat.mode)) {
      try {
        await fsp.chmod(this.dir, 0o700);
      } catch (err) {
        this.log.warn({ dir: this.dir, err: (err as Error).message }, 'spool directory is accessible to other users');
      }
    }
    await fsp.rm(path.join(this.dir, `${STATE_FILE}.tmp`), { force: true });
  }

  /** The stream state, or undefined when there is none (or it is unreadable: a new stream). */
  private async readState(): Promise<StreamState | undefined> {
    const file = path.join(this.dir, STATE_FILE);
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const s = JSON.parse(text) as Partial<StreamState>;
      if (
        s.version === 1 &&
        typeof s.streamId === 'string' &&
        STREAM_ID.test(s.streamId) &&
        Number.isSafeInteger(s.ackedSequence) &&
        (s.ackedSequence as number) >= 0 &&
        Number.isSafeInteger(s.droppedTotal) &&
        (s.droppedTotal as number) >= 0
      ) {
        const checked = Number.isSafeInteger(s.checkedSequence) ? (s.checkedSequence as number) : 0;
        return {
          version: 1,
          streamId: s.streamId,
          ackedSequence: s.ackedSequence!,
          droppedTotal: s.droppedTotal!,
          checkedSequence: checked,
        };
      }
    } catch {
      // reported below
    }
    this.log.warn({ file }, 'spool stream state unreadable, starting a new stream');
    return undefined;
  }

  /**
   * The stream named by the newest segment that has a stream record, with its acknowledged
   * sequence and dropped count as of that segment's creation (the collector's Welcome tells the
   * rest). Undefined when no segment has one (none left, or written by an older agent).
   */
  private async recoverStream(ids: number[]): Promise<Pick<StreamState, 'streamId' | 'ackedSequence' | 'droppedTotal'> | undefined> {
    for (const id of [...ids].reverse()) {
      let image: Buffer;
      try {
        image = await fsp.readFile(path.join(this.dir, segmentFileName(id)));
      } catch {
        continue;
      }
      if (!hasSegmentHeader(image)) continue;
      const first = scanRecords(image, SEGMENT_HEADER.length, BATCH_FIXED_BYTES, this.maxBytes).records[0];
      if (!first || first.skippedBefore > 0 || payloadFormat(first.payload) !== STREAM_RECORD_FORMAT) continue;
      try {
        const record = decodeStreamRecord(first.payload);
        if (STREAM_ID.test(record.streamId)) return record;
      } catch {
        // a damaged stream record: try an older segment
      }
    }
    return undefined;
  }

  private async writeState(): Promise<void> {
    const file = path.join(this.dir, STATE_FILE);
    const text = `${JSON.stringify(this.state)}\n`;
    const acked = this.state.ackedSequence;
    try {
      await writeFileAtomic(file, this.dir, text, this.sync);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw ioError('cannot write the spool state', err);
      // A full disk has no room for the temporary copy, but the file's own block is there. Torn
      // in place, stream.json reads as unreadable and the stream comes back from the segments.
      try {
        await overwriteInPlace(file, text, this.sync);
      } catch (again) {
        throw ioError('cannot write the spool state', again);
      }
    }
    this.persistedAcked = Math.max(this.persistedAcked, acked);
  }

  /**
   * Indexes every segment in order. Batches lost to damage are counted from the gap in sequence
   * numbers around it (the agent numbers batches without holes), else one per skipped record;
   * only sequences above the acknowledged and the already checked ones count.
   */
  private async loadSegments(ids: number[]): Promise<void> {
    const acked = this.state.ackedSequence;
    let lastGood: number | undefined;
    let damaged = false;
    let skipped = 0;
    let lost = 0;
    let checked = this.state.checkedSequence;
    // Counts the sequences in (lo, hi] not yet acknowledged or counted.
    const count = (lo: number, hi: number): void => {
      lost += Math.max(0, hi - Math.max(lo, acked, checked));
      checked = Math.max(checked, hi);
    };
    const settle = (next: number | undefined): void => {
      if (damaged) {
        if (next === undefined) {
          const lo = lastGood ?? acked;
          count(lo, lo + skipped);
        } else {
          count(lastGood ?? next - 1 - skipped, next - 1);
        }
      }
      damaged = false;
      skipped = 0;
    };

    for (let n = 0; n < ids.length; n++) {
      const isLast = n === ids.length - 1;
      const file = path.join(this.dir, segmentFileName(ids[n]));
      const image = await fsp.readFile(file);
      if (!hasSegmentHeader(image)) {
        // A segment created just before a crash may lack its header; otherwise it is damage.
        if (!(isLast && image.length < SEGMENT_HEADER.length)) {
          this.log.warn({ file, bytes: image.length }, 'spool segment unreadable, deleted');
          damaged = true;
        }
        await fsp.rm(file, { force: true });
        continue;
      }
      const segment: Segment = { id: ids[n], file, size: image.length, lastSequence: 0, handle: undefined };
      const scan = scanRecords(image, SEGMENT_HEADER.length, BATCH_FIXED_BYTES, this.maxBytes);
      for (const record of scan.records) {
        if (record.skippedBefore > 0) {
          damaged = true;
          skipped += record.skippedBefore;
        }
        if (payloadFormat(record.payload) === STREAM_RECORD_FORMAT) continue;
        let batch: SpooledBatch;
        try {
          batch = decodeBatch(record.payload);
        } catch {
          damaged = true;
          skipped++;
          continue;
        }
        if (lastGood !== undefined && batch.sequence <= lastGood) {
          damaged = true;
          skipped++;
          continue;
        }
        settle(batch.sequence);
        lastGood = batch.sequence;
        segment.lastSequence = batch.sequence;
        if (batch.sequence > acked) {
          const bytes = RECORD_HEADER_BYTES + record.payload.length;
          this.entries.push({ sequence: batch.sequence, segment, offset: record.offset, bytes });
          this.pendingByteCount += bytes;
        }
      }
      if (scan.skippedAtEnd > 0) {
        damaged = true;
        skipped += scan.skippedAtEnd;
      }
      if (scan.end < image.length) {
        damaged = true;
        if (isLast) {
          // A crash mid-write: cut the torn tail so the file ends on a whole record.
          await truncateFile(file, scan.end, this.sync);
          segment.size = scan.end;
          this.log.warn({ file, bytes: image.length - scan.end }, 'spool tail repaired');
        } else {
          this.log.warn({ file, offset: scan.end }, 'spool segment damaged, rest of it skipped');
        }
      }
      this.segments.push(segment);
      this.totalBytes += segment.size;
    }
    settle(undefined);
    if (lastGood !== undefined) checked = Math.max(checked, lastGood);
    this.state.checkedSequence = checked;
    // A lost record at the tail may have reached the collector: never reuse its sequence.
    this.lastSequence = Math.max(this.lastSequence, checked);
    this.durableSequence = lastGood ?? 0;
    if (lost > 0) {
      this.state.droppedTotal += lost;
      this.log.warn({ dir: this.dir, dropped: lost, dropped_total: this.state.droppedTotal }, 'spool batches unreadable, dropped');
    }
  }

  /** Takes every queued append and writes it, one group (one write, one fsync) per segment. */
  private async drain(): Promise<void> {
    this.drainScheduled = false;
    const items = this.queue;
    this.queue = [];
    if (items.length === 0) return;
    try {
      await this.series.flush();
    } catch (err) {
      for (const item of items) item.reject(err);
      return;
    }
    let i = 0;
    while (i < items.length) {
      let active = this.activeSegment();
      if (active && active.size > SEGMENT_START_BYTES && active.size + items[i].record.length > this.segmentBytes) {
        await this.closeActive();
        active = undefined;
      }
      const base = active ? active.size : SEGMENT_START_BYTES;
      let j = i;
      let groupBytes = 0;
      while (j < items.length && (j === i || base + groupBytes + items[j].record.length <= this.segmentBytes)) {
        groupBytes += items[j].record.length;
        j++;
      }
      const group = items.slice(i, j);
      try {
        await this.makeRoom(groupBytes + (active ? 0 : SEGMENT_START_BYTES));
        active = this.activeSegment() ?? (await this.createSegment());
        const data = group.length === 1 ? group[0].record : Buffer.concat(group.map((g) => g.record));
        await writeAll(active.handle!, data, active.size);
        if (this.sync) await active.handle!.sync();
      } catch (err) {
        await this.abandonActive();
        const failure = err instanceof XimpError ? err : ioError('cannot write to the spool', err);
        // Debug only: the caller reports it, throttled, since a full disk fails every cycle.
        this.log.debug({ dir: this.dir, err: failure.message, batches: items.length - i }, 'spool append failed');
        // Nothing newer is waiting: give the failed sequences back, so a retry can reuse them.
        if (this.queue.length === 0) {
          this.lastSequence = Math.max(this.durableSequence, this.state.ackedSequence, this.state.checkedSequence);
        }
        for (const item of items.slice(i)) item.reject(failure);
        return;
      }
      let offset = active.size;
      for (const item of group) {
        this.entries.push({ sequence: item.sequence, segment: active, offset, bytes: item.record.length });
        offset += item.record.length;
      }
      active.size = offset;
      active.lastSequence = group[group.length - 1].sequence;
      this.durableSequence = active.lastSequence;
      this.totalBytes += groupBytes;
      this.pendingByteCount += groupBytes;
      for (const item of group) item.resolve();
      i = j;
    }
  }

  /** The newest segment when it is open for appends. */
  private activeSegment(): Segment | undefined {
    const last = this.segments.at(-1);
    return last?.handle ? last : undefined;
  }

  private async createSegment(): Promise<Segment> {
    const id = this.nextSegmentId++;
    const file = path.join(this.dir, segmentFileName(id));
    const handle = await fsp.open(file, 'wx+', 0o600);
    const segment: Segment = { id, file, size: 0, lastSequence: 0, handle };
    const start = Buffer.concat([SEGMENT_HEADER, encodeRecord(encodeStreamRecord(this.state))]);
    try {
      await writeAll(handle, start, 0);
      if (this.sync) {
        await handle.sync();
        await fsyncDir(this.dir);
      }
    } catch (err) {
      await handle.close().catch(() => undefined);
      await fsp.rm(file, { force: true }).catch(() => undefined);
      throw err;
    }
    segment.size = start.length;
    this.segments.push(segment);
    this.totalBytes += segment.size;
    return segment;
  }

  private async closeActive(): Promise<void> {
    const active = this.activeSegment();
    if (!active) return;
    const handle = active.handle!;
    active.handle = undefined;
    await handle.close();
  }

  /** After a failed write: cut off whatever part of it landed and stop appending to that file. */
  private async abandonActive(): Promise<void> {
    const active = this.activeSegment();
    if (!active) return;
    await active.handle!.truncate(active.size).catch(() => undefined);
    await this.closeActive().catch(() => undefined);
  }

  /** Deletes the oldest segments, counting their pending batches as dropped, until `need` bytes fit. */
  private async makeRoom(need: number): Promise<void> {
    let dropped = 0;
    while (this.segments.length > 0 && this.totalBytes + need > this.maxBytes) {
      const oldest = this.segments[0];
      if (oldest.handle) await this.closeActive();
      while (this.head < this.entries.length && this.entries[this.head].segment === oldest) {
        this.pendingByteCount -= this.entries[this.head].bytes;
        this.head++;
        dropped++;
      }
      // Its sequences may have been sent: never reuse them, even if every segment goes.
      this.state.checkedSequence = Math.max(this.state.checkedSequence, oldest.lastSequence);
      await this.deleteSegment(oldest);
    }
    if (dropped === 0) return;
    this.compactEntries();
    this.state.droppedTotal += dropped;
    this.log.warn(
      { dir: this.dir, dropped, dropped_total: this.state.droppedTotal, max_bytes: this.maxBytes },
      'spool full, dropped oldest batches',
    );
    // The count is also written with the next ack; a failure here must not fail the append.
    await this.writeState().catch((err: unknown) =>
      this.log.error({ dir: this.dir, err: (err as Error).message }, 'spool state write failed'),
    );
  }

  /** Deletes, oldest first, every segment not open for appends that holds nothing unacknowledged. */
  private async deleteAcknowledgedSegments(): Promise<void> {
    while (this.segments.length > 0) {
      const oldest = this.segments[0];
      if (oldest.handle || oldest.lastSequence > this.persistedAcked) return;
      await this.deleteSegment(oldest);
    }
  }

  private async deleteSegment(segment: Segment): Promise<void> {
    // Off the disk first: a segment forgotten here but left on disk (rm failed) would be read back
    // at the next start as part of whatever stream the spool has begun since.
    await fsp.rm(segment.file, { force: true });
    const at = this.segments.indexOf(segment);
    if (at >= 0) this.segments.splice(at, 1);
    this.totalBytes -= segment.size;
    if (segment.handle) {
      const handle = segment.handle;
      segment.handle = undefined;
      await handle.close().catch(() => undefined);
    }
  }

  private compactEntries(): void {
    if (this.head > COMPACT_AFTER && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Index of the first pending entry with a sequence above `after` (binary search). */
  private firstAfter(after: number): number {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid].sequence <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private readEntry(fd: number, entry: Entry): SpooledBatch | undefined {
    try {
      const record = readExactSync(fd, entry.offset, entry.bytes);
      const payload = record.subarray(RECORD_HEADER_BYTES);
      if (record.readUInt32LE(0) !== payload.length || record.readUInt32LE(4) !== zlib.crc32(payload)) {
        throw new XimpError(ErrorCodes.SPOOL_CORRUPT, 'checksum mismatch');
      }
      const batch = decodeBatch(payload);
      if (batch.sequence !== entry.sequence) throw new XimpError(ErrorCodes.SPOOL_CORRUPT, 'sequence mismatch');
      return batch;
    } catch (err) {
      if (entry.unreadable) return undefined;
      // Counted once, and reported to the collector in the next batch's dropped total.
      entry.unreadable = true;
      this.state.droppedTotal++;
      this.log.warn(
        { file: entry.segment.file, sequence: entry.sequence, err: (err as Error).message, dropped_total: this.state.droppedTotal },
        'spool record unreadable, skipped',
      );
      return undefined;
    }
  }
}

function newState(streamId: string): StreamState {
  return { version: 1, streamId, ackedSequence: 0, droppedTotal: 0, checkedSequence: 0 };
}

function newStreamId(): string {
  return crypto.randomBytes(16).toString('base64url');
}

function ioError(message: string, cause: unknown): XimpError {
  return new XimpError(ErrorCodes.SPOOL_IO, `${message}: ${(cause as Error).message}`, { cause });
}

/** Rewrites a small file in its own blocks (no new file, so no new space needed); not atomic. */
async function overwriteInPlace(file: string, text: string, sync: boolean): Promise<void> {
  const handle = await fsp.open(file, 'r+');
  try {
    const data = Buffer.from(text, 'utf8');
    await writeAll(handle, data, 0);
    await handle.truncate(data.length);
    if (sync) await handle.sync();
  } finally {
    await handle.close();
  }
}

async function truncateFile(file: string, length: number, sync: boolean): Promise<void> {
  const handle = await fsp.open(file, 'r+');
  try {
    await handle.truncate(length);
    if (sync) await handle.sync();
  } finally {
    await handle.close();
  }
}
