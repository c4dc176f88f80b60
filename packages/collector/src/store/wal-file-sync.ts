import * as fs from 'node:fs';

/**
 * Makes a SQLite database's write-ahead log durable off the event loop: fdatasync of the `-wal`
 * file through a descriptor of its own, on libuv's thread pool. fdatasync flushes the file
 * (the inode), whichever descriptor wrote it, so it covers every frame SQLite wrote before the
 * call. The file keeps its inode while the database is open: SQLite restarts the log in place and
 * `journal_size_limit` truncates it; only the last connection's close deletes it. It exists once
 * a transaction has written (openDatabase's migration step already did), so the descriptor opens
 * at the first sync; a missing file then is an error, never "nothing to sync".
 */
export class WalFileSync {
  readonly file: string;
  private fd: number | undefined;

  constructor(databaseFile: string) {
    this.file = `${databaseFile}-wal`;
  }

  /** Resolves once everything written to the log so far is on disk; rejects with the system error. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      let fd: number;
      try {
        fd = this.open();
      } catch (err) {
        reject(err as Error);
        return;
      }
      fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Closes the descriptor (no sync may be running). Idempotent. */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fs.closeSync(fd);
    } catch {
      // already closed: nothing held
    }
  }

  private open(): number {
    // Read-only is enough for fdatasync, and never creates the file.
    this.fd ??= fs.openSync(this.file, fs.constants.O_RDONLY);
    return this.fd;
  }
}
