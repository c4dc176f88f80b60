import { ErrorCodes, XimpError } from '@ximp/shared';
import type { SettingsStore } from './settings-store';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** The shortest retention, for collector.yaml's `store.retention` (config.ts) and the API alike. */
export const MIN_RETENTION_MS = MINUTE_MS;
/** The longest retention an admin may set: ten years, like `api.max_query_range`'s ceiling. */
export const MAX_RETENTION_MS = 3650 * DAY_MS;

/** The retention in force and where it comes from. */
export interface RetentionInForce {
  ms: number;
  /** `setting`: an admin set it (it outlives restarts and overrides the file); `default`: collector.yaml's `store.retention`. */
  source: 'default' | 'setting';
}

/**
 * The metric retention of the embedded store (SPEC §9): collector.yaml's `store.retention` until a
 * monitoring-admin sets another through the API. Read on every retention pass, so a change takes
 * effect at the next one.
 */
export class RetentionSetting {
  constructor(
    private readonly settings: Pick<SettingsStore, 'storedRetentionMs' | 'setRetentionMs'>,
    private readonly defaultMs: number,
  ) {}

  current(): RetentionInForce {
    const stored = this.settings.storedRetentionMs();
    return stored === null ? { ms: this.defaultMs, source: 'default' } : { ms: stored, source: 'setting' };
  }

  /** Stores a new retention; the caller checked it lies in [MIN_RETENTION_MS, MAX_RETENTION_MS]. */
  set(ms: number, now: number): void {
    if (!Number.isSafeInteger(ms) || ms < MIN_RETENTION_MS || ms > MAX_RETENTION_MS) {
      throw new XimpError(ErrorCodes.REQUEST_INVALID, 'retention: out of bounds');
    }
    this.settings.setRetentionMs(ms, now);
  }
}
