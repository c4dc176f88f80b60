import { Backoff, ErrorCodes, hasCode, type Logger, type ThrottledLog } from '@ximp/shared';
import type { QueuedBatch, ShardQueue } from './queue-types';
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

type Verdict = { done: true } | { done: false; delayMs: number };

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
  /**
   * Batches of the first request after open still to be sent one a request. Prometheus refuses a
   * request whole when any sample in it is older than what it holds, and takes a repeat of a
   * series' newest sample silently; so when that replayed request is refused as a repeat, its
   * batches go again one by one, each refusal then meaning "already stored" for that batch alone.
   */
  private replayLeft = 0;

  constructor(private readonly o: ShardSenderOptions) {
    this.backoff = new Backoff({ initialMs: RETRY_INITIAL_MS, maxMs: RETRY_MAX_MS, random: o.random });
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? abortableSleep;
  }

  start(): void {
    if (this.loop !== null) return;
    this.loop = this.run().catch((err: unknown) => {
      // Nothing in run() is meant to throw; if it does, say so instead of losing the shard silently.
      this.o.log.error({ err, store: this.o.store, shard: this.o.shard }, 'remote-write shard sender stopped');
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
      const replaying = this.o.queue.replaying || this.replayLeft > 0;
      const next = this.o.queue.peek(this.replayLeft > 0 ? 1 : this.o.maxSamplesPerRequest);
      if (next === undefined) {
        await this.o.queue.waitForData(this.stopping.signal).catch(() => undefined);
        continue;
      }
      await this.send(next.batches, next.samples, next.end, replaying);
    }
  }

  /** One request until it is settled (confirmed) or the sender stops (it stays queued). */
  private async send(batches: QueuedBatch[], samples: number, end: unknown, replaying: boolean): Promise<void> {
    let body: Uint8Array | null = null;
    let attempts = 0;
    while (!this.stopped) {
      if (body === null) {
        try {
          body = await this.o.encoder.encode(batches);
        } catch (err) {
          if (this.stopped) return;
          if (hasCode(err, ErrorCodes.REMOTE_WRITE_ENCODE) && !(err instanceof EncoderLostError)) {
            this.drop('encode_error', samples, end, (err as Error).message, null);
            return;
          }
          await this.pause(this.backoff.next(), `remote-write encoding failed: ${(err as Error).message}`, 'encoder');
          continue;
        }
      }
      const isRepeat = attempts > 0 || replaying;
      attempts++;
      if (attempts > 1) this.o.counters.retries++;
      const started = this.now();
      let verdict: Verdict;
      try {
        const response = await this.o.transport.send(body, this.requestAbort.signal);
        verdict = this.settle(response, batches.length, samples, end, isRepeat, (this.now() - started) / 1000);
      } catch (err) {
        if (hasCode(err, ErrorCodes.STORE_STOPPED)) return;
        verdict = this.networkFailure(err, (this.now() - started) / 1000);
      }
      if (verdict.done) {
        this.backoff.reset();
        return;
      }
      await this.sleep(verdict.delayMs, this.stopping.signal);
    }
  }

  private settle(res: RemoteWriteResponse, batches: number, samples: number, end: unknown, isRepeat: boolean, seconds: number): Verdict {
    const { store } = this.o;
    const c = this.o.counters;
    if (res.status >= 200 && res.status < 300) {
      this.confirm(end);
      c.samplesForwarded += samples;
      this.observe(seconds, 'success');
      return { done: true };
    }
    if (res.status === 429 || res.status >= 500 || res.status < 200) {
      const outcome: RequestOutcome = res.status === 429 ? 'throttled' : 'server_error';
      this.observe(seconds, outcome);
      const line = `store answered ${res.status}: ${res.message}`;
      c.recordError(line, this.now());
      this.o.throttled.report('warn', 'remote_write_retry', { store, status: res.status, message: res.message }, 'remote-write store failed a request; retrying', store);
      const honoured = (res.status === 429 || res.status === 503) && res.retryAfterMs !== undefined;
      const delayMs = honoured ? Math.min(res.retryAfterMs as number, RETRY_AFTER_CAP_MS) : this.backoff.next();
      return { done: false, delayMs };
    }
    if (res.status === 400 && isRepeat && ALREADY_STORED.test(res.message)) {
      // The store took this request before: a retry after a lost answer, or a replayed batch
      // after a restart (sent alone, see catchingUp). Its samples are there: not a loss.
      if (batches > 1 && this.replayLeft === 0 && this.o.queue.replaying) {
        // Not confirmed: the loop peeks the same batches again, one a request.
        this.replayLeft = batches;
        this.observe(seconds, 'already_stored');
        return { done: true };
      }
      this.confirm(end);
      c.samplesAlreadyStored += samples;
      this.observe(seconds, 'already_stored');
      return { done: true };
    }
    this.observe(seconds, 'rejected');
    this.drop(`status_${res.status}`, samples, end, res.message, res.status);
    return { done: true };
  }

  /** Advances the queue past a settled request (and counts down a replay sent batch by batch). */
  private confirm(end: unknown): void {
    if (this.replayLeft > 0) this.replayLeft--;
    this.o.queue.confirm(end);
  }

  private networkFailure(err: unknown, seconds: number): Verdict {
    const { store } = this.o;
    const kind = err instanceof RemoteWriteNetworkError ? err.kind : 'reset';
    const message = err instanceof Error ? err.message : String(err);
    this.observe(seconds, kind);
    this.o.counters.recordError(message, this.now());
    this.o.throttled.report('warn', `remote_write_${kind}`, { store, kind, err: message }, 'remote-write request got no answer; retrying', store);
    return { done: false, delayMs: this.backoff.next() };
  }

  /** The request is given up: confirmed so the queue goes on, its samples counted by reason. */
  private drop(reason: string, samples: number, end: unknown, message: string, status: number | null): void {
    const { store } = this.o;
    this.confirm(end);
    this.o.counters.countDropped(reason, samples);
    const line = status === null ? `request dropped (${reason}): ${message}` : `store refused a request with ${status}: ${message}`;
    this.o.counters.recordError(line, this.now());
    this.o.throttled.report('warn', 'remote_write_dropped', { store, reason, status, message, samples }, 'remote-write store refused a request; its samples are dropped', store);
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
      this.o.log.warn({ err, store: this.o.store }, 'remote-write request observer failed');
    }
  }
}
