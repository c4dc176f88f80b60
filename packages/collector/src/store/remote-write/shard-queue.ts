import * as path from 'node:path';
import {
  comparePositions as compare,
  ErrorCodes,
  FILE_HEADER_BYTES,
  recordBytes,
  SegmentLog,
  XimpError,
  type LogPosition,
  type LogRecord,
  type Logger,
} from '@ximp/shared';
import {
  batchRecordHeader,
  decodeBatchRecord,
  decodeSeriesRecord,
  encodeBatchRecord,
  encodeSeriesRecord,
  recordKind,
  RECORD_BATCH,
  RECORD_SERIES,
  type BatchToQueue,
  type SeriesDefinition,
  type SeriesDescription,
} from './queue-records';
import { ShardCursor } from './shard-cursor';

export interface QueuedBatch {
  node: string;
  timestampMs: number;
  /** One per value, in the batch's order: the series' name and labels as the collector knew them. */
  series: readonly SeriesDescription[];
  values: Float64Array;
}

export interface ShardQueue {
  /**
   * The next request's worth (whole batches, up to maxSamples; at least one batch even if bigger),
   * from the confirmed position. Calling again before confirm returns the same batches.
   */
  peek(maxSamples: number): { batches: QueuedBatch[]; samples: number; end: unknown } | undefined;
  /** Those batches are done (accepted or dropped): advance and persist the position, release segments. */
  confirm(end: unknown): void;
  /** Resolves when something is appended after the current end (or at once when data waits). */
  waitForData(signal?: AbortSignal): Promise<void>;
  /** True for the first peek after open when it may repeat a request the store already took before a crash. */
  readonly replaying: boolean;
}

export interface ShardLogOptions {
  dir: string;
  maxBytes: number;
  segmentBytes: number;
  fsync?: boolean;
  log?: Logger;
  /** Names the shard in the log's lines. */
  name?: string;
  /** True while the whole queue is over its bound. */
  full?: () => boolean;
}

/** What a peek consumed: handed to the sender as the opaque `end` it confirms. */
interface PeekEnd {
  position: LogPosition;
  batches: number;
  samples: number;
}

interface Peeked {
  batches: QueuedBatch[];
  samples: number;
  end: PeekEnd;
}

const MAGIC = 'XIMPFQ';
const VERSION = 1;
const CURSOR_FILE = 'cursor';
/** Records and payload bytes per read: a peek wants one request's worth, a scan reads on. */
const PEEK_RECORDS = 64;
const PEEK_BYTES = 256 * 1024;
const SCAN_RECORDS = 1024;
const SCAN_BYTES = 4 * 1024 * 1024;

/**
 * One shard of a store's forward queue: a segment log of definition and batch records, a cursor
 * file with the confirmed position, and counters. It holds positions and counts, never the
 * queued batches; the only series definitions in memory are those of the segment being written
 * (ids only) and of the segment being read.
 */
export class QueueShard implements ShardQueue {
  private position: LogPosition;
  private pendingBatches = 0;
  private pendingSamples = 0;
  /** Timestamp of the first unconfirmed batch, when known without reading. */
  private headTimestampMs: number | undefined;
  /** Series ids defined in the segment appends go to. */
  private writeSegment: number;
  private written = new Set<number>();
  /** Definitions of the segment reading is in. */
  private readSegment = -1;
  private readDefs = new Map<number, SeriesDescription>();
  private peeked: Peeked | undefined;
  private waiters = new Set<() => void>();
  private dirty = false;
  private closed = false;
  /** A syncAsync runs: the log's active segment must stay open until it settles. */
  private syncing = false;
  private sealAfterSync = false;
  private replayingNow: boolean;
  private unreadable = 0;

  private constructor(
    private readonly log: SegmentLog,
    private readonly cursor: ShardCursor,
    private readonly full: () => boolean,
  ) {
    const start = log.start();
    const end = log.end();
    const saved = cursor.saved;
    // A cursor behind the oldest record on disk, or past the end (a torn tail it had confirmed), is clamped.
    this.position = saved === undefined || compare(saved, start) < 0 ? start : compare(saved, end) > 0 ? end : saved;
    this.writeSegment = end.segment;
    // A crash between writing the cursor and releasing leaves segments wholly before it.
    log.release(this.position);
    this.scanAtOpen();
    this.replayingNow = this.pendingBatches > 0;
  }

  static open(options: ShardLogOptions): QueueShard {
    const log = SegmentLog.open({
      dir: options.dir,
      magic: MAGIC,
      version: VERSION,
      maxBytes: options.maxBytes,
      segmentBytes: options.segmentBytes,
      whenFull: 'refuse',
      fsync: options.fsync,
      log: options.log,
      name: options.name,
    });
    try {
      return new QueueShard(log, ShardCursor.open(path.join(options.dir, CURSOR_FILE)), options.full ?? (() => false));
    } catch (err) {
      log.close();
      throw err;
    }
  }

  get replaying(): boolean {
    return this.replayingNow;
  }

  /** Writes the batches (all of this shard), each preceded by the definitions its segment lacks. */
  append(batches: readonly BatchToQueue[], describe: (id: number) => SeriesDescription): void {
    this.checkOpen();
    if (batches.length === 0) return;
    const records = batches.map(encodeBatchRecord);
    const described = new Map<number, SeriesDescription>();
    const build = (known: ReadonlySet<number>): { payloads: Buffer[]; added: Set<number>; bytes: number } => {
      const payloads: Buffer[] = [];
      const added = new Set<number>();
      let bytes = 0;
      for (let b = 0; b < batches.length; b++) {
        const ids = batches[b].seriesIds;
        let definitions: SeriesDefinition[] | undefined;
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i];
          if (known.has(id) || added.has(id)) continue;
          added.add(id);
          let series = described.get(id);
          if (series === undefined) {
            series = describe(id);
            described.set(id, series);
          }
          (definitions ??= []).push({ id, series });
        }
        if (definitions !== undefined) {
          const def = encodeSeriesRecord(definitions);
          payloads.push(def);
          bytes += recordBytes(def.length);
        }
        payloads.push(records[b]);
        bytes += recordBytes(records[b].length);
      }
      return { payloads, added, bytes };
    };

    let plan = build(this.written);
    const target = this.log.segmentFor(plan.bytes);
    // When the log starts a new segment for this append, that segment must carry its own definitions.
    if (target !== this.writeSegment) plan = build(new Set());
    const { segment } = this.log.append(plan.payloads);
    if (segment !== target) throw new Error(`segment log wrote to segment ${segment}, announced ${target}`);
    if (segment !== this.writeSegment) {
      this.writeSegment = segment;
      this.written = plan.added;
    } else {
      for (const id of plan.added) this.written.add(id);
    }

    if (this.pendingBatches === 0) this.headTimestampMs = batches[0].timestampMs;
    this.pendingBatches += batches.length;
    for (const b of batches) this.pendingSamples += b.values.length;
    this.dirty = true;
    this.wake();
  }

  sync(): void {
    if (!this.dirty) return;
    this.log.sync();
    this.dirty = false;
  }

  /**
   * sync() on libuv's thread pool. The log must not change until it settles (its descriptor is
   * in use there): a seal the sender asks for meanwhile waits for the end of the sync.
   */
  async syncAsync(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    this.syncing = true;
    try {
      await this.log.syncAsync();
    } catch (err) {
      this.dirty = true;
      throw err;
    } finally {
      this.syncing = false;
      if (this.sealAfterSync) {
        this.sealAfterSync = false;
        this.letDrainedSegmentGo();
      }
    }
  }

  peek(maxSamples: number): { batches: QueuedBatch[]; samples: number; end: unknown } | undefined {
    this.checkOpen();
    if (this.peeked !== undefined) return this.peeked;
    while (this.pendingBatches > 0) {
      const { reachedEnd, ...peeked } = this.readFrom(this.position, Math.max(1, maxSamples));
      if (reachedEnd) {
        // Records damaged on disk since they were counted are gone from the log's reads: what
        // this read found is all that waits.
        this.pendingBatches = peeked.end.batches;
        this.pendingSamples = peeked.end.samples;
      }
      if (peeked.batches.length > 0) {
        this.peeked = peeked;
        this.headTimestampMs = peeked.batches[0].timestampMs;
        return peeked;
      }
      if (peeked.end.batches === 0) break;
      // Everything read was unreadable: step over it so one damaged record cannot stall the shard.
      this.advance(peeked.end);
    }
    return undefined;
  }

  confirm(end: unknown): void {
    this.checkOpen();
    if (this.peeked === undefined || end !== this.peeked.end) throw new Error('confirm needs the end of the last peek');
    this.peeked = undefined;
    this.replayingNow = false;
    this.advance(end as PeekEnd);
  }

  waitForData(signal?: AbortSignal): Promise<void> {
    if (this.closed || this.pendingBatches > (this.peeked?.end.batches ?? 0)) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.delete(done);
        reject(abortReason(signal!));
      };
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  sizeBytes(): number {
    return this.log.sizeBytes();
  }

  stats(): { bytes: number; batches: number; samples: number; headTimestampMs: number | undefined; unreadableRecords: number } {
    if (this.pendingBatches > 0 && this.headTimestampMs === undefined && !this.closed) this.headTimestampMs = this.findHeadTimestamp();
    return {
      bytes: this.log.sizeBytes(),
      batches: this.pendingBatches,
      samples: this.pendingSamples,
      headTimestampMs: this.pendingBatches > 0 ? this.headTimestampMs : undefined,
      unreadableRecords: this.unreadable + this.log.corruptRecords(),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    this.cursor.close();
    this.log.close();
  }

  private advance(end: PeekEnd): void {
    this.position = end.position;
    this.pendingBatches -= end.batches;
    this.pendingSamples -= end.samples;
    this.headTimestampMs = undefined;
    this.cursor.write(end.position);
    // The log keeps the segment taking appends even when all of it is confirmed. Normally that is
    // fine (a segment is a small share of the bound, and a new one repeats every definition), but
    // a drained shard of a full queue lets it go so room comes back.
    if (this.syncing) this.sealAfterSync = true;
    else this.letDrainedSegmentGo();
  }

  private letDrainedSegmentGo(): void {
    if (this.closed) return;
    if (this.pendingBatches === 0 && this.log.end().segment === this.position.segment && this.full()) this.log.seal();
    this.log.release(this.position);
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }

  private checkOpen(): void {
    if (this.closed) throw new XimpError(ErrorCodes.STORE_STOPPED, 'forward queue is closed');
  }

  /** Whole batches from `from` up to maxSamples (at least one), with their series resolved. */
  private readFrom(from: LogPosition, maxSamples: number): Peeked & { reachedEnd: boolean } {
    const batches: QueuedBatch[] = [];
    let samples = 0;
    let consumedBatches = 0;
    let consumedSamples = 0;
    let end = from;
    let at = from;
    let first = true;
    for (;;) {
      const records = this.log.read(at, PEEK_RECORDS, PEEK_BYTES);
      if (records.length === 0) break;
      for (const record of records) {
        if (first) {
          this.enterSegment(record);
          first = false;
        } else if (record.position.segment !== this.readSegment) {
          // A segment begins with its own definitions: the previous segment's are not needed.
          this.readSegment = record.position.segment;
          this.readDefs = new Map();
        }
        const kind = recordKind(record.payload);
        if (kind === RECORD_SERIES) {
          this.define(record.payload);
        } else if (kind === RECORD_BATCH) {
          let header;
          try {
            header = batchRecordHeader(record.payload);
          } catch {
            this.unreadable++;
            end = record.next;
            continue;
          }
          if (consumedBatches > 0 && samples + header.count > maxSamples) {
            return { batches, samples, end: { position: end, batches: consumedBatches, samples: consumedSamples }, reachedEnd: false };
          }
          consumedBatches++;
          consumedSamples += header.count;
          const batch = this.resolve(record.payload);
          if (batch !== undefined) {
            batches.push(batch);
            samples += header.count;
          }
        } else {
          this.unreadable++;
        }
        end = record.next;
      }
      at = records[records.length - 1].next;
    }
    return { batches, samples, end: { position: end, batches: consumedBatches, samples: consumedSamples }, reachedEnd: true };
  }

  /** Reading starts at `record`: load its segment's definitions written before it. */
  private enterSegment(record: LogRecord): void {
    const segment = record.position.segment;
    if (segment === this.readSegment) return;
    this.readSegment = segment;
    this.readDefs = new Map();
    this.scan(segmentStart(segment), record.position, (r) => {
      if (recordKind(r.payload) === RECORD_SERIES) this.define(r.payload);
    });
  }

  private define(payload: Buffer): void {
    try {
      for (const { id, series } of decodeSeriesRecord(payload)) this.readDefs.set(id, series);
    } catch {
      this.unreadable++;
    }
  }

  private resolve(payload: Buffer): QueuedBatch | undefined {
    let decoded;
    try {
      decoded = decodeBatchRecord(payload);
    } catch {
      this.unreadable++;
      return undefined;
    }
    const series: SeriesDescription[] = [];
    for (let i = 0; i < decoded.seriesIds.length; i++) {
      const s = this.readDefs.get(decoded.seriesIds[i]);
      if (s === undefined) {
        // Written without its definition: the batch cannot be named, so it is counted and skipped.
        this.unreadable++;
        return undefined;
      }
      series.push(s);
    }
    return { node: decoded.node, timestampMs: decoded.timestampMs, series, values: decoded.values };
  }

  /** Calls `visit` for every record from `from` up to (not including) `until`, or to the end. */
  private scan(from: LogPosition, until: LogPosition | undefined, visit: (record: LogRecord) => void): void {
    let at = from;
    for (;;) {
      const records = this.log.read(at, SCAN_RECORDS, SCAN_BYTES);
      if (records.length === 0) return;
      for (const record of records) {
        if (until !== undefined && compare(record.position, until) >= 0) return;
        visit(record);
      }
      at = records[records.length - 1].next;
    }
  }

  /**
   * Counts what waits after the cursor, learns which ids the last segment already defines (so
   * appends after a restart do not repeat them), and loads the definitions of the cursor's segment.
   */
  private scanAtOpen(): void {
    const last = this.log.end().segment;
    const from = compare(segmentStart(last), this.position) < 0 ? segmentStart(last) : this.position;
    this.scan(from, undefined, (record) => {
      const kind = recordKind(record.payload);
      if (kind === RECORD_SERIES && record.position.segment === last) {
        try {
          for (const { id } of decodeSeriesRecord(record.payload)) this.written.add(id);
        } catch {
          // Counted when a peek reaches it; its ids are defined again by the next append.
        }
      } else if (kind === RECORD_BATCH && compare(record.position, this.position) >= 0) {
        try {
          const { count, timestampMs } = batchRecordHeader(record.payload);
          if (this.pendingBatches === 0) this.headTimestampMs = timestampMs;
          this.pendingBatches++;
          this.pendingSamples += count;
        } catch {
          // Counted when a peek reaches it.
        }
      }
    });
  }

  private findHeadTimestamp(): number | undefined {
    let found: number | undefined;
    let at = this.position;
    for (;;) {
      const records = this.log.read(at, PEEK_RECORDS, PEEK_BYTES);
      if (records.length === 0) return found;
      for (const record of records) {
        if (recordKind(record.payload) !== RECORD_BATCH) continue;
        try {
          return batchRecordHeader(record.payload).timestampMs;
        } catch {
          // Skipped here as a peek skips it.
        }
      }
      at = records[records.length - 1].next;
    }
  }
}

/** The first record's position in a segment: right after the segment file's header. */
function segmentStart(segment: number): LogPosition {
  return { segment, offset: FILE_HEADER_BYTES };
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted', { cause: signal.reason });
}
