import { Backoff, ErrorCodes, hasCode, type Logger, type ThrottledLog } from '@ximp/shared';
import type { QueuedBatch, ShardQueue } from './forward-queue';
import { RemoteWriteNetworkError, type RemoteWriteResponse } from './remote-write-client';
import { EncoderLostError, type RequestEncoder } from './request-encoder';
import type { RemoteWriteCounters, RequestOutcome } from './remote-write-stats';

/** Remote write's retry delays (SPEC §9, as Prometheus' own sender): 30 ms doubling to 5 s, full jitter. */
export const RETRY_INITIAL_MS = 30;
export const RETRY_MAX_MS = 5_000;
/** A store's `Retry-After` is honoured up to this. */
export const RETRY_AFTER_CAP_MS = 5 * 60_000;

/** Prometheus' and other receivers' words for a sample they already hold or cannot take in order. */
const ALREADY_STORED = /out[ -]of[ -]order|duplicate sample/i;

/** What a shard sender posts through (RemoteWriteClient, or a fault-injecting fake). */
export interface RemoteWriteTransport {
  send(body: Uint8Array, signal?: AbortSignal): Promise<RemoteWriteResponse>;
}

export interface ShardSenderOptions {
  store: string;
  shard: number;
  queue: ShardQueue;
  encoder: RequestEncoder;
  transport: RemoteWriteTransport;
  maxSamplesPerRequest: number;
  counters: RemoteWriteCounters;
  log: Logger;
  /** Repeated failures: one line per store (and kind) per minute. */
  throttled: ThrottledLog;
  now?: () => number;
  /** Waits `ms`; resolves early (never rejects) when `signal` aborts. Injectable for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  onRequest?: (seconds: number, outcome: RequestOutcome) => void;
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** How the store settled a request (or that a repeat must be sent again batch by batch). */
type Settled =
  | { kind: 'accepted' | 'already_stored' | 'split' }
  | { kind: 'dropped'; reason: string; message: string; status: number | null };

type Verdict = { settled: Settled } | { delayMs: number };

/**
 * Sends one shard's queue, oldest first, one request at a time: peek, encode, POST, and only on
 * an outcome that settles the request (accepted, already stored, refused) confirm it. 5xx, 429
 * and network errors retry the same body after a backoff, so each series stays in order and
 * nothing queued is lost however long the store is away.
 */
export class ShardSender {
  private readonly stopping = new AbortController();
  /** Aborted only when stop's deadline passes with a request still under way. */
  private readonly requestAbort = new AbortController();
  private readonly backoff: Backoff;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private loop: Promise<void> | null = null;
  /** The last request's outcome could not be recorded: the next one may repeat it. */
  private repeatNext = false;

  constructor(private readonly o: ShardSenderOptions) {
    this.backoff = new Backoff({ initialMs: RETRY_INITIAL_MS, maxMs: RETRY_MAX_MS, random: o.random });
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? abortableSleep;
  }

  start(): void {
    if (this.loop !== null) return;
    this.loop = this.run().catch((err: unknown) => {
      // Nothing in run() is meant to throw; if it does, say so instead of losing the shard silently.
      this.o.log.error({ err, shard: this.o.shard }, 'remote-write shard sender stopped');
    });
  }

  /** Stops taking new requests; waits for the one under way up to `deadlineMs`, then aborts it (it stays queued). */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping.abort();
    if (this.loop === null) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.requestAbort.abort();
        resolve();
      }, deadlineMs);
    });
    await Promise.race([this.loop, deadline]);
    clearTimeout(timer);
    this.requestAbort.abort();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const replaying = this.o.queue.replaying || this.repeatNext;
        const next = this.o.queue.peek(this.o.maxSamplesPerRequest);
        if (next === undefined) {
          await this.o.queue.waitForData(this.stopping.signal);
          continue;
        }
        await this.deliver(next.batches, next.samples, next.end, replaying);
      } catch (err) {
        // The queue could not be read or its position not written (disk trouble): the request is
        // peeked and sent again later (after a failed confirm, as a repeat: see confirm()).
        await this.pause(this.backoff.next(), `remote-write queue failed: ${err instanceof Error ? err.message : String(err)}`, 'queue');
      }
    }
  }

  /**
   * One peeked request until it is settled, then confirmed; nothing is confirmed if the sender
   * stops first (it stays queued).
   */
  private async deliver(batches: QueuedBatch[], samples: number, end: unknown, replaying: boolean): Promise<void> {
    const first = await this.attempt(batches, samples, replaying, batches.length > 1);
    if (first === null) return;
    const results: [Settled, number][] = [];
    if (first.kind === 'split') {
      // A repeat refused as out of order may mix samples the store holds with ones it never got
      // (batches queued after the request it took before a restart), and the store rejected the
      // whole request: each batch alone tells which is which.
      for (const b of batches) {
        const r = await this.attempt([b], b.values.length, true, false);
        if (r === null) return;
        results.push([r, b.values.length]);
      }
    } else {
      results.push([first, samples]);
    }
    this.confirm(end);
    for (const [r, n] of results) this.count(r, n);
  }

  /** Sends until the store settles the request; null when the sender stops first. */
  private async attempt(batches: QueuedBatch[], samples: number, replaying: boolean, maySplit: boolean): Promise<Settled | null> {
    let body: Uint8Array | null = null;
    let attempts = 0;
    while (!this.stopped) {
      if (body === null) {
        try {
          body = await this.o.encoder.encode(batches);
        } catch (err) {
          if (this.stopped) return null;
          if (hasCode(err, ErrorCodes.REMOTE_WRITE_ENCODE) && !(err instanceof EncoderLostError)) {
            return { kind: 'dropped', reason: 'encode_error', message: (err as Error).message, status: null };
          }
          await this.pause(this.backoff.next(), `remote-write encoding failed: ${(err as Error).message}`, 'encoder');
          continue;
        }
      }
      const isRepeat = attempts > 0 || replaying;
      attempts++;
      if (attempts > 1) this.o.counters.retries++;
      const started = this.now();
      let response: RemoteWriteResponse | null = null;
      let failure: unknown = null;
      try {
        response = await this.o.transport.send(body, this.requestAbort.signal);
      } catch (err) {
        if (hasCode(err, ErrorCodes.STORE_STOPPED)) return null;
        failure = err;
      }
      const seconds = (this.now() - started) / 1000;
      const verdict = response !== null ? this.settle(response, isRepeat, maySplit, seconds) : this.networkFailure(failure, seconds);
      if ('settled' in verdict) {
        this.backoff.reset();
        return verdict.settled;
      }
      await this.sleep(verdict.delayMs, this.stopping.signal);
    }
    return null;
  }

  private settle(res: RemoteWriteResponse, isRepeat: boolean, maySplit: boolean, seconds: number): Verdict {
    const { store } = this.o;
    if (res.status >= 200 && res.status < 300) {
      this.observe(seconds, 'success');
      return { settled: { kind: 'accepted' } };
    }
    if (res.status === 429 || res.status >= 500 || res.status < 200) {
      const outcome: RequestOutcome = res.status === 429 ? 'throttled' : 'server_error';
      this.observe(seconds, outcome);
      this.o.counters.recordError(`store answered ${res.status}: ${res.message}`, this.now());
      this.o.throttled.report('warn', 'remote_write_retry', { store, status: res.status, message: res.message }, 'remote-write store failed a request; retrying', store);
      const honoured = (res.status === 429 || res.status === 503) && res.retryAfterMs !== undefined;
      const delayMs = honoured ? Math.min(res.retryAfterMs as number, RETRY_AFTER_CAP_MS) : this.backoff.next();
      return { delayMs };
    }
    if (res.status === 400 && isRepeat && ALREADY_STORED.test(res.message)) {
      // The store took this request before: a retry after a lost answer, or a replay after a
      // restart. Its samples are there, so this is not a loss.
      this.observe(seconds, 'already_stored');
      return { settled: { kind: maySplit ? 'split' : 'already_stored' } };
    }
    this.observe(seconds, 'rejected');
    return { settled: { kind: 'dropped', reason: `status_${res.status}`, message: res.message, status: res.status } };
  }

  /** Counts a settled (and confirmed) request; a drop is logged once a minute per store with the store's message. */
  private count(r: Settled, samples: number): void {
    const c = this.o.counters;
    if (r.kind === 'accepted') c.samplesForwarded += samples;
    else if (r.kind !== 'dropped') c.samplesAlreadyStored += samples;
    else {
      const { store } = this.o;
      c.countDropped(r.reason, samples);
      const line = r.status === null ? `request dropped (${r.reason}): ${r.message}` : `store refused a request with ${r.status}: ${r.message}`;
      c.recordError(line, this.now());
      this.o.throttled.report('warn', 'remote_write_dropped', { store, reason: r.reason, status: r.status, message: r.message, samples }, 'remote-write store refused a request; its samples are dropped', store);
    }
  }

  private networkFailure(err: unknown, seconds: number): Verdict {
    const { store } = this.o;
    const kind = err instanceof RemoteWriteNetworkError ? err.kind : 'reset';
    const message = err instanceof Error ? err.message : String(err);
    this.observe(seconds, kind);
    this.o.counters.recordError(message, this.now());
    this.o.throttled.report('warn', `remote_write_${kind}`, { store, kind, err: message }, 'remote-write request got no answer; retrying', store);
    return { delayMs: this.backoff.next() };
  }

  /** Advances the queue; if that throws, the store may already hold the request sent again. */
  private confirm(end: unknown): void {
    this.repeatNext = true;
    this.o.queue.confirm(end);
    this.repeatNext = false;
  }

  private async pause(delayMs: number, line: string, kind: string): Promise<void> {
    this.o.counters.recordError(line, this.now());
    this.o.throttled.report('warn', `remote_write_${kind}`, { store: this.o.store, err: line }, 'remote-write request not sent; retrying', this.o.store);
    await this.sleep(delayMs, this.stopping.signal);
  }

  private observe(seconds: number, outcome: RequestOutcome): void {
    this.o.counters.countRequest(outcome);
    try {
      this.o.onRequest?.(seconds, outcome);
    } catch (err) {
      this.o.log.warn({ err }, 'remote-write request observer failed');
    }
  }
}
