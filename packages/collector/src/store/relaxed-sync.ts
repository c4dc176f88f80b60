import type { Database } from './database';

/**
 * Writes at synchronous=NORMAL on a connection that otherwise syncs every commit (FULL): such a
 * commit reaches the WAL, so it survives kill -9, and it is made durable against power loss by
 * the next sync of the WAL (the metric store's after its next group commit, any FULL commit, a
 * checkpoint), not by an fsync of its own on the event loop. The safety level cannot change
 * inside a transaction: there the enclosing transaction's commit decides.
 */
export class RelaxedSync {
  // Not prepared statements: SQLite applies this pragma when it compiles it, so a prepared one
  // changes the setting only when it happens to be recompiled. Compiling it each time costs ~1 us.
  private readonly relax: string;
  private readonly restore: string;

  constructor(private readonly db: Database) {
    const own = db.pragma('synchronous', { simple: true }) as number;
    this.relax = `PRAGMA synchronous = ${Math.min(own, 1)}`;
    this.restore = `PRAGMA synchronous = ${own}`;
  }

  /** Runs `write` (one statement, or a whole transaction) relaxed, then restores the setting. */
  run<T>(write: () => T): T {
    if (this.db.inTransaction) return write();
    this.db.exec(this.relax);
    try {
      return write();
    } finally {
      this.db.exec(this.restore);
    }
  }

  /** Runs `fn` in a transaction of its own, relaxed (or in the enclosing one). */
  transaction<T>(fn: () => T): T {
    return this.run(this.db.transaction(fn));
  }
}
