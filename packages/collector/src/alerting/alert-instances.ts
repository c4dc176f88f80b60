import type { Database } from '../store/database';
import type { AlertInstance, AlertStatus } from './alert-state';

/** One alert as stored: which rule, on what, with its labels and state. */
export interface StoredAlert extends AlertInstance {
  rule: string;
  /** The node, or the component of a certificate. */
  instance: string;
  node: string | null;
  labels: Record<string, string>;
}

/** A stored alert as read back: only pending and firing ones are kept. */
export interface KeptAlert extends StoredAlert {
  status: Exclude<AlertStatus, 'inactive'>;
}

interface Row {
  rule: string;
  instance: string;
  node: string | null;
  labels_json: string;
  status: KeptAlert['status'];
  active_since_ms: number | null;
  fired_ms: number | null;
  value: number | null;
}

/**
 * The pending and firing alerts, kept in the database so that a restart neither forgets a firing
 * alert (it would never resolve) nor restarts a pending one's `for`. Inactive alerts are not kept.
 */
export class AlertInstanceStore {
  private readonly stmts;

  constructor(private readonly db: Database) {
    this.stmts = {
      all: db.prepare('SELECT * FROM alert_instances ORDER BY rule, instance'),
      upsert: db.prepare(
        `INSERT INTO alert_instances (rule, instance, node, labels_json, status, active_since_ms, fired_ms, value)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (rule, instance) DO UPDATE SET node = excluded.node, labels_json = excluded.labels_json,
           status = excluded.status, active_since_ms = excluded.active_since_ms, fired_ms = excluded.fired_ms, value = excluded.value`,
      ),
      remove: db.prepare('DELETE FROM alert_instances WHERE rule = ? AND instance = ?'),
    };
  }

  list(): KeptAlert[] {
    return (this.stmts.all.all() as Row[]).map((row) => ({
      rule: row.rule,
      instance: row.instance,
      node: row.node,
      labels: JSON.parse(row.labels_json) as Record<string, string>,
      status: row.status,
      activeSince: row.active_since_ms,
      firedAt: row.fired_ms,
      value: row.value,
    }));
  }

  /** Writes every change of one evaluation in one transaction: inactive alerts are removed. */
  save(changes: readonly StoredAlert[]): void {
    if (changes.length === 0) return;
    this.db.transaction(() => {
      for (const a of changes) {
        if (a.status === 'inactive') this.stmts.remove.run(a.rule, a.instance);
        else this.stmts.upsert.run(a.rule, a.instance, a.node, JSON.stringify(a.labels), a.status, a.activeSince, a.firedAt, a.value);
      }
    })();
  }
}
