import type { ConfigReader } from '@ximp/shared';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** collector.yaml `dashboard.session_*` (SPEC §15). */
export interface DashboardSessionConfig {
  /** `session_idle_timeout`: a session unused this long ends (30m). */
  sessionIdleTimeoutMs: number;
  /** `session_max_age`: a session ends this long after sign-in, used or not (12h). */
  sessionMaxAgeMs: number;
}

export const DASHBOARD_SESSION_KEYS = ['session_idle_timeout', 'session_max_age'] as const;

export const DASHBOARD_SESSION_DEFAULTS: Readonly<DashboardSessionConfig> = Object.freeze({
  sessionIdleTimeoutMs: 30 * MINUTE,
  sessionMaxAgeMs: 12 * HOUR,
});

/** Reads the session keys of the `dashboard` section; issues go to the reader with the rest of the file's. */
export function parseDashboardSessionConfig(dashboard: ConfigReader): DashboardSessionConfig {
  const d = DASHBOARD_SESSION_DEFAULTS;
  const sessionIdleTimeoutMs = dashboard.duration('session_idle_timeout', { min: MINUTE, max: DAY }) ?? d.sessionIdleTimeoutMs;
  const sessionMaxAgeMs = dashboard.duration('session_max_age', { min: 5 * MINUTE, max: 30 * DAY }) ?? d.sessionMaxAgeMs;
  if (sessionMaxAgeMs < sessionIdleTimeoutMs) {
    dashboard.report('session_max_age', 'must be at least dashboard.session_idle_timeout');
  }
  return { sessionIdleTimeoutMs, sessionMaxAgeMs };
}
