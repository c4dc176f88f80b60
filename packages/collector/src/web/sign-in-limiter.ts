import { AuthFailureLimiter } from '../ingest/auth-failure-limiter';
import { addressKey } from '../net/address-key';

/** SPEC §15: 10 failed sign-ins per user name and per address within 15 minutes. */
export const SIGN_IN_FAILURES = 10;
export const SIGN_IN_WINDOW_MS = 15 * 60_000;
/** A rate-limited attempt is audited once a minute per name and address, not each time. */
const AUDIT_EVERY_MS = 60_000;
const MAX_KEYS = 100_000;
/**
 * Password checks running or queued at once. Each scrypt derivation holds 32 MiB and a thread of
 * libuv's pool (which file I/O shares): beyond this many a sign-in is refused with 503.
 */
export const MAX_CHECKS_IN_FLIGHT = 8;

/**
 * Failed sign-ins counted per user name and per address (an IPv6 /64 as one). Over either limit
 * the attempt is refused before any password is checked, so guessing costs the guesser, not scrypt.
 */
export class SignInLimiter {
  // AuthFailureLimiter limits once a key has more than its count: allow 10, refuse the 11th.
  private readonly byName = new AuthFailureLimiter(SIGN_IN_FAILURES - 1, SIGN_IN_WINDOW_MS, MAX_KEYS, (name) => name);
  private readonly byAddress = new AuthFailureLimiter(SIGN_IN_FAILURES - 1, SIGN_IN_WINDOW_MS, MAX_KEYS, addressKey);
  private readonly audited = new Map<string, number>();
  private inFlight = 0;

  /** Runs one password check within the bound; null (nothing run) when the bound is reached. */
  async bounded<T>(check: () => Promise<T>): Promise<T | null> {
    if (this.inFlight >= MAX_CHECKS_IN_FLIGHT) return null;
    this.inFlight++;
    try {
      return await check();
    } finally {
      this.inFlight--;
    }
  }

  /** Milliseconds until this name and address may try again; 0 when they may now. */
  retryAfterMs(name: string, address: string, now: number): number {
    return Math.max(this.byName.retryAfterMs(name, now), this.byAddress.retryAfterMs(address, now));
  }

  recordFailure(name: string, address: string, now: number): void {
    this.byName.recordFailure(name, now);
    this.byAddress.recordFailure(address, now);
  }

  /** True for the first refused attempt of a name and address in a minute: that one is audited. */
  shouldAudit(name: string, address: string, now: number): boolean {
    const key = `${name}\u0000${addressKey(address)}`;
    const last = this.audited.get(key);
    if (last !== undefined && now - last < AUDIT_EVERY_MS) return false;
    this.audited.delete(key);
    this.audited.set(key, now);
    if (this.audited.size > MAX_KEYS) this.audited.delete(this.audited.keys().next().value as string);
    return true;
  }
}
