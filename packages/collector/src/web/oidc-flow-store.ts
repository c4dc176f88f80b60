import * as crypto from 'node:crypto';

/** What the callback must match: kept on the server, never in the browser. */
export interface OidcFlow {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export type OidcFlowLookup = { kind: 'found'; flow: OidcFlow } | { kind: 'expired' } | { kind: 'unknown' };

export interface OidcFlowStoreOptions {
  now(): number;
  /** How long a started sign-in may take at the provider. Default 10 minutes. */
  ttlMs?: number;
  /** Sign-ins in progress at once; beyond it the oldest is dropped (counted). Default 10 000. */
  maxEntries?: number;
}

interface Entry extends OidcFlow {
  expiresAt: number;
}

/**
 * Sign-ins in progress, keyed by a random value the browser holds in a short-lived cookie. Each
 * entry is taken once: a replayed callback finds nothing. Bounded; expired entries are pruned as
 * new ones arrive (same lifetime for all, so the oldest come first).
 */
export class OidcFlowStore {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private droppedCount = 0;

  constructor(private readonly options: OidcFlowStoreOptions) {
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    this.maxEntries = Math.max(1, options.maxEntries ?? 10_000);
  }

  get ttl(): number {
    return this.ttlMs;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Sign-ins dropped unfinished because the store was full. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Keeps `flow`; returns the key for the cookie (32 random bytes, base64url). */
  put(flow: OidcFlow): string {
    const now = this.options.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(key);
    }
    if (this.entries.size >= this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
      this.droppedCount++;
    }
    const key = crypto.randomBytes(32).toString('base64url');
    this.entries.set(key, { ...flow, expiresAt: now + this.ttlMs });
    return key;
  }

  /** Removes and returns the flow of `key`: found once, then unknown. */
  take(key: string | undefined): OidcFlowLookup {
    if (key === undefined) return { kind: 'unknown' };
    const entry = this.entries.get(key);
    if (entry === undefined) return { kind: 'unknown' };
    this.entries.delete(key);
    if (entry.expiresAt <= this.options.now()) return { kind: 'expired' };
    return { kind: 'found', flow: { state: entry.state, nonce: entry.nonce, codeVerifier: entry.codeVerifier } };
  }
}
