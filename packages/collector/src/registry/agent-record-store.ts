import type { Database } from '../store/database';

export interface AgentConnectInfo {
  node: string;
  address: string;
  version: string;
  tokenId: string;
  intervalMs: number;
  bootId: string;
  /** Host facts from Hello; stored as JSON. */
  host: unknown;
}

/** An agent as persisted: what it last said, and when it was last seen (survives restarts). */
export interface AgentRecord {
  node: string;
  firstSeenMs: number;
  lastSeenMs: number | null;
  address: string | null;
  version: string | null;
  tokenId: string | null;
  intervalMs: number | null;
  bootId: string | null;
  host: unknown;
  connected: boolean;
}

interface Row {
  node: string;
  first_seen_ms: number;
  last_seen_ms: number | null;
  address: string | null;
  version: string | null;
  token_id: string | null;
  interval_ms: number | null;
  boot_id: string | null;
  host_json: string | null;
  connected: number;
}

const COLUMNS = 'node, first_seen_ms, last_seen_ms, address, version, token_id, interval_ms, boot_id, host_json, connected';

/** Persisted agent records. `touch` is a single prepared UPDATE; batch calls in a transaction. */
export class AgentRecordStore {
  private readonly stmts;

  constructor(private readonly db: Database) {
    this.stmts = {
      upsert: db.prepare(
        `INSERT INTO agents (node, address, version, token_id, interval_ms, boot_id, host_json, first_seen_ms, last_seen_ms, connected)
         VALUES (@node, @address, @version, @tokenId, @intervalMs, @bootId, @host, @now, @now, 1)
         ON CONFLICT (node) DO UPDATE SET
           address = excluded.address, version = excluded.version, token_id = excluded.token_id,
           interval_ms = excluded.interval_ms, boot_id = excluded.boot_id, host_json = excluded.host_json,
           last_seen_ms = excluded.last_seen_ms, connected = 1`,
      ),
      touch: db.prepare('UPDATE agents SET last_seen_ms = ? WHERE node = ? AND (last_seen_ms IS NULL OR last_seen_ms < ?)'),
      disconnect: db.prepare(
        'UPDATE agents SET connected = 0, last_seen_ms = MAX(COALESCE(last_seen_ms, 0), ?) WHERE node = ?',
      ),
      disconnectAll: db.prepare('UPDATE agents SET connected = 0 WHERE connected = 1'),
      list: db.prepare(`SELECT ${COLUMNS} FROM agents ORDER BY node`),
      nodes: db.prepare('SELECT node FROM agents').pluck(),
      get: db.prepare(`SELECT ${COLUMNS} FROM agents WHERE node = ?`),
      remove: db.prepare('DELETE FROM agents WHERE node = ?'),
    };
  }

  /** Records a session that just started (after Hello). */
  upsertConnected(info: AgentConnectInfo, now: number): void {
    this.stmts.upsert.run({
      node: info.node,
      address: info.address,
      version: info.version,
      tokenId: info.tokenId,
      intervalMs: info.intervalMs,
      bootId: info.bootId,
      host: info.host === undefined ? null : JSON.stringify(info.host),
      now,
    });
  }

  /** Moves last-seen forward (never back). */
  touch(node: string, now: number): void {
    this.stmts.touch.run(now, node, now);
  }

  /** Several touches in one transaction (one commit). */
  touchMany(updates: ReadonlyArray<readonly [node: string, lastSeenMs: number]>): void {
    this.db.transaction(() => {
      for (const [node, ms] of updates) this.stmts.touch.run(ms, node, ms);
    })();
  }

  markDisconnected(node: string, now: number): void {
    this.stmts.disconnect.run(now, node);
  }

  /**
   * Clears every `connected` flag. Call at start-up: sessions do not survive a restart, and a
   * crash leaves flags set.
   */
  markAllDisconnected(): number {
    return this.stmts.disconnectAll.run().changes;
  }

  list(): AgentRecord[] {
    return (this.stmts.list.all() as Row[]).map(toRecord);
  }

  nodes(): string[] {
    return this.stmts.nodes.all() as string[];
  }

  get(node: string): AgentRecord | null {
    const row = this.stmts.get.get(node) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  /** Forgets a node; true when it existed. */
  remove(node: string): boolean {
    return this.stmts.remove.run(node).changes > 0;
  }
}

function toRecord(row: Row): AgentRecord {
  let host: unknown = null;
  if (row.host_json !== null) {
    try {
      host = JSON.parse(row.host_json);
    } catch {
      host = null;
    }
  }
  return {
    node: row.node,
    firstSeenMs: row.first_seen_ms,
    lastSeenMs: row.last_seen_ms,
    address: row.address,
    version: row.version,
    tokenId: row.token_id,
    intervalMs: row.interval_ms,
    bootId: row.boot_id,
    host,
    connected: row.connected === 1,
  };
}
