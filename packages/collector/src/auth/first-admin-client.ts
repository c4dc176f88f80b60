import { openDatabase } from '../store/database';
import { ApiClientStore, type CreatedApiClient } from './api-client-store';

/**
 * Creates a monitoring-admin API client in the database under `dataDir`, opening and closing it
 * around the write: `init` runs before any collector holds the database.
 */
export function createAdminClientIn(dataDir: string, name: string, now = Date.now()): CreatedApiClient {
  const db = openDatabase(dataDir);
  try {
    return new ApiClientStore(db).create(name, 'monitoring-admin', now);
  } finally {
    db.close();
  }
}

/** Deletes the client `createAdminClientIn` made, when the init step after it failed. */
export function removeAdminClientIn(dataDir: string, clientId: string): void {
  const db = openDatabase(dataDir);
  try {
    new ApiClientStore(db).remove(clientId);
  } finally {
    db.close();
  }
}
