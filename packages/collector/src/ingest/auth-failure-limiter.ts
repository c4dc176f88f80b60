/**
 * Counts failed agent authentications per remote address in a sliding window, so one address
 * cannot probe tokens at line rate (SPEC §7: more than 30 failures within 60 s answers 429).
 * The map is bounded: past `maxAddresses` the oldest address is forgotten.
 */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs = 60_000,
    private readonly maxAddresses = 100_000,
  ) {}

  /** True when `address` already failed more than the limit within the window. */
  isLimited(address: string, now: number): boolean {
    const times = this.recent(address, now);
    return times !== undefined && times.length > this.maxFailures;
  }

  recordFailure(address: string, now: number): void {
    const times = this.recent(address, now) ?? [];
    // Keep one more than the limit: enough to know the address is over it, bounded per address.
    if (times.length <= this.maxFailures) times.push(now);
    this.failures.delete(address);
    this.failures.set(address, times);
    if (this.failures.size > this.maxAddresses) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  private recent(address: string, now: number): number[] | undefined {
    const times = this.failures.get(address);
    if (!times) return undefined;
    const fresh = times.filter((t) => now - t < this.windowMs);
    if (fresh.length === 0) {
      this.failures.delete(address);
      return undefined;
    }
    if (fresh.length !== times.length) this.failures.set(address, fresh);
    return fresh;
  }
}
