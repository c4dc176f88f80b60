import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { ErrorCodes, XimpError } from '../errors';
import { isOwnerOnly } from '../file-modes';
import { silentLogger, type Logger } from '../log';
import { comparePositions, type LogPosition } from './log-position';
import { FILE_HEADER_BYTES, RECORD_HEADER_BYTES, fileHeader, recordAt, recordBytes, writeRecord } from './record-format';
import { fsyncDir, fsyncDirSync, parseSegmentFileName, readAtSync, segmentFileName, writeAllSync } from './segment-files';

export interface LogRecord {
  position: LogPosition;
  /** The position right after this record, in the same segment. */
  next: LogPosition;
  payload: Buffer;
}

/** Damage found at open, in file order, so a user can tell what it lost where. */
export interface LogDamage {
  position: LogPosition;
  /**
   * `checksum`: one record failed its checksum and was skipped; `rest_of_segment`: a broken
   * length ended the readable part of a segment that is not the newest (left on disk as it is);
   * `unreadable_segment`: a segment without a valid header, deleted; `torn_tail`: the newest
   * segment's unreadable end, cut off (a crash in the middle of a write).
   */
  kind: 'checksum' | 'rest_of_segment' | 'unreadable_segment' | 'torn_tail';
  /** Records known to be lost there: 1 for `checksum`, else 0 (unknown). */
  records: number;
}

export interface SegmentLogOptions {
  /** Created 0700 (an existing one is tightened to 0700). */
  dir: string;
  /** 6 characters at the start of every segment file. */
  magic: string;
  /** Format version written in new segment headers (default 1). */
  version?: number;
  /** Older versions whose segments are still read (their records use the same framing). */
  readVersions?: readonly number[];
  /** Bound on the segment files together, headers included. */
  maxBytes: number;
  /** A segment takes no more appends once the next would pass this size. Default min(maxBytes / 8, 16 MiB). */
  segmentBytes?: number;
  /**
   * 'refuse': appends always succeed, hasRoom() turns false at maxBytes (the caller stops
   * taking more). 'drop-oldest': appends delete whole oldest segments to stay within maxBytes,
   * counting the records they held that were not yet released.
   */
  whenFull: 'refuse' | 'drop-oldest';
  /** fdatasync in sync(), fsync of the folder after a new segment (default true). */
  fsync?: boolean;
  /** Largest payload (default min(maxBytes, 2 GiB - 1)); longer length fields read as damage. */
  maxRecordBytes?: number;
  /** Told how many unreleased records 'drop-oldest' deleted, after each deletion. */
  onDrop?: (records: number) => void;
  log?: Logger;
  /** Names the log in its log lines: `<name> tail repaired` (default 'segment log'). */
  name?: string;
}

interface Segment {
  id: number;
  file: string;
  /** Bytes of the file. */
  size: number;
  /** Where its readable records end: `size` unless damage in the middle ended them early. */
  end: number;
  /** Intact records it holds. */
  records: number;
}

interface Plan {
  rotate: boolean;
  /** How many of the oldest segments go to make room. */
  drop: number;
}

const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;
// Reads start small (a reader often wants one record) and grow while a caller keeps reading.
const FIRST_READ_BYTES = 16 * 1024;
const MAX_READ_BYTES = 1024 * 1024;

/**
 * A directory of numbered segment files holding checksummed records, written and read
 * synchronously (it runs inside a SQLite transaction or a worker thread; the agent's spool wraps
 * it in promises). Appends go to the newest segment; a segment found at open never takes
 * appends again. Readers address records by position (segment id, offset), stable across
 * restarts; release() deletes the segments a reader no longer needs, whole.
 *
 * Open recovers from a crash: the newest segment's torn tail is cut off, a record whose checksum
 * fails is skipped (counted in corruptRecords()) when its length still leads to the next record,
 * and other damage ends the readable part of that segment (see damage()).
 */
export class SegmentLog {
  readonly dir: string;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  private readonly header: Buffer;
  private readonly readableHeaders: Buffer[];
  private readonly whenFull: 'refuse' | 'drop-oldest';
  private readonly fsync: boolean;
  private readonly maxRecordBytes: number;
  private readonly onDrop: ((records: number) => void) | undefined;
  private readonly log: Logger;
  private readonly name: string;
  private segments: Segment[] = [];
  /** The newest segment while it takes appends, with its write descriptor. */
  private active: { segment: Segment; fd: number; unsynced: boolean } | undefined;
  private nextId = 1;
  private totalBytes = 0;
  private dropped = 0;
  private corrupt = 0;
  private readonly corruptSeen = new Set<string>();
  private readonly damageFound: LogDamage[] = [];
  private releasedTo: LogPosition = { segment: 0, offset: 0 };
  private dirUnsynced = false;
  /** Counts writes, so an asynchronous sync knows whether newer data arrived meanwhile. */
  private writes = 0;
  private closed = false;

  private constructor(options: SegmentLogOptions) {
    const minimum = FILE_HEADER_BYTES + recordBytes(1);
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < minimum) {
      throw new RangeError(`segment log maxBytes must be an integer of at least ${minimum}`);
    }
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    const segmentBytes = options.segmentBytes ?? Math.min(Math.floor(options.maxBytes / 8), DEFAULT_SEGMENT_BYTES);
    this.segmentBytes = Math.min(Math.max(segmentBytes, minimum), options.maxBytes);
    const version = options.version ?? 1;
    this.header = fileHeader(options.magic, version);
    this.readableHeaders = [this.header, ...(options.readVersions ?? []).map((v) => fileHeader(options.magic, v))];
    this.whenFull = options.whenFull;
    this.fsync = options.fsync ?? true;
    this.maxRecordBytes = Math.min(options.maxRecordBytes ?? options.maxBytes, options.maxBytes, 2 ** 31 - 1);
    this.onDrop = options.onDrop;
    this.log = options.log ?? silentLogger();
    this.name = options.name ?? 'segment log';
  }

  /** Opens (creating the directory if need be) and recovers the log. Throws XIMP_ERR_SEGMENT_LOG_IO. */
  static open(options: SegmentLogOptions): SegmentLog {
    const log = new SegmentLog(options);
    try {
      log.recover();
    } catch (err) {
      throw err instanceof XimpError ? err : ioError(`cannot open ${log.name} ${log.dir}`, err);
    }
    return log;
  }

  /**
   * Writes every payload, in order, to ONE segment: when they do not fit in the active one, a new
   * segment is begun first (one call is never split). With 'drop-oldest' the oldest segments are
   * deleted first as needed. Not durable until sync(). Throws XIMP_ERR_SEGMENT_LOG_INVALID_RECORD
   * (an empty payload, one above maxRecordBytes, or a call that cannot fit in maxBytes when
   * dropping) or XIMP_ERR_SEGMENT_LOG_IO (nothing of the call stays readable then).
   */
  append(payloads: readonly Uint8Array[]): { segment: number; positions: LogPosition[] } {
    this.checkOpen();
    let bytes = 0;
    for (const payload of payloads) {
      if (payload.byteLength < 1 || payload.byteLength > this.maxRecordBytes) {
        throw new XimpError(
          ErrorCodes.SEGMENT_LOG_INVALID_RECORD,
          `record payload must be 1 to ${this.maxRecordBytes} bytes (actual: ${payload.byteLength})`,
        );
      }
      bytes += recordBytes(payload.byteLength);
    }
    if (payloads.length === 0) return { segment: this.end().segment, positions: [] };
    if (this.whenFull === 'drop-oldest' && FILE_HEADER_BYTES + bytes > this.maxBytes) {
      throw new XimpError(
        ErrorCodes.SEGMENT_LOG_INVALID_RECORD,
        `records of ${bytes} bytes do not fit in a log of ${this.maxBytes} bytes`,
      );
    }
    const plan = this.plan(bytes);
    try {
      this.dropOldest(plan.drop);
      if (plan.rotate) this.sealActive();
    } catch (err) {
      throw err instanceof XimpError ? err : ioError(`cannot make room in ${this.name}`, err);
    }
    const fresh = this.active === undefined;
    const base = fresh ? 0 : this.active!.segment.size;
    const data = Buffer.allocUnsafe((fresh ? FILE_HEADER_BYTES : 0) + bytes);
    let at = 0;
    if (fresh) at += this.header.copy(data, 0);
    const positions: LogPosition[] = [];
    const id = fresh ? this.nextId : this.active!.segment.id;
    for (const payload of payloads) {
      positions.push({ segment: id, offset: base + at });
      at = writeRecord(data, at, payload);
    }
    if (fresh) this.createSegment(data);
    else this.writeActive(data);
    const active = this.active!;
    active.segment.records += payloads.length;
    return { segment: active.segment.id, positions };
  }

  /** The segment an append of `bytes` record bytes (see recordBytes()) would go to now. */
  segmentFor(bytes: number): number {
    this.checkOpen();
    return this.plan(bytes).rotate ? this.nextId : this.active!.segment.id;
  }

  /** The segment the next append goes to if it fits. */
  activeSegment(): number {
    return this.active ? this.active.segment.id : this.nextId;
  }

  /** Makes everything appended durable: fdatasync, and fsync of the folder after a new segment. */
  sync(): void {
    this.checkOpen();
    if (!this.fsync) return;
    try {
      if (this.active?.unsynced) {
        fs.fdatasyncSync(this.active.fd);
        this.active.unsynced = false;
      }
      if (this.dirUnsynced) {
        fsyncDirSync(this.dir);
        this.dirUnsynced = false;
      }
    } catch (err) {
      // Whatever the file holds now is unknown: append no more to it.
      this.closeActive();
      throw ioError(`cannot sync ${this.name}`, err);
    }
  }

  /**
   * sync() with the fdatasync and the folder's fsync on libuv's thread pool, so an event loop
   * (the agent's) keeps serving meanwhile. The caller makes no other change to the log until it
   * settles (reads are fine).
   */
  async syncAsync(): Promise<void> {
    this.checkOpen();
    if (!this.fsync) return;
    const active = this.active;
    const writes = this.writes;
    const dir = this.dirUnsynced;
    try {
      if (active?.unsynced) await fdatasync(active.fd);
      if (dir) await fsyncDir(this.dir);
    } catch (err) {
      if (this.active === active) this.closeActive();
      throw ioError(`cannot sync ${this.name}`, err);
    }
    if (this.writes !== writes) return;
    if (active && this.active === active) active.unsynced = false;
    if (dir) this.dirUnsynced = false;
  }

  /**
   * Up to `maxRecords` intact records from `from` on, oldest first; together at most `maxBytes`
   * of payload, but always at least one. A position in a segment no longer on disk reads from
   * start(); a segment's end moves on to the next segment. Records found damaged are skipped
   * (counted once each in corruptRecords()); a segment that cannot be read is skipped with a
   * warning. Payloads may share memory with each other.
   */
  read(from: LogPosition, maxRecords: number, maxBytes = Number.POSITIVE_INFINITY): LogRecord[] {
    this.checkOpen();
    const out: LogRecord[] = [];
    const budget = { bytes: maxBytes, full: false };
    let i = this.segments.findIndex((s) => s.id >= from.segment);
    if (i < 0) return out;
    let offset = this.segments[i].id === from.segment ? Math.max(from.offset, FILE_HEADER_BYTES) : FILE_HEADER_BYTES;
    for (; i < this.segments.length && out.length < maxRecords && !budget.full; i++, offset = FILE_HEADER_BYTES) {
      if (offset < this.segments[i].end) this.readSegment(this.segments[i], offset, out, maxRecords, budget);
    }
    return out;
  }

  /** The oldest position still on disk. */
  start(): LogPosition {
    const first = this.segments[0];
    return first ? { segment: first.id, offset: FILE_HEADER_BYTES } : this.end();
  }

  /** Where the next record goes (unless the active segment is full for it). */
  end(): LogPosition {
    return this.active
      ? { segment: this.active.segment.id, offset: this.active.segment.size }
      : { segment: this.nextId, offset: FILE_HEADER_BYTES };
  }

  /**
   * Records before `upTo` are no longer needed: deletes every segment that lies wholly before it,
   * except the one taking appends (seal() it first to let it go too).
   */
  release(upTo: LogPosition): void {
    this.checkOpen();
    if (comparePositions(upTo, this.releasedTo) > 0) this.releasedTo = { segment: upTo.segment, offset: upTo.offset };
    while (this.segments.length > 0) {
      const oldest = this.segments[0];
      if (oldest === this.active?.segment) return;
      if (oldest.id > upTo.segment || (oldest.id === upTo.segment && upTo.offset < oldest.size)) return;
      this.deleteOldest();
    }
  }

  /**
   * 'drop-oldest' only: deletes oldest segments until `bytes` more fit within maxBytes (append
   * does this itself; this is for a smaller bound found at open). Counted like every drop.
   */
  makeRoom(bytes = 0): void {
    this.checkOpen();
    if (this.whenFull !== 'drop-oldest') return;
    let total = this.totalBytes;
    let drop = 0;
    while (drop < this.segments.length && total + bytes > this.maxBytes) total -= this.segments[drop++].size;
    try {
      this.dropOldest(drop);
    } catch (err) {
      throw err instanceof XimpError ? err : ioError(`cannot make room in ${this.name}`, err);
    }
  }

  /** The active segment takes no more appends (the next one begins a new segment). */
  seal(): void {
    this.checkOpen();
    try {
      this.sealActive();
    } catch (err) {
      throw ioError(`cannot sync ${this.name}`, err);
    }
  }

  /** Bytes of all segment files (what maxBytes bounds). */
  sizeBytes(): number {
    return this.totalBytes;
  }

  /** False once 'refuse' reached maxBytes; always true with 'drop-oldest'. */
  hasRoom(): boolean {
    return this.whenFull === 'drop-oldest' || this.totalBytes < this.maxBytes;
  }

  /** Unreleased records 'drop-oldest' deleted since open. */
  droppedRecords(): number {
    return this.dropped;
  }

  /** Records and damaged regions found unreadable since open (each counted once). */
  corruptRecords(): number {
    return this.corrupt;
  }

  /** The damage open found, in file order. */
  damage(): readonly LogDamage[] {
    return this.damageFound;
  }

  /** Number of segment files. */
  segmentCount(): number {
    return this.segments.length;
  }

  /** Closes the files (syncing what was appended, when fsync is on). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.sealActive();
    } catch {
      this.closeActive();
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new XimpError(ErrorCodes.SEGMENT_LOG_CLOSED, `${this.name} is closed`);
  }

  private recover(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (!isOwnerOnly(fs.statSync(this.dir).mode)) {
      try {
        fs.chmodSync(this.dir, 0o700);
      } catch (err) {
        this.log.warn({ dir: this.dir, err: (err as Error).message }, `${this.name} directory is accessible to other users`);
      }
    }
    const ids = fs
      .readdirSync(this.dir)
      .map(parseSegmentFileName)
      .filter((id): id is number => id !== null)
      .sort((a, b) => a - b);
    this.nextId = (ids.at(-1) ?? 0) + 1;
    for (let n = 0; n < ids.length; n++) this.recoverSegment(ids[n], n === ids.length - 1);
    this.releasedTo = this.start();
  }

  private recoverSegment(id: number, isLast: boolean): void {
    const file = path.join(this.dir, segmentFileName(id));
    const image = fs.readFileSync(file);
    const header = image.subarray(0, FILE_HEADER_BYTES);
    if (image.length < FILE_HEADER_BYTES || !this.readableHeaders.some((h) => h.equals(header))) {
      // The newest segment may lack its header after a crash right after its creation.
      if (!(isLast && image.length < FILE_HEADER_BYTES)) {
        this.log.warn({ file, bytes: image.length }, `${this.name} segment unreadable, deleted`);
        this.damageFound.push({ position: { segment: id, offset: 0 }, kind: 'unreadable_segment', records: 0 });
        this.corrupt++;
      }
      fs.rmSync(file, { force: true });
      return;
    }
    let pos = FILE_HEADER_BYTES;
    let records = 0;
    while (pos < image.length) {
      const r = recordAt(image, pos, 1, this.maxRecordBytes);
      if (r.kind === 'ok') {
        records++;
        pos = r.next;
        continue;
      }
      if (r.kind === 'bad_crc' && (r.next === image.length || recordAt(image, r.next, 1, this.maxRecordBytes).kind === 'ok')) {
        this.damageFound.push({ position: { segment: id, offset: pos }, kind: 'checksum', records: 1 });
        this.markCorrupt(id, pos);
        pos = r.next;
        continue;
      }
      break;
    }
    const segment: Segment = { id, file, size: image.length, end: pos, records };
    if (pos < image.length) {
      if (isLast) {
        // A crash mid-write: cut the torn tail so the file ends on a whole record.
        truncateFile(file, pos, this.fsync);
        segment.size = pos;
        this.damageFound.push({ position: { segment: id, offset: pos }, kind: 'torn_tail', records: 0 });
        this.log.warn({ file, bytes: image.length - pos }, `${this.name} tail repaired`);
      } else {
        this.damageFound.push({ position: { segment: id, offset: pos }, kind: 'rest_of_segment', records: 0 });
        this.markCorrupt(id, pos);
        this.log.warn({ file, offset: pos }, `${this.name} segment damaged, rest of it skipped`);
      }
    }
    this.segments.push(segment);
    this.totalBytes += segment.size;
  }

  private plan(bytes: number): Plan {
    const active = this.active?.segment;
    let rotate = active === undefined || (active.records > 0 && active.size + bytes > this.segmentBytes);
    let need = bytes + (rotate ? FILE_HEADER_BYTES : 0);
    let drop = 0;
    if (this.whenFull === 'drop-oldest') {
      let total = this.totalBytes;
      while (drop < this.segments.length && total + need > this.maxBytes) {
        const oldest = this.segments[drop++];
        if (oldest === active && !rotate) {
          rotate = true;
          need += FILE_HEADER_BYTES;
        }
        total -= oldest.size;
      }
    }
    return { rotate, drop };
  }

  private createSegment(data: Buffer): void {
    const id = this.nextId++;
    const file = path.join(this.dir, segmentFileName(id));
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      writeAllSync(fd, data, 0);
    } catch (err) {
      if (fd !== undefined) {
        closeQuietly(fd);
        fs.rmSync(file, { force: true });
      }
      throw ioError(`cannot write to ${this.name}`, err);
    }
    const segment: Segment = { id, file, size: data.length, end: data.length, records: 0 };
    this.segments.push(segment);
    this.totalBytes += data.length;
    this.active = { segment, fd, unsynced: true };
    this.dirUnsynced = true;
    this.writes++;
  }

  private writeActive(data: Buffer): void {
    const active = this.active!;
    try {
      writeAllSync(active.fd, data, active.segment.size);
    } catch (err) {
      // Cut off whatever part landed and append no more to this file.
      try {
        fs.ftruncateSync(active.fd, active.segment.size);
      } catch {
        // a partial record stays: the next open skips it as damage
      }
      this.closeActive();
      throw ioError(`cannot write to ${this.name}`, err);
    }
    active.segment.size += data.length;
    active.segment.end = active.segment.size;
    active.unsynced = true;
    this.writes++;
    this.totalBytes += data.length;
  }

  private sealActive(): void {
    const active = this.active;
    if (!active) return;
    try {
      if (this.fsync && active.unsynced) fs.fdatasyncSync(active.fd);
    } finally {
      this.closeActive();
    }
  }

  private closeActive(): void {
    if (!this.active) return;
    closeQuietly(this.active.fd);
    this.active = undefined;
  }

  private dropOldest(count: number): void {
    let dropped = 0;
    for (let i = 0; i < count && this.segments.length > 0; i++) {
      dropped += this.unreleasedRecords(this.segments[0]);
      this.deleteOldest();
    }
    if (dropped === 0) return;
    this.dropped += dropped;
    this.onDrop?.(dropped);
  }

  private deleteOldest(): void {
    const oldest = this.segments[0];
    if (oldest === this.active?.segment) this.closeActive();
    // Off the disk first: a segment forgotten but left on disk would come back at the next open.
    fs.rmSync(oldest.file, { force: true });
    this.segments.shift();
    this.totalBytes -= oldest.size;
  }

  /** Records of `segment` at or after the release position. */
  private unreleasedRecords(segment: Segment): number {
    if (segment.id < this.releasedTo.segment) return 0;
    if (segment.id > this.releasedTo.segment || this.releasedTo.offset <= FILE_HEADER_BYTES) return segment.records;
    // Only the segment the release position lies in: count the records from there on.
    let count = 0;
    const own = this.active?.segment !== segment;
    let fd: number;
    try {
      fd = own ? fs.openSync(segment.file, 'r') : this.active!.fd;
    } catch {
      return segment.records;
    }
    try {
      let pos = this.releasedTo.offset;
      while (pos + RECORD_HEADER_BYTES <= segment.end) {
        const head = readAtSync(fd, pos, RECORD_HEADER_BYTES);
        if (head.length < RECORD_HEADER_BYTES) break;
        const length = head.readUInt32LE(0);
        if (length < 1 || pos + RECORD_HEADER_BYTES + length > segment.end) break;
        count++;
        pos += RECORD_HEADER_BYTES + length;
      }
    } finally {
      if (own) closeQuietly(fd);
    }
    return count;
  }

  private readSegment(
    segment: Segment,
    offset: number,
    out: LogRecord[],
    maxRecords: number,
    budget: { bytes: number; full: boolean },
  ): void {
    const own = this.active?.segment !== segment;
    let fd: number | undefined;
    try {
      fd = own ? fs.openSync(segment.file, 'r') : this.active!.fd;
      let pos = offset;
      let readBytes = FIRST_READ_BYTES;
      while (pos < segment.end && out.length < maxRecords) {
        let chunk = readAtSync(fd, pos, Math.min(segment.end - pos, readBytes));
        readBytes = Math.min(2 * readBytes, MAX_READ_BYTES);
        let p = 0;
        let broken = false;
        while (out.length < maxRecords) {
          if (chunk.length - p < RECORD_HEADER_BYTES) {
            // At the chunk's start this means the file ends before its records do.
            broken = p === 0;
            break;
          }
          const length = chunk.readUInt32LE(p);
          const next = pos + p + RECORD_HEADER_BYTES + length;
          if (length < 1 || length > this.maxRecordBytes || next > segment.end) {
            broken = true;
            break;
          }
          if (p + RECORD_HEADER_BYTES + length > chunk.length) {
            if (p > 0) break; // read on from this record
            chunk = readAtSync(fd, pos, RECORD_HEADER_BYTES + length);
            if (chunk.length < RECORD_HEADER_BYTES + length) {
              broken = true;
              break;
            }
          }
          const payload = chunk.subarray(p + RECORD_HEADER_BYTES, p + RECORD_HEADER_BYTES + length);
          if (zlib.crc32(payload) !== chunk.readUInt32LE(p + 4)) {
            this.markCorrupt(segment.id, pos + p);
          } else {
            if (out.length > 0 && length > budget.bytes) {
              budget.full = true;
              return;
            }
            budget.bytes -= length;
            out.push({
              position: { segment: segment.id, offset: pos + p },
              next: { segment: segment.id, offset: next },
              payload,
            });
          }
          p += RECORD_HEADER_BYTES + length;
          if (pos + p >= segment.end) break;
        }
        if (broken) {
          // Damage since open: the rest of this segment cannot be walked.
          this.markCorrupt(segment.id, pos + p);
          return;
        }
        pos += p;
      }
    } catch (err) {
      this.log.warn({ file: segment.file, err: (err as Error).message }, `${this.name} segment unreadable, skipped`);
    } finally {
      if (own && fd !== undefined) closeQuietly(fd);
    }
  }

  private markCorrupt(segment: number, offset: number): void {
    const key = `${segment}:${offset}`;
    if (this.corruptSeen.has(key)) return;
    this.corruptSeen.add(key);
    this.corrupt++;
  }
}

const fdatasync = promisify(fs.fdatasync);

function ioError(message: string, cause: unknown): XimpError {
  return new XimpError(ErrorCodes.SEGMENT_LOG_IO, `${message}: ${(cause as Error).message}`, { cause });
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed; nothing to release
  }
}

function truncateFile(file: string, length: number, sync: boolean): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.ftruncateSync(fd, length);
    if (sync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
