import type { Database } from './database';

const RETENTION_KEY = 'store.retention_ms';
const WIDEST_FUTURE_SKEW_KEY = 'limits.widest_future_skew_ms';

/**
 * Settings an admin changes at run time and that must outlive a restart (SPEC §9: the metric
 * retention). A stored value overrides the config file's default.
 */
export class SettingsStore {
  private readonly stmts;

  constructor(db: Database) {
    this.stmts = {
      get: db.prepare('SELECT value FROM settings WHERE key = ?'),
      set: db.prepare(
        `INSERT INTO settings (key, value, updated_ms) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms`,
      ),
      remove: db.prepare('DELETE FROM settings WHERE key = ?'),
    };
  }

  get(key: string): string | null {
    const row = this.stmts.get.get(key) as { value: string } | undefined;
    return row ? row.value : null;
  }

  set(key: string, value: string, now: number): void {
    this.stmts.set.run(key, value, now);
  }

  remove(key: string): void {
    this.stmts.remove.run(key);
  }

  /** The retention an admin set, or `fallbackMs` (the config's `store.retention`). */
  retentionMs(fallbackMs: number): number {
    return this.storedRetentionMs() ?? fallbackMs;
  }

  /** The retention an admin set, or null when none is (or the stored value is unusable). */
  storedRetentionMs(): number | null {
    const text = this.get(RETENTION_KEY);
    const value = text === null ? NaN : Number(text);
    return Number.isSafeInteger(value) && value > 0 ? value : null;
  }

  setRetentionMs(ms: number, now: number): void {
    this.set(RETENTION_KEY, String(ms), now);
  }

  /**
   * The widest `limits.max_future_skew` this database has run with, `configuredMs` included (and
   * recorded). Batches accepted under a wider one may lie that far ahead after the setting was
   * lowered, so series expiry must keep allowing for it.
   */
  widestFutureSkewMs(configuredMs: number, now: number): number {
    const text = this.get(WIDEST_FUTURE_SKEW_KEY);
    const stored = text === null ? 0 : Number(text);
    const widest = Number.isSafeInteger(stored) && stored > configuredMs ? stored : configuredMs;
    if (widest !== stored) this.set(WIDEST_FUTURE_SKEW_KEY, String(widest), now);
    return widest;
  }
}
