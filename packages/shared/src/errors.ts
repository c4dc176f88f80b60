/**
 * The one registry of XIMP error codes. Every error a caller may act on carries a stable `code`;
 * tests assert on codes, not message text. docs/errors.md lists the same codes for operators.
 */
export const ErrorCodes = {
  CONFIG_INVALID: 'XIMP_ERR_CONFIG_INVALID',
  CONFIG_UNREADABLE: 'XIMP_ERR_CONFIG_UNREADABLE',
  PROTOCOL_MALFORMED: 'XIMP_ERR_PROTOCOL_MALFORMED',
  PROTOCOL_FRAME_TOO_BIG: 'XIMP_ERR_PROTOCOL_FRAME_TOO_BIG',
  PROTOCOL_UNEXPECTED: 'XIMP_ERR_PROTOCOL_UNEXPECTED',
  AUTH_INVALID_TOKEN: 'XIMP_ERR_AUTH_INVALID_TOKEN',
  AUTH_REVOKED: 'XIMP_ERR_AUTH_REVOKED',
  AUTH_EXPIRED: 'XIMP_ERR_AUTH_EXPIRED',
  AUTH_WRONG_NODE: 'XIMP_ERR_AUTH_WRONG_NODE',
  AUTH_RATE_LIMITED: 'XIMP_ERR_AUTH_RATE_LIMITED',
  AUTH_FORBIDDEN: 'XIMP_ERR_AUTH_FORBIDDEN',
  NOT_FOUND: 'XIMP_ERR_NOT_FOUND',
  PKI_EXISTS: 'XIMP_ERR_PKI_EXISTS',
  PKI_INVALID: 'XIMP_ERR_PKI_INVALID',
  PKI_RENEW_FAILED: 'XIMP_ERR_PKI_RENEW_FAILED',
  SPOOL_CORRUPT: 'XIMP_ERR_SPOOL_CORRUPT',
  STORE_FAILED: 'XIMP_ERR_STORE_FAILED',
  REMOTE_WRITE_NETWORK: 'XIMP_ERR_REMOTE_WRITE_NETWORK',
  REMOTE_WRITE_ENCODE: 'XIMP_ERR_REMOTE_WRITE_ENCODE',
  REQUEST_INVALID: 'XIMP_ERR_REQUEST_INVALID',
  CLI_USAGE: 'XIMP_ERR_CLI_USAGE',
  SOURCE_PARSE: 'XIMP_ERR_SOURCE_PARSE',
  SOURCE_TIMEOUT: 'XIMP_ERR_SOURCE_TIMEOUT',
  SOURCE_UNAVAILABLE: 'XIMP_ERR_SOURCE_UNAVAILABLE',
  SPOOL_INVALID_BATCH: 'XIMP_ERR_SPOOL_INVALID_BATCH',
  SPOOL_CLOSED: 'XIMP_ERR_SPOOL_CLOSED',
  SPOOL_IO: 'XIMP_ERR_SPOOL_IO',
  SERIES_LIMIT: 'XIMP_ERR_SERIES_LIMIT',
  STORE_BUSY: 'XIMP_ERR_STORE_BUSY',
  STORE_QUEUE_FULL: 'XIMP_ERR_STORE_QUEUE_FULL',
  STORE_STOPPED: 'XIMP_ERR_STORE_STOPPED',
  NOT_STARTED: 'XIMP_ERR_NOT_STARTED',
  CLI_CONFIG_EXISTS: 'XIMP_ERR_CLI_CONFIG_EXISTS',
  SEGMENT_LOG_IO: 'XIMP_ERR_SEGMENT_LOG_IO',
  SEGMENT_LOG_CLOSED: 'XIMP_ERR_SEGMENT_LOG_CLOSED',
  SEGMENT_LOG_INVALID_RECORD: 'XIMP_ERR_SEGMENT_LOG_INVALID_RECORD',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Base class of every XIMP error: a stable code plus a message that never holds a secret. */
export class XimpError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'XimpError';
    this.code = code;
  }
}

/** True when `err` is an XimpError with the given code. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof XimpError && err.code === code;
}
