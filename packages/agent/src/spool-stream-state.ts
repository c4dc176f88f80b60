import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ErrorCodes, XimpError, type Logger } from '@ximp/shared';
import { writeAll, writeFileAtomic } from './spool-segment';

/** stream.json: what the spool must keep across a restart besides the segments themselves. */
export interface StreamState {
  version: 1;
  streamId: string;
  /** Everything <= this was acknowledged by the collector. */
  ackedSequence: number;
  droppedTotal: number;
  /** Sequences up to here were already checked for damage: a loss is counted only once. */
  checkedSequence: number;
}

export const STREAM_STATE_FILE = 'stream.json';
export const STREAM_ID = /^[A-Za-z0-9_-]{16,64}$/;

export function newStreamState(streamId: string): StreamState {
  return { version: 1, streamId, ackedSequence: 0, droppedTotal: 0, checkedSequence: 0 };
}

export function newStreamId(): string {
  return crypto.randomBytes(16).toString('base64url');
}

export function spoolIoError(message: string, cause: unknown): XimpError {
  return new XimpError(ErrorCodes.SPOOL_IO, `${message}: ${(cause as Error).message}`, { cause });
}

/** The stream state in `dir`, or undefined when there is none (or it is unreadable: a new stream). */
export async function readStreamState(dir: string, log: Logger): Promise<StreamState | undefined> {
  const file = path.join(dir, STREAM_STATE_FILE);
  await fsp.rm(`${file}.tmp`, { force: true });
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
      return { version: 1, streamId: s.streamId, ackedSequence: s.ackedSequence!, droppedTotal: s.droppedTotal!, checkedSequence: checked };
    }
  } catch {
    // reported below
  }
  log.warn({ file }, 'spool stream state unreadable, starting a new stream');
  return undefined;
}

/** Writes stream.json atomically; on a full disk in place. Throws XIMP_ERR_SPOOL_IO. */
export async function writeStreamState(dir: string, state: StreamState, sync: boolean): Promise<void> {
  const file = path.join(dir, STREAM_STATE_FILE);
  const text = `${JSON.stringify(state)}\n`;
  try {
    await writeFileAtomic(file, dir, text, sync);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOSPC' && code !== 'EDQUOT') throw spoolIoError('cannot write the spool state', err);
    // A full disk has no room for the temporary copy, but the file's own block is there. Torn
    // in place, stream.json reads as unreadable and the stream comes back from the segments.
    try {
      await overwriteInPlace(file, text, sync);
    } catch (again) {
      throw spoolIoError('cannot write the spool state', again);
    }
  }
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
