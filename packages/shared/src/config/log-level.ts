import type { LogLevel } from '../log';

/** The levels a config's `log.level` may name (pino's, plus `silent`). */
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze([
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
  'silent',
]);
