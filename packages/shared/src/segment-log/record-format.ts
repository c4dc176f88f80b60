import * as zlib from 'node:zlib';

/**
 * The segment log's on-disk framing, pure. A file begins with an 8-byte header (a 6-character
 * magic and a u16 format version); then records `[u32 payload length][u32 crc32 of payload]
 * [payload]`, little endian. A payload is never empty, so a zero-filled tail (a crash after the
 * file grew but before its data landed) never reads as records.
 */

export const FILE_HEADER_BYTES = 8;
export const RECORD_HEADER_BYTES = 8;

/** An 8-byte file header: a 6-character magic and a u16 format version. */
export function fileHeader(magic: string, version: number): Buffer {
  if (magic.length !== 6 || Buffer.byteLength(magic, 'latin1') !== 6) throw new RangeError('file magic must be 6 characters');
  if (!Number.isInteger(version) || version < 0 || version > 0xffff) throw new RangeError('file version must be a u16');
  const header = Buffer.alloc(FILE_HEADER_BYTES);
  header.write(magic, 0, 'latin1');
  header.writeUInt16LE(version, 6);
  return header;
}

/** The bytes a record with a payload of `payloadBytes` takes on disk, header included. */
export function recordBytes(payloadBytes: number): number {
  return RECORD_HEADER_BYTES + payloadBytes;
}

/** Frames a payload as one checksummed record. */
export function encodeRecord(payload: Uint8Array): Buffer {
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.byteLength);
  writeRecord(record, 0, payload);
  return record;
}

/** Frames `payload` into `target` at `at`; returns the offset after it. */
export function writeRecord(target: Buffer, at: number, payload: Uint8Array): number {
  target.writeUInt32LE(payload.byteLength, at);
  target.writeUInt32LE(zlib.crc32(payload), at + 4);
  target.set(payload, at + RECORD_HEADER_BYTES);
  return at + RECORD_HEADER_BYTES + payload.byteLength;
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
