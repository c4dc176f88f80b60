import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ErrorCodes, SegmentLog, XimpError, comparePositions, silentLogger, type LogPosition, type LogRecord, type Logger } from '@ximp/shared';
import { SeriesTable } from './series-table';
import { indexSpool, recoverStream, scanSpool, type ScannedRecord, type SpoolEntry } from './spool-index';
import {
  SEGMENT_MAGIC,
  SEGMENT_START_BYTES,
  SEGMENT_VERSION,
  SEGMENT_VERSION_V1,
  batchRecordBytes,
  decodeBatch,
  encodeBatch,
  encodeStreamRecord,
  validateBatch,
  type SpooledBatch,
} from './spool-segment';
import {
  newStreamId,
  newStreamState,
  readStreamState,
  spoolIoError,
  writeStreamState,
  type StreamState,
} from './spool-stream-state';

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

const SERIES_FILE = 'series.log';
const DEFAULT_SEGMENT_BYTES = 4 * 1024 * 1024;
// Keeps the entry array from growing without bound at its acknowledged front.
const COMPACT_AFTER = 1024;

interface QueuedAppend {
  sequence: number;
  batch: SpooledBatch;
  payload: Buffer;
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The agent's on-disk buffer of every batch the collector has not acknowledged, so nothing is
 * lost across agent restarts, collector restarts or network loss.
 *
 * Layout of `dir` (mode 0700): `stream.json` (stream id, acknowledged watermark, dropped count),
 * `series.log` (the SeriesTable) and the segment files of a SegmentLog (@ximp/shared: numbered,
 * checksummed records, 'drop-oldest' at `maxBytes`). This class keeps only the stream's state:
 * which batch lies where, what is acknowledged, what was lost. A segment is released as a whole
 * once every batch in it is acknowledged; batches in segments the log dropped to stay within
 * `maxBytes`, or found unreadable, are counted in droppedTotal.
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
  private segments: SegmentLog | undefined;
  /** The segment this run appends to, which begins with the current stream's record. */
  private appendSegment: number | undefined;
  private state: StreamState = newStreamState('');
  /** Pending entries are entries[head..]; everything before head is acknowledged or dropped. */
  private entries: SpoolEntry[] = [];
  /** The entries of the newest appended group, whose batches are still held in memory (fresh). */
  private freshEntries: SpoolEntry[] = [];
  private head = 0;
  private pendingByteCount = 0;
  /** Highest sequence seen: appended (or reserved by an append in progress), or acknowledged. */
  private lastSequence = 0;
  /** Highest sequence known to be written (this run or found on disk). */
  private durableSequence = 0;
  /**
   * The acknowledged sequence as stream.json (or a stream record) holds it. Only segments at or
   * below it are released, so after any crash the spool still knows a sequence at least as high
   * as anything the collector has acknowledged, and never mistakes a true Welcome for a lie.
   */
  private persistedAcked = 0;
  /** What stream.json holds besides the watermark, so an ack knows whether it must write it. */
  private persisted = { droppedTotal: 0, checkedSequence: 0 };
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
      const segments = SegmentLog.open({
        dir: this.dir,
        magic: SEGMENT_MAGIC,
        version: SEGMENT_VERSION,
        readVersions: [SEGMENT_VERSION_V1],
        maxBytes: this.maxBytes,
        segmentBytes: this.segmentBytes,
        whenFull: 'drop-oldest',
        fsync: this.sync,
        log: this.log,
        name: 'spool',
      });
      this.segments = segments;
      const loaded = await readStreamState(this.dir, this.log);
      const tableState = await this.series.open();
      const scanned = scanSpool(segments);
      if (loaded) {
        this.state = loaded;
      } else {
        const recovered = recoverStream(scanned);
        this.state = recovered ? { ...newStreamState(recovered.streamId), ...recovered } : newStreamState(newStreamId());
        if (recovered) {
          this.log.warn({ dir: this.dir, stream: this.state.streamId }, 'spool stream state lost, stream recovered from its segments');
        } else if (segments.segmentCount() > 0) {
          // Segments of an older agent name no stream: their batches go out under a new one.
          this.log.warn({ dir: this.dir, stream: this.state.streamId }, 'spool stream state lost, starting a new stream');
        }
      }
      this.lastSequence = this.state.ackedSequence;
      this.persistedAcked = this.state.ackedSequence;
      this.index(scanned, segments);

      if (tableState !== 'loaded' && (loaded !== undefined || segments.segmentCount() > 0)) {
        // Pending batches reference series ids that can no longer be resolved: sending them
        // would attribute values to the wrong series. Start a new stream instead.
        const lost = this.pendingCount();
        this.log.warn({ dir: this.dir, dropped: lost }, 'spool series table lost, starting a new stream');
        this.dropBatchesForNewStream(lost);
      }
      this.releaseAcknowledged();
      // A smaller maxBytes than the segments on disk take.
      segments.makeRoom(0);
      this.forgetDropped();
      await this.writeState();
      this.opened = true;
      this.log.info(
        { dir: this.dir, stream: this.state.streamId, pending: this.pendingCount(), bytes: segments.sizeBytes() },
        'spool opened',
      );
    } catch (err) {
      // Leave the object as it was before open(), so a later open() starts clean.
      this.segments?.close();
      this.segments = undefined;
      this.appendSegment = undefined;
      await this.series.close().catch(() => undefined);
      this.series = this.newSeriesTable(this.series.maxSeries);
      this.entries = [];
      this.head = 0;
      this.pendingByteCount = 0;
      this.lastSequence = 0;
      this.durableSequence = 0;
      this.persistedAcked = 0;
      this.state = newStreamState('');
      throw err instanceof XimpError && err.code !== ErrorCodes.SEGMENT_LOG_IO ? err : spoolIoError('cannot open the spool', err);
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
      const payload = encodeBatch(batch);
      this.lastSequence = batch.sequence;
      return new Promise<void>((resolve, reject) => {
        this.queue.push({ sequence: batch.sequence, batch, payload, bytes, resolve, reject });
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
   * longer reads back intact is skipped with a warning and counted as dropped, once; the next
   * acknowledgement removes it.
   */
  pending(afterSequence = 0, maxBatches = Number.POSITIVE_INFINITY): SpooledBatch[] {
    const out: SpooledBatch[] = [];
    const segments = this.segments;
    if (!segments || this.closed) return out;
    let i = this.firstAfter(afterSequence);
    while (i < this.entries.length && out.length < maxBatches) {
      const fresh = this.entries[i].fresh;
      if (fresh) {
        // Durable already (its entry exists only after the fsync); a resend reads it from disk.
        this.entries[i].fresh = undefined;
        out.push(fresh);
        i++;
        continue;
      }
      const want = Math.min(maxBatches - out.length, this.entries.length - i);
      const records = segments.read(this.entries[i].position, want);
      if (records.length === 0) {
        // Nothing from here on reads back (a segment file gone or unreadable).
        for (; i < this.entries.length; i++) this.markUnreadable(this.entries[i], 'not found');
        break;
      }
      for (const record of records) {
        // Entries the log skipped over did not read back intact.
        while (i < this.entries.length && comparePositions(this.entries[i].position, record.position) < 0) {
          this.markUnreadable(this.entries[i], 'checksum mismatch or segment unreadable');
          i++;
        }
        if (i >= this.entries.length || out.length >= maxBatches) break;
        if (comparePositions(this.entries[i].position, record.position) !== 0) continue; // a stream record
        const batch = this.decodeEntry(this.entries[i], record);
        if (batch) out.push(batch);
        i++;
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
    return this.segments && !this.closed ? this.segments.sizeBytes() : 0;
  }

  /**
   * Counts batches lost before they reached the spool (a write failed: disk full, I/O error);
   * reported to the collector like every other drop, and persisted with the next state write.
   */
  countDropped(batches: number): void {
    if (Number.isSafeInteger(batches) && batches > 0) this.state.droppedTotal += batches;
  }

  /**
   * The collector stored every batch <= sequence: once that frees a whole segment, persist the
   * watermark, then release every segment that holds nothing unacknowledged (the newest one stays
   * open until it fills up). When the watermark cannot be written (disk full), nothing is released
   * until it can. close() always writes it.
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
      // The watermark is written (with its fsyncs) only when it lets a segment go: a crash before
      // then resends batches the collector drops as duplicates, and its Welcome tells the rest.
      if (!this.releasableBy(sequence) && !this.stateChanged()) return;
      await this.writeState();
      this.releaseAcknowledged();
    });
  }

  /** True when drops or checked sequences were counted since stream.json was last written. */
  private stateChanged(): boolean {
    return this.state.droppedTotal !== this.persisted.droppedTotal || this.state.checkedSequence !== this.persisted.checkedSequence;
  }

  /** True when a watermark of `acked` would let at least one whole segment be released. */
  private releasableBy(acked: number): boolean {
    const segments = this.segments!;
    let i = this.firstAfter(acked);
    // Entries before head were acknowledged or dropped; find the first still unacknowledged one.
    while (i < this.entries.length && this.entries[i].sequence <= acked) i++;
    const upTo = i < this.entries.length ? this.entries[i].position : segments.end();
    return segments.start().segment < upTo.segment;
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
      this.dropBatchesForNewStream(this.state.droppedTotal);
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
      const segments = this.segments!;
      // The watermark (acks are written lazily) and the drops counted since the last state write
      // (failed writes, unreadable records) persist; only then may acknowledged segments go.
      let written = true;
      await this.writeState().catch((err: unknown) => {
        written = false;
        this.log.error({ dir: this.dir, err: (err as Error).message }, 'spool state write failed');
      });
      try {
        // The newest segment goes too once everything in it is acknowledged.
        segments.seal();
        if (written) this.releaseAcknowledged();
      } catch (err) {
        this.log.error({ dir: this.dir, err: (err as Error).message }, 'spool segments not released');
      }
      segments.close();
      await this.series.close();
    });
  }

  /** Releases every segment and begins a new stream id at sequence 1 (the caller writes the state). */
  private dropBatchesForNewStream(droppedTotal: number): void {
    const segments = this.segments!;
    segments.seal();
    segments.release(segments.end());
    this.appendSegment = undefined;
    this.state = { ...newStreamState(newStreamId()), droppedTotal };
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

  /** Takes in what open found: the pending batches, and the batches lost to damage. */
  private index(scanned: ScannedRecord[], segments: SegmentLog): void {
    const found = indexSpool(scanned, segments.damage(), this.state.ackedSequence, this.state.checkedSequence);
    this.entries = found.entries;
    this.pendingByteCount = found.pendingBytes;
    this.state.checkedSequence = found.checkedSequence;
    // A lost record at the tail may have reached the collector: never reuse its sequence.
    this.lastSequence = Math.max(this.lastSequence, found.checkedSequence);
    this.durableSequence = found.lastSequence ?? 0;
    if (found.lost > 0) {
      this.state.droppedTotal += found.lost;
      this.log.warn({ dir: this.dir, dropped: found.lost, dropped_total: this.state.droppedTotal }, 'spool batches unreadable, dropped');
    }
  }

  /** Writes stream.json; what it says about acknowledgements may then release segments. */
  private async writeState(): Promise<void> {
    const { ackedSequence: acked, droppedTotal, checkedSequence } = this.state;
    await writeStreamState(this.dir, this.state, this.sync);
    this.persistedAcked = Math.max(this.persistedAcked, acked);
    this.persisted = { droppedTotal, checkedSequence };
  }

  /**
   * Takes every queued append and writes it, one group (one write, one fsync) per segment. A
   * group that begins a segment carries the stream record first.
   */
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
    const segments = this.segments!;
    let i = 0;
    while (i < items.length) {
      const fresh = segments.segmentFor(items[i].bytes) !== this.appendSegment;
      let groupBytes = items[i].bytes;
      let j = i + 1;
      const fits = (bytes: number): boolean =>
        fresh ? SEGMENT_START_BYTES + bytes <= this.segmentBytes : segments.segmentFor(bytes) === this.appendSegment;
      while (j < items.length && fits(groupBytes + items[j].bytes)) groupBytes += items[j++].bytes;
      const group = items.slice(i, j);
      const payloads = group.map((g) => g.payload);
      if (fresh) payloads.unshift(encodeStreamRecord(this.state));

      let positions: LogPosition[];
      try {
        const written = segments.append(payloads);
        this.appendSegment = written.segment;
        positions = fresh ? written.positions.slice(1) : written.positions;
      } catch (err) {
        this.failAppends(items.slice(i), err);
        return;
      }
      const dropped = this.forgetDropped();
      try {
        // Off the event loop: connections keep being served during the fdatasync.
        await segments.syncAsync();
      } catch (err) {
        // Written but perhaps not durable: the next start may still find them, so their
        // sequences are never handed out again.
        this.durableSequence = group[group.length - 1].sequence;
        this.failAppends(items.slice(i), err);
        return;
      }
      // Only the newest group is held in memory: a backlog while offline is read back from disk.
      for (const entry of this.freshEntries) entry.fresh = undefined;
      this.freshEntries = [];
      for (let k = 0; k < group.length; k++) {
        const entry: SpoolEntry = { sequence: group[k].sequence, position: positions[k], bytes: group[k].bytes, fresh: group[k].batch };
        this.entries.push(entry);
        this.freshEntries.push(entry);
      }
      this.durableSequence = group[group.length - 1].sequence;
      this.pendingByteCount += groupBytes;
      for (const item of group) item.resolve();
      if (dropped > 0) {
        // The count is also written with the next ack; a failure here must not fail the append.
        await this.writeState().catch((err: unknown) =>
          this.log.error({ dir: this.dir, err: (err as Error).message }, 'spool state write failed'),
        );
      }
      i = j;
    }
  }

  private failAppends(items: QueuedAppend[], err: unknown): void {
    this.appendSegment = undefined;
    const failure = spoolIoError('cannot write to the spool', err);
    // Debug only: the caller reports it, throttled, since a full disk fails every cycle.
    this.log.debug({ dir: this.dir, err: failure.message, batches: items.length }, 'spool append failed');
    // Nothing newer is waiting: give the failed sequences back, so a retry can reuse them.
    if (this.queue.length === 0) {
      this.lastSequence = Math.max(this.durableSequence, this.state.ackedSequence, this.state.checkedSequence);
    }
    for (const item of items) item.reject(failure);
  }

  /** Counts (and warns about) the pending batches whose segments the log dropped to stay within maxBytes. */
  private forgetDropped(): number {
    const start = this.segments!.start();
    let dropped = 0;
    while (this.head < this.entries.length && comparePositions(this.entries[this.head].position, start) < 0) {
      const entry = this.entries[this.head++];
      this.pendingByteCount -= entry.bytes;
      // Its sequence may have been sent: never reuse it, even if every segment goes.
      this.state.checkedSequence = Math.max(this.state.checkedSequence, entry.sequence);
      dropped++;
    }
    if (dropped === 0) return 0;
    this.compactEntries();
    this.state.droppedTotal += dropped;
    this.log.warn(
      { dir: this.dir, dropped, dropped_total: this.state.droppedTotal, max_bytes: this.maxBytes },
      'spool full, dropped oldest batches',
    );
    return dropped;
  }

  /** Releases the segments before the first batch not yet acknowledged in stream.json. */
  private releaseAcknowledged(): void {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid].sequence <= this.persistedAcked) lo = mid + 1;
      else hi = mid;
    }
    const segments = this.segments!;
    try {
      segments.release(lo < this.entries.length ? this.entries[lo].position : segments.end());
    } catch (err) {
      throw spoolIoError('cannot delete acknowledged spool segments', err);
    }
    this.compactEntries();
  }

  /** Forgets entries no longer needed: acknowledged in stream.json, or dropped with their segment. */
  private compactEntries(): void {
    if (this.head <= COMPACT_AFTER || this.head * 2 <= this.entries.length) return;
    const start = this.segments!.start();
    let keepFrom = 0;
    while (
      keepFrom < this.head &&
      (this.entries[keepFrom].sequence <= this.persistedAcked || comparePositions(this.entries[keepFrom].position, start) < 0)
    ) {
      keepFrom++;
    }
    if (keepFrom * 2 <= this.entries.length) return;
    this.entries = this.entries.slice(keepFrom);
    this.head -= keepFrom;
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

  private decodeEntry(entry: SpoolEntry, record: LogRecord): SpooledBatch | undefined {
    try {
      const batch = decodeBatch(record.payload);
      if (batch.sequence !== entry.sequence) throw new XimpError(ErrorCodes.SPOOL_CORRUPT, 'sequence mismatch');
      return batch;
    } catch (err) {
      this.markUnreadable(entry, (err as Error).message);
      return undefined;
    }
  }

  /** Counts a batch that no longer reads back as dropped, once; the collector hears of it in the next batch. */
  private markUnreadable(entry: SpoolEntry, reason: string): void {
    if (entry.unreadable) return;
    entry.unreadable = true;
    this.state.droppedTotal++;
    this.log.warn(
      { segment: entry.position.segment, sequence: entry.sequence, err: reason, dropped_total: this.state.droppedTotal },
      'spool record unreadable, skipped',
    );
  }
}
