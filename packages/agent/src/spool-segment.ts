import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as zlib from 'node:zlib';
import { ErrorCodes, XimpError } from '@ximp/shared';

/**
 * The spool's on-disk format, kept pure apart from a few file helpers at the bottom.
 *
 * A segment file is an 8-byte header (`XSPOOL` + u16 format version) followed by records.
 * A record is `[u32 payload length][u32 crc32 of payload][payload]`, little endian. The same
 * record framing serves the series table (series.log) with its own header.
 *
 * Format 2 segments begin with a stream record, so that every segment names the stream its
 * batches belong to even when stream.json is lost (format 1 segments, from older agents, do not):
 *   u8 format = 2, 3 zero bytes, u32 stream id length L (1..64),
 *   f64 acknowledged sequence, f64 dropped total (both as of the segment's creation),
 *   64 bytes: the stream id (ASCII), zero padded.
 *
 * A batch payload (format 1) is laid out so that every field is fixed-size:
 *   u8 format = 1, 3 zero bytes, u32 sample count n,
 *   f64 sequence, f64 timestamp (unix ms), f64[n] values, u32[n] series ids.
 * Length is therefore exactly 24 + 12n; anything else is corrupt.
 */

/** One batch as the spool holds it: series are referenced by their stream-local ids. */
export interface SpooledBatch {
  sequence: number;
  timestampUnixMs: number;
  seriesIds: number[];
  values: number[];
}

export const RECORD_HEADER_BYTES = 8;
export const FILE_HEADER_BYTES = 8;
export const SEGMENT_HEADER = fileHeader('XSPOOL', 2);
/** Segments written before stream records existed; still read. */
export const SEGMENT_HEADER_V1 = fileHeader('XSPOOL', 1);
export const BATCH_FORMAT = 1;
export const BATCH_FIXED_BYTES = 24;
export const STREAM_RECORD_FORMAT = 2;
const STREAM_ID_FIELD_BYTES = 64;
const STREAM_PAYLOAD_BYTES = 24 + STREAM_ID_FIELD_BYTES;
/** The bytes of a stream record, header included. */
export const STREAM_RECORD_BYTES = RECORD_HEADER_BYTES + STREAM_PAYLOAD_BYTES;
/** Where a new segment's first batch begins: after its header and its stream record. */
export const SEGMENT_START_BYTES = FILE_HEADER_BYTES + STREAM_RECORD_BYTES;

const SEGMENT_NAME = /^(\d{16})\.seg$/;
// Typed arrays use the machine's byte order; the format is little endian.
const LITTLE_ENDIAN = os.endianness() === 'LE';

/** An 8-byte file header: a 6-character magic and a u16 format version. */
export function fileHeader(magic: string, version: number): Buffer {
  if (magic.length !== 6) throw new RangeError('file magic must be 6 characters');
  const header = Buffer.alloc(FILE_HEADER_BYTES);
  header.write(magic, 0, 'latin1');
  header.writeUInt16LE(version, 6);
  return header;
}

/** The bytes a batch takes on disk, record header included. */
export function batchRecordBytes(sampleCount: number): number {
  return RECORD_HEADER_BYTES + BATCH_FIXED_BYTES + 12 * sampleCount;
}

function invalidBatch(message: string): XimpError {
  return new XimpError(ErrorCodes.SPOOL_INVALID_BATCH, message);
}

/** Checks what the format can hold; throws XIMP_ERR_SPOOL_INVALID_BATCH otherwise. */
export function validateBatch(batch: SpooledBatch): void {
  if (!Number.isSafeInteger(batch.sequence) || batch.sequence < 1) {
    throw invalidBatch(`batch sequence must be a positive integer (actual: ${String(batch.sequence)})`);
  }
  if (!Number.isFinite(batch.timestampUnixMs)) throw invalidBatch('batch timestamp must be a finite number');
  if (!Array.isArray(batch.seriesIds) || !Array.isArray(batch.values) || batch.seriesIds.length !== batch.values.length) {
    throw invalidBatch('batch must carry as many series ids as values');
  }
  for (const id of batch.seriesIds) {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw invalidBatch(`series id out of range (actual: ${String(id)})`);
  }
}

/** Encodes a validated batch into a record payload. */
export function encodeBatch(batch: SpooledBatch): Buffer {
  const n = batch.values.length;
  const buf = Buffer.allocUnsafe(BATCH_FIXED_BYTES + 12 * n);
  buf.writeUInt32LE(BATCH_FORMAT, 0); // format byte followed by three zero bytes
  buf.writeUInt32LE(n, 4);
  buf.writeDoubleLE(batch.sequence, 8);
  buf.writeDoubleLE(batch.timestampUnixMs, 16);
  if (LITTLE_ENDIAN) {
    const body = new ArrayBuffer(12 * n);
    new Float64Array(body, 0, n).set(batch.values);
    new Uint32Array(body, 8 * n, n).set(batch.seriesIds);
    buf.set(new Uint8Array(body), BATCH_FIXED_BYTES);
    return buf;
  }
  let at = BATCH_FIXED_BYTES;
  for (let i = 0; i < n; i++, at += 8) buf.writeDoubleLE(batch.values[i], at);
  for (let i = 0; i < n; i++, at += 4) buf.writeUInt32LE(batch.seriesIds[i], at);
  return buf;
}

function corrupt(message: string): XimpError {
  return new XimpError(ErrorCodes.SPOOL_CORRUPT, message);
}

/** Decodes a record payload; throws XIMP_ERR_SPOOL_CORRUPT when it is not a batch of format 1. */
export function decodeBatch(payload: Uint8Array): SpooledBatch {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (buf.length < BATCH_FIXED_BYTES) throw corrupt('batch record is too short');
  if (buf.readUInt32LE(0) !== BATCH_FORMAT) throw corrupt('batch record has an unknown format');
  const n = buf.readUInt32LE(4);
  if (buf.length !== BATCH_FIXED_BYTES + 12 * n) throw corrupt('batch record length does not match its sample count');
  const sequence = buf.readDoubleLE(8);
  const timestampUnixMs = buf.readDoubleLE(16);
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw corrupt('batch record has an invalid sequence');
  if (!Number.isFinite(timestampUnixMs)) throw corrupt('batch record has an invalid timestamp');
  if (LITTLE_ENDIAN) {
    // Copy into a fresh (hence aligned) buffer so the samples can be viewed as typed arrays.
    const body = new Uint8Array(12 * n);
    body.set(buf.subarray(BATCH_FIXED_BYTES));
    const f64 = new Float64Array(body.buffer, 0, n);
    const u32 = new Uint32Array(body.buffer, 8 * n, n);
    const values = new Array<number>(n);
    const seriesIds = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      values[i] = f64[i];
      seriesIds[i] = u32[i];
    }
    return { sequence, timestampUnixMs, seriesIds, values };
  }
  const values = new Array<number>(n);
  const seriesIds = new Array<number>(n);
  let at = BATCH_FIXED_BYTES;
  for (let i = 0; i < n; i++, at += 8) values[i] = buf.readDoubleLE(at);
  for (let i = 0; i < n; i++, at += 4) seriesIds[i] = buf.readUInt32LE(at);
  return { sequence, timestampUnixMs, seriesIds, values };
}

/** What a segment's stream record says: whose batches it holds, and the stream's state when it began. */
export interface StreamRecord {
  streamId: string;
  ackedSequence: number;
  droppedTotal: number;
}

/** The format word every record payload starts with (BATCH_FORMAT or STREAM_RECORD_FORMAT). */
export function payloadFormat(payload: Uint8Array): number {
  return payload.byteLength < 4 ? -1 : Buffer.from(payload.buffer, payload.byteOffset, 4).readUInt32LE(0);
}

/** Encodes a stream record payload; the stream id is 1 to 64 ASCII characters. */
export function encodeStreamRecord(record: StreamRecord): Buffer {
  const id = Buffer.from(record.streamId, 'latin1');
  if (id.length < 1 || id.length > STREAM_ID_FIELD_BYTES) throw new RangeError('stream id must be 1 to 64 characters');
  const buf = Buffer.alloc(STREAM_PAYLOAD_BYTES);
  buf.writeUInt32LE(STREAM_RECORD_FORMAT, 0);
  buf.writeUInt32LE(id.length, 4);
  buf.writeDoubleLE(record.ackedSequence, 8);
  buf.writeDoubleLE(record.droppedTotal, 16);
  id.copy(buf, 24);
  return buf;
}

/** Decodes a stream record payload; throws XIMP_ERR_SPOOL_CORRUPT when it is not one. */
export function decodeStreamRecord(payload: Uint8Array): StreamRecord {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (buf.length !== STREAM_PAYLOAD_BYTES || buf.readUInt32LE(0) !== STREAM_RECORD_FORMAT) throw corrupt('not a stream record');
  const length = buf.readUInt32LE(4);
  const ackedSequence = buf.readDoubleLE(8);
  const droppedTotal = buf.readDoubleLE(16);
  if (length < 1 || length > STREAM_ID_FIELD_BYTES) throw corrupt('stream record has an invalid stream id length');
  if (!Number.isSafeInteger(ackedSequence) || ackedSequence < 0 || !Number.isSafeInteger(droppedTotal) || droppedTotal < 0) {
    throw corrupt('stream record has invalid counters');
  }
  return { streamId: buf.toString('latin1', 24, 24 + length), ackedSequence, droppedTotal };
}

/** True when `image` starts with a segment header this agent reads (format 1 or 2). */
export function hasSegmentHeader(image: Buffer): boolean {
  if (image.length < FILE_HEADER_BYTES) return false;
  const header = image.subarray(0, FILE_HEADER_BYTES);
  return header.equals(SEGMENT_HEADER) || header.equals(SEGMENT_HEADER_V1);
}

/** Frames a payload as one checksummed record. */
export function encodeRecord(payload: Uint8Array): Buffer {
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.byteLength);
  record.writeUInt32LE(payload.byteLength, 0);
  record.writeUInt32LE(zlib.crc32(payload), 4);
  record.set(payload, RECORD_HEADER_BYTES);
  return record;
}

export type RecordAt =
  | { kind: 'ok'; payloadStart: number; next: number }
  | { kind: 'bad_crc'; next: number }
  | { kind: 'incomplete' }
  | { kind: 'bad_length' };

/** Reads the record header at `pos` and checks its length and checksum. */
export function recordAt(buf: Buffer, pos: number, minPayload: number, maxPayload: number): RecordAt {
  if (buf.length - pos < RECORD_HEADER_BYTES) return { kind: 'incomplete' };
  const length = buf.readUInt32LE(pos);
  // A zero-filled tail (a crash after the file grew but before data landed) has length 0.
  if (length < minPayload || length > maxPayload) return { kind: 'bad_length' };
  const payloadStart = pos + RECORD_HEADER_BYTES;
  const next = payloadStart + length;
  if (next > buf.length) return { kind: 'incomplete' };
  const crc = buf.readUInt32LE(pos + 4);
  if (zlib.crc32(buf.subarray(payloadStart, next)) !== crc) return { kind: 'bad_crc', next };
  return { kind: 'ok', payloadStart, next };
}

export interface ScannedRecord {
  /** Offset of the record header in the file. */
  offset: number;
  payload: Buffer;
  /** Records skipped as corrupt right before this one. */
  skippedBefore: number;
}

export interface ScanResult {
  records: ScannedRecord[];
  /** Where the readable part ends; less than the file length when the rest could not be read. */
  end: number;
  /** Corrupt records skipped after the last good one (before `end`). */
  skippedAtEnd: number;
}

/**
 * Walks the records of a file image from `start`. A record whose checksum fails is skipped when
 * its length field still leads to a valid record (or exactly to the end), so one flipped payload
 * byte costs one record; any other damage ends the readable part at that record.
 */
export function scanRecords(buf: Buffer, start: number, minPayload: number, maxPayload: number): ScanResult {
  const records: ScannedRecord[] = [];
  let pos = start;
  let skipped = 0;
  while (pos < buf.length) {
    const r = recordAt(buf, pos, minPayload, maxPayload);
    if (r.kind === 'ok') {
      records.push({ offset: pos, payload: buf.subarray(r.payloadStart, r.next), skippedBefore: skipped });
      skipped = 0;
      pos = r.next;
      continue;
    }
    if (r.kind === 'bad_crc' && (r.next === buf.length || recordAt(buf, r.next, minPayload, maxPayload).kind === 'ok')) {
      skipped++;
      pos = r.next;
      continue;
    }
    break;
  }
  return { records, end: pos, skippedAtEnd: skipped };
}

export function segmentFileName(id: number): string {
  return `${String(id).padStart(16, '0')}.seg`;
}

/** The segment id of a file name, or null when the name is not a segment's. */
export function parseSegmentFileName(name: string): number | null {
  const m = SEGMENT_NAME.exec(name);
  return m ? Number(m[1]) : null;
}

/** Makes a directory entry change (create, rename, unlink) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, fs.constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes all of `data` at `position` (a positional write may be short). */
export async function writeAll(handle: fsp.FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** Reads `length` bytes at `position` of an open file descriptor, synchronously. */
export function readExactSync(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw corrupt('spool record ends before its length');
    done += n;
  }
  return buf;
}

/** Writes a file atomically (temp file, fsync, rename, fsync of the directory). */
export async function writeFileAtomic(file: string, dir: string, data: string | Buffer, sync: boolean): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await fsp.open(tmp, 'w', 0o600);
  try {
    try {
      await handle.writeFile(data);
      if (sync) await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, file);
  } catch (err) {
    // A half-written temp file on a full disk holds the very space a retry needs.
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  if (sync) await fsyncDir(dir);
}
