import { Backoff } from '@ximp/shared';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** When the renewal check runs; tests shorten every figure. */
export interface RenewalSchedule {
  /** Between successful checks (default 1 h). */
  periodMs: number;
  /** Up to this much is added to each period at random, so a fleet does not renew at one instant (default 10 min). */
  spreadMs: number;
  /** Retries after a failed check: full-jitter backoff from this (default 1 min) ... */
  retryInitialMs: number;
  /** ... doubling up to this (default 1 h). */
  retryMaxMs: number;
}

export const DEFAULT_RENEWAL_SCHEDULE: Readonly<RenewalSchedule> = Object.freeze({
  periodMs: HOUR,
  spreadMs: 10 * MINUTE,
  retryInitialMs: MINUTE,
  retryMaxMs: HOUR,
});

export interface RenewalTimerOptions {
  /** One check; resolves false when a renewal failed (then retried with backoff). Never expected to reject. */
  check(): Promise<boolean>;
  schedule?: Partial<RenewalSchedule>;
  random?: () => number;
  /** Where a check that rejected anyway goes. */
  onError(err: unknown): void;
}

/**
 * Runs the renewal check at start, then every period plus a random spread; after a failed check,
 * sooner, with backoff. Timers are unref'd: they never keep the process alive on their own.
 */
export class RenewalTimer {
  private readonly schedule: RenewalSchedule;
  private readonly random: () => number;
  private readonly backoff: Backoff;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: RenewalTimerOptions) {
    this.schedule = { ...DEFAULT_RENEWAL_SCHEDULE, ...options.schedule };
    this.random = options.random ?? Math.random;
    this.backoff = new Backoff({ initialMs: this.schedule.retryInitialMs, maxMs: this.schedule.retryMaxMs, random: this.random });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.backoff.reset();
    this.arm(0);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    let ok = false;
    try {
      ok = await this.options.check();
    } catch (err) {
      this.options.onError(err);
    }
    if (!this.running) return;
    if (ok) {
      this.backoff.reset();
      this.arm(this.schedule.periodMs + Math.floor(this.unit() * this.schedule.spreadMs));
    } else {
      this.arm(this.backoff.next());
    }
  }

  private unit(): number {
    const r = this.random();
    return Number.isFinite(r) ? Math.min(Math.max(r, 0), 1 - Number.EPSILON) : 0;
  }
}
