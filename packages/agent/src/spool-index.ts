import { FILE_HEADER_BYTES, comparePositions, type LogDamage, type LogPosition, type LogRecord, type SegmentLog } from '@ximp/shared';
import { STREAM_RECORD_FORMAT, decodeBatchHeader, decodeStreamRecord, payloadFormat, type SpooledBatch, type StreamRecord } from './spool-segment';
import { STREAM_ID } from './spool-stream-state';

/** Where an unacknowledged batch lies in the log; the batch itself is read back on demand. */
export interface SpoolEntry {
  sequence: number;
  position: LogPosition;
  /** Record bytes, header included. */
  bytes: number;
  /** Found unreadable on read-back and counted as dropped (once). */
  unreadable?: boolean;
  /**
   * The batch as appended, held from its fsync until pending() first returns it: the newest
   * batches go out without being read back from the disk they were just written to.
   */
  fresh?: SpooledBatch;
}

/** A record of the spool's log as open() found it, without its payload. */
export type ScannedRecord =
  | { kind: 'batch'; position: LogPosition; sequence: number; bytes: number }
  | { kind: 'stream'; position: LogPosition; stream: StreamRecord }
  | { kind: 'bad'; position: LogPosition };

export interface SpoolIndex {
  /** The batches above the acknowledged sequence, in order. */
  entries: SpoolEntry[];
  pendingBytes: number;
  /** Batches lost to damage, not counted before. */
  lost: number;
  checkedSequence: number;
  /** The highest intact batch sequence, if any. */
  lastSequence: number | undefined;
}

// Records asked of the log at a time.
const SCAN_PAGE = 4096;

/** Every record of the log, oldest first, reduced to what indexing needs. */
export function scanSpool(segments: SegmentLog): ScannedRecord[] {
  const scanned: ScannedRecord[] = [];
  let from = segments.start();
  for (;;) {
    const page = segments.read(from, SCAN_PAGE);
    if (page.length === 0) return scanned;
    for (const record of page) scanned.push(describe(record));
    from = page[page.length - 1].next;
  }
}

function describe(record: LogRecord): ScannedRecord {
  const { position, payload } = record;
  try {
    if (payloadFormat(payload) === STREAM_RECORD_FORMAT) return { kind: 'stream', position, stream: decodeStreamRecord(payload) };
    return { kind: 'batch', position, sequence: decodeBatchHeader(payload).sequence, bytes: record.next.offset - position.offset };
  } catch {
    return { kind: 'bad', position };
  }
}

/**
 * The stream named by the newest segment that begins with a stream record, with its acknowledged
 * sequence and dropped count as of that segment's creation (the collector's Welcome tells the
 * rest). Undefined when no segment has one (none left, or written by an older agent).
 */
export function recoverStream(scanned: readonly ScannedRecord[]): StreamRecord | undefined {
  for (let i = scanned.length - 1; i >= 0; i--) {
    const record = scanned[i];
    // Only a segment's very first record (nothing damaged before it) names its stream.
    if (record.kind !== 'stream' || record.position.offset !== FILE_HEADER_BYTES) continue;
    if (STREAM_ID.test(record.stream.streamId)) return record.stream;
  }
  return undefined;
}

/**
 * Indexes the pending batches. Batches lost to damage are counted from the gap in sequence
 * numbers around it (the agent numbers batches without holes), else one per skipped record;
 * only sequences above the acknowledged and the already checked ones count.
 */
export function indexSpool(
  scanned: readonly ScannedRecord[],
  damage: readonly LogDamage[],
  ackedSequence: number,
  checkedSequence: number,
): SpoolIndex {
  const entries: SpoolEntry[] = [];
  let pendingBytes = 0;
  let nextDamage = 0;
  let lastGood: number | undefined;
  let damaged = false;
  let skipped = 0;
  let lost = 0;
  let checked = checkedSequence;
  // Counts the sequences in (lo, hi] not yet acknowledged or counted.
  const count = (lo: number, hi: number): void => {
    lost += Math.max(0, hi - Math.max(lo, ackedSequence, checked));
    checked = Math.max(checked, hi);
  };
  const settle = (next: number | undefined): void => {
    if (damaged) {
      if (next === undefined) {
        const lo = lastGood ?? ackedSequence;
        count(lo, lo + skipped);
      } else {
        count(lastGood ?? next - 1 - skipped, next - 1);
      }
    }
    damaged = false;
    skipped = 0;
  };
  // Takes in the damage the log found before `position` (all that is left when undefined).
  const passDamage = (position: LogPosition | undefined): void => {
    while (nextDamage < damage.length && (!position || comparePositions(damage[nextDamage].position, position) < 0)) {
      damaged = true;
      skipped += damage[nextDamage++].records;
    }
  };

  for (const record of scanned) {
    passDamage(record.position);
    if (record.kind === 'stream') continue;
    if (record.kind === 'bad' || (lastGood !== undefined && record.sequence <= lastGood)) {
      damaged = true;
      skipped++;
      continue;
    }
    settle(record.sequence);
    lastGood = record.sequence;
    if (record.sequence > ackedSequence) {
      entries.push({ sequence: record.sequence, position: record.position, bytes: record.bytes });
      pendingBytes += record.bytes;
    }
  }
  passDamage(undefined);
  settle(undefined);
  if (lastGood !== undefined) checked = Math.max(checked, lastGood);
  return { entries, pendingBytes, lost, checkedSequence: checked, lastSequence: lastGood };
}
