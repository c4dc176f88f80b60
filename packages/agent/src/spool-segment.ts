import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import { ErrorCodes, FILE_HEADER_BYTES, RECORD_HEADER_BYTES, XimpError, fileHeader, fsyncDir } from '@ximp/shared';

/**
 * What the spool puts in the records of its segment log (packages/shared/src/segment-log: segment
 * files with an 8-byte header, `XSPOOL` + u16 format version, and records
 * `[u32 payload length][u32 crc32 of payload][payload]`), kept pure apart from two async file
 * helpers at the bottom.
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

export const SEGMENT_MAGIC = 'XSPOOL';
export const SEGMENT_VERSION = 2;
/** Segments written before stream records existed; still read. */
export const SEGMENT_VERSION_V1 = 1;
export const SEGMENT_HEADER = fileHeader(SEGMENT_MAGIC, SEGMENT_VERSION);
export const SEGMENT_HEADER_V1 = fileHeader(SEGMENT_MAGIC, SEGMENT_VERSION_V1);
export const BATCH_FORMAT = 1;
export const BATCH_FIXED_BYTES = 24;
export const STREAM_RECORD_FORMAT = 2;
const STREAM_ID_FIELD_BYTES = 64;
const STREAM_PAYLOAD_BYTES = 24 + STREAM_ID_FIELD_BYTES;
/** The bytes of a stream record, header included. */
export const STREAM_RECORD_BYTES = RECORD_HEADER_BYTES + STREAM_PAYLOAD_BYTES;
/** Where a new segment's first batch begins: after its header and its stream record. */
export const SEGMENT_START_BYTES = FILE_HEADER_BYTES + STREAM_RECORD_BYTES;

// Typed arrays use the machine's byte order; the format is little endian.
const LITTLE_ENDIAN = os.endianness() === 'LE';

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
  const ids = batch.seriesIds;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
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

/**
 * The fixed fields of a batch payload, checked as decodeBatch() checks them, without copying the
 * samples; throws XIMP_ERR_SPOOL_CORRUPT when it is not a batch of format 1.
 */
export function decodeBatchHeader(payload: Uint8Array): { sequence: number; timestampUnixMs: number; sampleCount: number } {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (buf.length < BATCH_FIXED_BYTES) throw corrupt('batch record is too short');
  if (buf.readUInt32LE(0) !== BATCH_FORMAT) throw corrupt('batch record has an unknown format');
  const sampleCount = buf.readUInt32LE(4);
  if (buf.length !== BATCH_FIXED_BYTES + 12 * sampleCount) throw corrupt('batch record length does not match its sample count');
  const sequence = buf.readDoubleLE(8);
  const timestampUnixMs = buf.readDoubleLE(16);
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw corrupt('batch record has an invalid sequence');
  if (!Number.isFinite(timestampUnixMs)) throw corrupt('batch record has an invalid timestamp');
  return { sequence, timestampUnixMs, sampleCount };
}

/** Decodes a record payload; throws XIMP_ERR_SPOOL_CORRUPT when it is not a batch of format 1. */
export function decodeBatch(payload: Uint8Array): SpooledBatch {
  const { sequence, timestampUnixMs, sampleCount: n } = decodeBatchHeader(payload);
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
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

/** Writes all of `data` at `position` (a positional write may be short). */
export async function writeAll(handle: fsp.FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
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
