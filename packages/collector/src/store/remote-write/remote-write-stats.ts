/**
 * What one request attempt came to, the `outcome` label of the request metrics:
 * `success` (2xx), `already_stored` (a repeated request the store had taken), `rejected` (other
 * 4xx: dropped), `server_error` (5xx) and `throttled` (429): retried, and the network error kinds.
 */
export type RequestOutcome = 'success' | 'already_stored' | 'rejected' | 'server_error' | 'throttled' | 'tls' | 'connect' | 'timeout' | 'reset';

export const REQUEST_OUTCOMES: readonly RequestOutcome[] = Object.freeze([
  'success',
  'already_stored',
  'rejected',
  'server_error',
  'throttled',
  'tls',
  'connect',
  'timeout',
  'reset',
]);

/** The counters of one store, shared by its shard senders. */
export class RemoteWriteCounters {
  samplesForwarded = 0;
  /** Samples of repeated requests the store said it already had (a 400 out-of-order on a retry or replay). */
  samplesAlreadyStored = 0;
  retries = 0;
  readonly requests = new Map<RequestOutcome, number>(REQUEST_OUTCOMES.map((o) => [o, 0]));
  /** By reason: `status_<code>` for a refused request, `encode_error` for a damaged queue record. */
  readonly samplesDropped = new Map<string, number>();
  /** The last failure in one line, and when (unix ms). */
  lastError: string | null = null;
  lastErrorAtMs: number | null = null;

  countRequest(outcome: RequestOutcome): void {
    this.requests.set(outcome, (this.requests.get(outcome) ?? 0) + 1);
  }

  countDropped(reason: string, samples: number): void {
    this.samplesDropped.set(reason, (this.samplesDropped.get(reason) ?? 0) + samples);
  }

  recordError(message: string, atMs: number): void {
    this.lastError = message;
    this.lastErrorAtMs = atMs;
  }
}
