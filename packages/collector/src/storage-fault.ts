import { ErrorCodes, XimpError } from '@ximp/shared';

const STORE_CODES: ReadonlySet<string> = new Set([ErrorCodes.STORE_FAILED, ErrorCodes.STORE_BUSY, ErrorCodes.STORE_STOPPED]);

/**
 * True for an error of the storage underneath a request rather than of the request itself:
 * SQLite's own errors (`SQLITE_IOERR`, `SQLITE_FULL`, `SQLITE_BUSY`, ... as better-sqlite3 throws
 * them), a closed database, and the store's own failure codes. Such a fault is transient from
 * the caller's side: answer "retry later" (503, or close 1011), never crash.
 */
export function isStorageFault(err: unknown): boolean {
  if (err instanceof XimpError) return STORE_CODES.has(err.code);
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) return true;
  return err.name === 'SqliteError' || /database connection is not open/.test(err.message);
}
