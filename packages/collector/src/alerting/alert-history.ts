import type { Database } from '../store/database';

/** What happened: a state change of an alert, or one delivery attempt of a notification. */
export type HistoryEvent = 'pending' | 'firing' | 'resolved' | 'cleared' | 'delivery';

export interface HistoryEntry {
  id: number;
  timeMs: number;
  rule: string;
  /** The node, or the certificate's component. */
  instance: string;
  /** The node the entry concerns (scoping), null for the collector's own certificates. */
  node: string | null;
  event: HistoryEvent;
  value: number | null;
  /** Deliveries: the channel, `ok` or `failed`, and what the channel answered (never a secret). */
  channel: string | null;
  outcome: 'ok' | 'failed' | null;
  detail: string | null;
}

export type NewHistoryEntry = Omit<HistoryEntry, 'id'>;

export interface HistoryFilter {
  sinceMs: number;
  node?: string;
  rule?: string;
  /** Only entries of nodes this predicate accepts (a node-scoped client); null nodes are kept only when it accepts ''. */
  nodeVisible?: (node: string) => boolean;
  limit: number;
}

interface Row {
  id: number;
  time_ms: number;
  rule: string;
  instance: string;
  node: string | null;
  event: HistoryEvent;
  value: number | null;
  channel: string | null;
  outcome: 'ok' | 'failed' | null;
  detail: string | null;
}

const MAX_DETAIL = 512;

/** Every transition and delivery attempt (SPEC §14), newest last, kept `alerting.history_retention`. */
export class AlertHistory {
  private readonly stmts;
  private readonly insertAll: (entries: readonly NewHistoryEntry[]) => void;

  constructor(db: Database) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO alert_history (time_ms, rule, instance, node, event, value, channel, outcome, detail)
         VALUES (@timeMs, @rule, @instance, @node, @event, @value, @channel, @outcome, @detail)`,
      ),
      // Keyset paging on (time, id): scoped callers filter after reading, page by page.
      page: db.prepare(
        `SELECT * FROM alert_history WHERE (time_ms, id) > (?, ?) AND (? IS NULL OR node = ?) AND (? IS NULL OR rule = ?)
         ORDER BY time_ms, id LIMIT ?`,
      ),
      prune: db.prepare('DELETE FROM alert_history WHERE id IN (SELECT id FROM alert_history WHERE time_ms < ? LIMIT ?)'),
    };
    this.insertAll = db.transaction((entries: readonly NewHistoryEntry[]) => {
      for (const entry of entries) this.record(entry);
    });
  }

  record(entry: NewHistoryEntry): void {
    this.stmts.insert.run({ ...entry, detail: entry.detail === null ? null : entry.detail.slice(0, MAX_DETAIL) });
  }

  /** Several entries in one transaction: one commit for a round's transitions, however many nodes changed. */
  recordAll(entries: readonly NewHistoryEntry[]): void {
    if (entries.length > 0) this.insertAll(entries);
  }

  /** Entries since `sinceMs`, oldest first, at most `limit` of those the filter lets through. */
  list(filter: HistoryFilter): HistoryEntry[] {
    const out: HistoryEntry[] = [];
    let after: [number, number] = [filter.sinceMs, -1];
    for (;;) {
      const rows = this.stmts.page.all(after[0], after[1], filter.node ?? null, filter.node ?? null, filter.rule ?? null, filter.rule ?? null, filter.limit) as Row[];
      for (const row of rows) {
        if (filter.nodeVisible && !filter.nodeVisible(row.node ?? '')) continue;
        out.push(fromRow(row));
        if (out.length >= filter.limit) return out;
      }
      if (rows.length < filter.limit) return out;
      const last = rows[rows.length - 1];
      after = [last.time_ms, last.id];
    }
  }

  /** Deletes entries older than `beforeMs`, at most `max` per call; returns how many. */
  prune(beforeMs: number, max = 10_000): number {
    return this.stmts.prune.run(beforeMs, max).changes;
  }
}

function fromRow(row: Row): HistoryEntry {
  return {
    id: row.id,
    timeMs: row.time_ms,
    rule: row.rule,
    instance: row.instance,
    node: row.node,
    event: row.event,
    value: row.value,
    channel: row.channel,
    outcome: row.outcome,
    detail: row.detail,
  };
}
