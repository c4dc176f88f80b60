import type { Logger } from './log';

export interface ThrottledLogOptions {
  log: Logger;
  now(): number;
  /** One line per key per window (default 60 s). */
  windowMs?: number;
  /** Keys remembered at once; the oldest is forgotten beyond this (default 10 000). */
  maxKeys?: number;
}

interface KeyState {
  windowStartMs: number;
  /** Events since the last line was written for this key. */
  suppressed: number;
}

/**
 * Logs a repeated event at most once per key per window, carrying how many were folded into it
 * (`count`), so a flood of refusals or faults costs a few lines a minute, not one per event.
 * Every event is still counted by its `kind` (a fixed word chosen in code, e.g. `store_commit`)
 * for /metrics; the `key` (e.g. the kind plus a peer address) only decides throttling, and the
 * keys remembered are bounded by `maxKeys`.
 */
export class ThrottledLog {
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly keys = new Map<string, KeyState>();
  private readonly totals = new Map<string, number>();

  constructor(private readonly options: ThrottledLogOptions) {
    this.windowMs = options.windowMs ?? 60_000;
    this.maxKeys = Math.max(1, options.maxKeys ?? 10_000);
  }

  /**
   * Counts one event of `kind`; writes `msg` at `level` when the window of `kind` + `key` allows
   * a line. `key` defaults to the kind alone (one line per kind per window).
   */
  report(level: 'warn' | 'error' | 'info', kind: string, fields: Record<string, unknown>, msg: string, key = ''): void {
    this.totals.set(kind, (this.totals.get(kind) ?? 0) + 1);
    key = `${kind}\u0000${key}`;
    const now = this.options.now();
    let state = this.keys.get(key);
    if (state && now - state.windowStartMs < this.windowMs) {
      state.suppressed++;
      return;
    }
    const count = (state?.suppressed ?? 0) + 1;
    if (state) this.keys.delete(key); // re-insert so the map's order stays oldest-first
    else if (this.keys.size >= this.maxKeys) this.keys.delete(this.keys.keys().next().value as string);
    state = { windowStartMs: now, suppressed: 0 };
    this.keys.set(key, state);
    this.options.log[level]({ ...fields, count }, msg);
  }

  /** Events of `kind` counted since start. */
  total(kind: string): number {
    return this.totals.get(kind) ?? 0;
  }

  /** Every kind's total, for /metrics. */
  totalsByKey(): ReadonlyMap<string, number> {
    return this.totals;
  }
}
