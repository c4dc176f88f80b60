import { addressKey } from '../net/address-key';

/**
 * How long a failed attempt from an address already over its failure limit waits for its 429.
 * The connection keeps its place in the per-address cap of unauthenticated connections
 * meanwhile, so one address (one IPv6 /64) gets at most `max_unauthenticated_per_address`
 * guesses checked per second, and every further connection is closed at accept, before TLS:
 * guessing is bounded in rate and costs the collector a close, not a handshake.
 */
export const OVER_LIMIT_DELAY_MS = 1_000;

/** What the listeners need of a failure limiter. */
export interface FailureLimit {
  isLimited(subject: string, now: number): boolean;
  recordFailure(subject: string, now: number): void;
  retryAfterMs(subject: string, now: number): number;
}

/**
 * Counts failures per key in a sliding window (SPEC §7: more than `maxFailures` within 60 s and
 * the key is limited). Keyed by peer address by default (IPv4, IPv4-mapped as IPv4, IPv6 by
 * /64: see addressKey); the agent listener also keeps one keyed by token id for protocol
 * violations and one for upgrades. The map is bounded: past `maxKeys` the oldest key is forgotten.
 *
 * The limiter only answers "is this key over its limit"; what that costs the peer is the caller's
 * choice. It never decides on its own that a correct credential is refused.
 */
export class AuthFailureLimiter implements FailureLimit {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs = 60_000,
    private readonly maxKeys = 100_000,
    private readonly keyOf: (subject: string) => string = addressKey,
  ) {}

  /** True when `subject` already failed more than the limit within the window. */
  isLimited(subject: string, now: number): boolean {
    const times = this.recent(this.keyOf(subject), now);
    return times !== undefined && times.length > this.maxFailures;
  }

  recordFailure(subject: string, now: number): void {
    const key = this.keyOf(subject);
    const times = this.recent(key, now) ?? [];
    // Keep one more than the limit: enough to know the key is over it, bounded per key.
    if (times.length <= this.maxFailures) times.push(now);
    this.failures.delete(key);
    this.failures.set(key, times);
    if (this.failures.size > this.maxKeys) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  /** How long until `subject` is under the limit again (0 when it is): the Retry-After of a 429. */
  retryAfterMs(subject: string, now: number): number {
    const times = this.recent(this.keyOf(subject), now);
    if (times === undefined || times.length <= this.maxFailures) return 0;
    // The key is under the limit once all but `maxFailures` of its recorded times have aged out.
    return Math.max(0, times[times.length - 1 - this.maxFailures] + this.windowMs - now);
  }

  private recent(key: string, now: number): number[] | undefined {
    const times = this.failures.get(key);
    if (!times) return undefined;
    const fresh = times.filter((t) => now - t < this.windowMs);
    if (fresh.length === 0) {
      this.failures.delete(key);
      return undefined;
    }
    if (fresh.length !== times.length) this.failures.set(key, fresh);
    return fresh;
  }
}
