import type * as http from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** A response body written a chunk at a time; `close()` runs once when writing ends, however it ends. */
export interface ChunkStream {
  chunks: Iterable<string>;
  close(): void;
}

/** A reader that takes nothing for this long loses its connection (and the answer's slot). */
export const STREAM_STALL_TIMEOUT_MS = 30_000;

/**
 * Sends `stream` chunked, waiting for `drain` whenever the socket's buffer is full and giving the
 * event loop a turn between chunks, so a large answer neither holds the loop nor piles up in
 * memory for a slow reader. A reader that stalls is cut off after STREAM_STALL_TIMEOUT_MS.
 */
export async function sendStream(
  res: http.ServerResponse,
  status: number,
  stream: ChunkStream,
  contentType: string,
  stallTimeoutMs = STREAM_STALL_TIMEOUT_MS,
): Promise<void> {
  try {
    res.statusCode = status;
    res.setHeader('Content-Type', contentType);
    res.setTimeout(stallTimeoutMs, () => res.destroy());
    for (const chunk of stream.chunks) {
      if (res.destroyed) return;
      if (res.write(chunk)) await nextTurn();
      else if (!(await drained(res))) return;
    }
    res.end();
  } finally {
    stream.close();
  }
}

/** True once the response can take more, false when its connection closed first. */
function drained(res: http.ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = (): void => done(true);
    const onClose = (): void => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
