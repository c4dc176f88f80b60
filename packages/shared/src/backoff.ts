export interface BackoffOptions {
  /** The first attempt's ceiling; doubles per attempt. Default 1 s. */
  initialMs?: number;
  /** The ceiling never exceeds this. Default 60 s. */
  maxMs?: number;
  /** Uniform in [0, 1); injectable so tests are deterministic. */
  random?: () => number;
}

// 2^30 × any sane initial delay is far beyond any cap; stops the exponent overflowing to Infinity.
const MAX_EXPONENT = 30;

/**
 * Retry delays (agent reconnects, remote-write retries): exponential with full jitter (AWS
 * architecture blog, "Exponential Backoff and Jitter"), so clients that failed at the same moment
 * do not return at once.
 */
export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.maxMs = options.maxMs ?? 60_000;
    this.random = options.random ?? Math.random;
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs)) {
      throw new RangeError('backoff needs 0 < initialMs <= maxMs');
    }
  }

  /** Attempts since the last reset(). */
  get attempts(): number {
    return this.attempt;
  }

  /** The next delay: uniform in [0, min(maxMs, initialMs × 2^attempts)). */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, MAX_EXPONENT));
    this.attempt++;
    return Math.floor(this.unit() * ceiling);
  }

  /**
   * The delay after the collector refused the token (revoked, expired, invalid): retrying fast
   * cannot help and only feeds the collector's rate limiter, so go straight to the cap. Uniform
   * in [maxMs/2, maxMs) rather than exactly maxMs: still jittered, so refused agents spread out,
   * yet never faster than half the cap.
   */
  nextSlow(): number {
    this.attempt++;
    return Math.floor(this.maxMs / 2 + this.unit() * (this.maxMs / 2));
  }

  /** After a successful session: the next failure starts from initialMs again. */
  reset(): void {
    this.attempt = 0;
  }

  /** random() clamped to [0, 1), so a bad injected source cannot produce a negative or huge delay. */
  private unit(): number {
    const r = this.random();
    return Number.isFinite(r) ? Math.min(Math.max(r, 0), 1 - Number.EPSILON) : 0;
  }
}
