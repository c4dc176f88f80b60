import type * as http from 'node:http';

/** Bytes a stream may have waiting in its socket before it is dropped as too slow. */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

/**
 * One `text/event-stream` answer (the HTML Living Standard's server-sent events). Writes never
 * wait: a reader that does not keep up has its stream cut (dropIfBehind) once more than
 * `maxBufferedBytes` still wait in its socket when the next pass of events begins, rather than
 * the server buffering for it without end. One pass may pass the bound (a whole fleet changing at
 * once); what stays unread across passes may not.
 */
export class EventStream {
  private ended = false;

  constructor(
    private readonly res: http.ServerResponse,
    private readonly maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES,
    /** Told once when the stream ends, however it ends; `slow` when it was cut for falling behind. */
    private readonly onEnd: (slow: boolean) => void = () => undefined,
  ) {
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    // The stream is long-lived: a proxy must not hold it back to buffer it.
    res.setHeader('X-Accel-Buffering', 'no');
    res.on('close', () => this.finish(false));
    res.flushHeaders();
  }

  get closed(): boolean {
    return this.ended;
  }

  /** `event: <name>` with `data: <JSON>`; false when the stream is (now) closed. */
  send(event: string, data: unknown): boolean {
    // JSON.stringify never yields a line break outside strings, where it writes \n: one data line.
    return this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** A comment line, which clients ignore: keeps proxies and the connection from idling out. */
  comment(text: string): boolean {
    return this.write(`: ${text.replace(/[\r\n]/g, ' ')}\n\n`);
  }

  /** Ends the answer normally. */
  close(): void {
    if (this.ended) return;
    this.res.end();
    this.finish(false);
  }

  /** Cuts the stream when more than the bound still waits unsent; true when it was cut. */
  dropIfBehind(): boolean {
    if (this.ended || this.res.writableLength <= this.maxBufferedBytes) return false;
    this.finish(true);
    this.res.destroy();
    return true;
  }

  private write(text: string): boolean {
    if (this.ended || this.res.destroyed) return false;
    this.res.write(text);
    return true;
  }

  private finish(slow: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(slow);
  }
}
