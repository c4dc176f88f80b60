import pino from 'pino';

export type Logger = pino.Logger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/**
 * Keys whose values are secrets wherever they appear in a log object. pino replaces them with
 * "[redacted]", so a careless `log.info({ req })` still cannot leak a token.
 */
export const REDACTED_PATHS = [
  'token',
  'authToken',
  'auth_token',
  'secret',
  'clientSecret',
  'client_secret',
  'accessToken',
  'access_token',
  'password',
  'key',
  'privateKey',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.token',
  '*.authToken',
  '*.secret',
  '*.clientSecret',
  '*.authorization',
];

export interface LoggerOptions {
  name: string;
  level?: LogLevel;
  /** Where JSON lines go; stdout (journald) by default. Tests pass a sink to inspect lines. */
  destination?: pino.DestinationStream;
}

/** A structured JSON logger: data first, a fixed lowercase message, secrets redacted. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { name: options.name },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** A logger that drops everything, for tests and tools that do not log. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
