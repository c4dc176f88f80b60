// Reads a server-sent event stream over real TLS 1.3 (not itself a test).
import * as https from 'node:https';
import type * as http from 'node:http';

export interface ServerEvent {
  event: string;
  data: unknown;
  /** performance.now() when it arrived. */
  at: number;
}

export interface EventStreamClient {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: ServerEvent[];
  comments: string[];
  /** The body as read so far (for a refusal's JSON). */
  text(): string;
  /** Resolves when the server ended the stream (or it broke). */
  ended: Promise<void>;
  /** Resolves with the first event at or after `from` (index) that `match` accepts. */
  next(match: (e: ServerEvent) => boolean, timeoutMs?: number, from?: number): Promise<ServerEvent>;
  /** Stops reading (the socket stays open, so the server's buffer fills). */
  pause(): void;
  close(): void;
}

/** Opens `GET path` and parses `event:`/`data:` blocks and `:` comments as they arrive. */
export function openEventStream(
  target: { url: string; caPem: string | Buffer; servername?: string },
  path: string,
  bearer: string | null,
): Promise<EventStreamClient> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (bearer !== null) headers.Authorization = `Bearer ${bearer}`;
    const req = https.get(`${target.url}${path}`, { ca: target.caPem, servername: target.servername, minVersion: 'TLSv1.3', agent: false, headers });
    req.on('error', reject);
    req.on('response', (res) => {
      let buffer = '';
      let all = '';
      const events: ServerEvent[] = [];
      const comments: string[] = [];
      const waiters = new Set<() => void>();
      let endedResolve: () => void = () => undefined;
      const ended = new Promise<void>((r) => (endedResolve = r));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        all += chunk;
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data !== '') events.push({ event, data: JSON.parse(data), at: performance.now() });
        }
        for (const w of [...waiters]) w();
      });
      const finish = (): void => {
        endedResolve();
        for (const w of [...waiters]) w();
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
      let done = false;
      ended.then(() => (done = true), () => undefined);
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        comments,
        text: () => all,
        ended,
        next(match, timeoutMs = 5000, from = 0) {
          return new Promise((resolveEvent, rejectEvent) => {
            const check = (): boolean => {
              const found = events.slice(from).find(match);
              if (found) {
                cleanup();
                resolveEvent(found);
                return true;
              }
              if (done) {
                cleanup();
                rejectEvent(new Error('stream ended before the event arrived'));
                return true;
              }
              return false;
            };
            const timer = setTimeout(() => {
              cleanup();
              rejectEvent(new Error(`no matching event within ${timeoutMs} ms (got ${JSON.stringify(events.map((e) => e.event))})`));
            }, timeoutMs);
            const waiter = (): void => void check();
            const cleanup = (): void => {
              clearTimeout(timer);
              waiters.delete(waiter);
            };
            waiters.add(waiter);
            check();
          });
        },
        pause: () => res.pause(),
        close: () => req.destroy(),
      });
    });
  });
}
