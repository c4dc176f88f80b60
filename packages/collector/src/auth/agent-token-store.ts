import { ErrorCodes, XimpError, isNodeName, NODE_NAME_FORM } from '@ximp/shared';
import type { Database } from '../store/database';
import { generateAgentToken, hashSecret, parseAgentToken } from './agent-token';
import { UNMATCHABLE_HASH, secretMatches } from './secret-hash';

/** A stored token. The secret is never here: only its hash, and that never leaves the store. */
export interface AgentTokenRecord {
  id: string;
  node: string;
  createdMs: number;
  expiresMs: number;
  revokedMs: number | null;
  lastUsedMs: number | null;
}

export type AgentTokenStatus = 'valid' | 'expired' | 'revoked';

export interface CreatedAgentToken {
  id: string;
  node: string;
  createdMs: number;
  expiresMs: number;
  /** Shown once to the operator; the store keeps only the hash of its secret. */
  token: string;
}

export type AgentTokenVerdict =
  | { ok: true; record: AgentTokenRecord }
  | { ok: false; status: 401; reason: 'invalid_token' | 'revoked' | 'expired' }
  | { ok: false; status: 403; reason: 'wrong_node' };

export type RevokeResult = 'revoked' | 'already_revoked' | 'not_found';


interface Row {
  id: string;
  node: string;
  secret_hash: Buffer;
  created_ms: number;
  expires_ms: number;
  revoked_ms: number | null;
  last_used_ms: number | null;
}

const COLUMNS = 'id, node, created_ms, expires_ms, revoked_ms, last_used_ms';

/** Derived status: revoked wins over expired; a token is expired from `expiresMs` on. */
export function agentTokenStatus(record: AgentTokenRecord, now: number): AgentTokenStatus {
  if (record.revokedMs !== null) return 'revoked';
  if (now >= record.expiresMs) return 'expired';
  return 'valid';
}

/** Last-used times kept in memory at most; beyond this the update is dropped and counted. */
const MAX_PENDING_LAST_USED = 100_000;

/** Revocations waiting for the next group commit at most; beyond this one is refused (busy). */
const MAX_PENDING_REVOCATIONS = 100_000;

/** One caller's revocations waiting for the next group commit (one id, or a bulk request's ids). */
interface PendingRevocation {
  ids: readonly string[];
  now: number;
  alongside: ((id: string, result: RevokeResult) => void) | undefined;
  resolve(results: RevokeResult[]): void;
  reject(err: unknown): void;
}

/** Per-node agent tokens (SPEC §4): several valid tokens per node, hash-only at rest. */
export class AgentTokenStore {
  /** Last-used updates not yet written, and those dropped because the buffer was full. */
  readonly lastUsedCounters = { dropped: 0 };
  private readonly stmts;
  /** Token id -> last-used time not yet written (markUsed is batched, like last-seen). */
  private readonly pendingLastUsed = new Map<string, number>();
  /** Revocations asked for in this turn of the event loop, committed together in the next. */
  private pendingRevocations: PendingRevocation[] = [];
  /** Token ids in `pendingRevocations`, for its bound. */
  private pendingRevocationIds = 0;

  constructor(private readonly db: Database) {
    this.stmts = {
      insert: db.prepare(
        'INSERT INTO agent_tokens (id, node, secret_hash, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?)',
      ),
      get: db.prepare(`SELECT ${COLUMNS} FROM agent_tokens WHERE id = ?`),
      getWithHash: db.prepare(`SELECT ${COLUMNS}, secret_hash FROM agent_tokens WHERE id = ?`),
      listAll: db.prepare(`SELECT ${COLUMNS} FROM agent_tokens ORDER BY created_ms, id`),
      listNode: db.prepare(`SELECT ${COLUMNS} FROM agent_tokens WHERE node = ? ORDER BY created_ms, id`),
      revoke: db.prepare('UPDATE agent_tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL'),
      exists: db.prepare('SELECT 1 FROM agent_tokens WHERE id = ?'),
      markUsed: db.prepare('UPDATE agent_tokens SET last_used_ms = ? WHERE id = ?'),
      validNodes: db.prepare('SELECT DISTINCT node FROM agent_tokens WHERE revoked_ms IS NULL AND expires_ms > ?').pluck(),
      unrevokedNodes: db.prepare('SELECT DISTINCT node FROM agent_tokens WHERE revoked_ms IS NULL').pluck(),
      nextExpiry: db.prepare(
        'SELECT MIN(expires_ms) AS next FROM agent_tokens WHERE revoked_ms IS NULL AND expires_ms > ?',
      ),
    };
  }

  /** Creates a token for `node` that expires `expiresInMs` after `now`; the token string is returned once. */
  create(node: string, expiresInMs: number, now: number): CreatedAgentToken {
    if (!isNodeName(node)) {
      throw new XimpError(ErrorCodes.REQUEST_INVALID, `node must be lowercase DNS-style (${NODE_NAME_FORM})`);
    }
    if (!Number.isSafeInteger(expiresInMs) || expiresInMs <= 0) {
      throw new XimpError(ErrorCodes.REQUEST_INVALID, 'expiry must be a positive number of milliseconds');
    }
    const expiresMs = now + expiresInMs;
    // An id collision (36^12 space) is astronomically rare; retry rather than fail.
    for (let attempt = 0; ; attempt++) {
      const generated = generateAgentToken();
      try {
        this.stmts.insert.run(generated.id, node, hashSecret(generated.secret), now, expiresMs);
        return { id: generated.id, node, createdMs: now, expiresMs, token: generated.token };
      } catch (err) {
        if (attempt < 3 && (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') continue;
        throw err;
      }
    }
  }

  /** Tokens ordered by creation time then id; only those of `node` when given. */
  list(node?: string): AgentTokenRecord[] {
    const rows = (node === undefined ? this.stmts.listAll.all() : this.stmts.listNode.all(node)) as Row[];
    return rows.map((row) => this.withPending(toRecord(row)));
  }

  /** Every node with at least one token neither revoked nor expired at `now`. */
  validNodes(now: number): string[] {
    return this.stmts.validNodes.all(now) as string[];
  }

  /** Every node with at least one token not revoked, expired or not. */
  unrevokedNodes(): string[] {
    return this.stmts.unrevokedNodes.all() as string[];
  }

  get(id: string): AgentTokenRecord | null {
    const row = this.stmts.get.get(id) as Row | undefined;
    return row ? this.withPending(toRecord(row)) : null;
  }

  /** Revokes at once; a second revoke reports `already_revoked`, an unknown id `not_found`. */
  revoke(id: string, now: number): RevokeResult {
    if (this.stmts.revoke.run(now, id).changes === 1) return 'revoked';
    return this.stmts.exists.get(id) ? 'already_revoked' : 'not_found';
  }

  /**
   * Like `revoke`, but every revocation asked for in the same turn of the event loop is written in
   * one transaction (one fsync), so a thousand revocations at once take one commit, not a thousand.
   * `alongside` runs inside that transaction with the result (the audit entry), so what it writes
   * is committed with the revocation or not at all. Resolves once committed; on a storage error
   * every revocation of the group rejects and none of them took effect.
   */
  revokeGrouped(id: string, now: number, alongside?: (result: RevokeResult) => void): Promise<RevokeResult> {
    return this.revokeAllGrouped([id], now, alongside && ((_id, result) => alongside(result))).then((results) => results[0]);
  }

  /**
   * Revokes `ids` (in order; an id given twice is `already_revoked` the second time) in the same
   * group commit as `revokeGrouped`, all or none: one bulk request is one transaction, whatever
   * else joins it. `alongside` runs inside the transaction for each id with its result. Refused
   * whole (busy) when the ids would take the waiting revocations past their bound.
   */
  revokeAllGrouped(ids: readonly string[], now: number, alongside?: (id: string, result: RevokeResult) => void): Promise<RevokeResult[]> {
    if (this.pendingRevocationIds + ids.length > MAX_PENDING_REVOCATIONS) {
      return Promise.reject(new XimpError(ErrorCodes.STORE_BUSY, 'too many revocations waiting for their commit'));
    }
    return new Promise<RevokeResult[]>((resolve, reject) => {
      if (this.pendingRevocations.length === 0) setImmediate(() => this.commitRevocations());
      this.pendingRevocations.push({ ids, now, alongside, resolve, reject });
      this.pendingRevocationIds += ids.length;
    });
  }

  private commitRevocations(): void {
    const group = this.pendingRevocations;
    this.pendingRevocations = [];
    this.pendingRevocationIds = 0;
    let results: RevokeResult[][];
    try {
      results = this.db.transaction(() =>
        group.map((r) =>
          r.ids.map((id) => {
            const result = this.revoke(id, r.now);
            r.alongside?.(id, result);
            return result;
          }),
        ),
      )();
    } catch (err) {
      for (const r of group) r.reject(err);
      return;
    }
    for (let i = 0; i < group.length; i++) group[i].resolve(results[i]);
  }

  /**
   * Checks a presented token for `node`. Malformed text, an unknown id and a wrong secret all
   * answer the same `invalid_token` (and an unknown id still costs one comparison), so probing
   * learns nothing; `revoked`, `expired` and `wrong_node` are told only to a caller holding the
   * correct secret.
   */
  verify(tokenText: string, node: string, now: number): AgentTokenVerdict {
    const invalid = { ok: false, status: 401, reason: 'invalid_token' } as const;
    const parsed = parseAgentToken(tokenText);
    if (!parsed) return invalid;
    const row = this.stmts.getWithHash.get(parsed.id) as Row | undefined;
    const matches = secretMatches(parsed.secret, row ? row.secret_hash : UNMATCHABLE_HASH);
    if (!row || !matches) return invalid;
    const record = toRecord(row);
    if (record.revokedMs !== null) return { ok: false, status: 401, reason: 'revoked' };
    if (now >= record.expiresMs) return { ok: false, status: 401, reason: 'expired' };
    if (record.node !== node) return { ok: false, status: 403, reason: 'wrong_node' };
    return { ok: true, record };
  }

  /**
   * Records that the token opened a session (LAST-USED). Kept in memory and written by
   * `flushLastUsed()` in one transaction, so an agent's connect never waits on (or fails with)
   * a database write: the time is best-effort, the session is not.
   */
  markUsed(id: string, now: number): void {
    if (!this.pendingLastUsed.has(id) && this.pendingLastUsed.size >= MAX_PENDING_LAST_USED) {
      this.lastUsedCounters.dropped++;
      return;
    }
    this.pendingLastUsed.set(id, Math.max(now, this.pendingLastUsed.get(id) ?? now));
  }

  /**
   * Writes the pending last-used times in one transaction. On a storage error they stay pending
   * for the next flush (later times win) and the error is thrown to the caller to report.
   */
  flushLastUsed(): void {
    if (this.pendingLastUsed.size === 0) return;
    const updates = [...this.pendingLastUsed];
    this.pendingLastUsed.clear();
    try {
      this.db.transaction(() => {
        for (const [id, ms] of updates) this.stmts.markUsed.run(ms, id);
      })();
    } catch (err) {
      for (const [id, ms] of updates) this.markUsed(id, ms);
      throw err;
    }
  }

  /** A record with its last-used time as known in memory, which may be newer than the row's. */
  private withPending(record: AgentTokenRecord): AgentTokenRecord {
    const pending = this.pendingLastUsed.get(record.id);
    if (pending === undefined || (record.lastUsedMs !== null && record.lastUsedMs >= pending)) return record;
    return { ...record, lastUsedMs: pending };
  }

  /** The earliest expiry after `now` among unrevoked tokens, or null: when the next sessions must close. */
  nextExpiry(now: number): number | null {
    const row = this.stmts.nextExpiry.get(now) as { next: number | null };
    return row.next;
  }
}

function toRecord(row: Row): AgentTokenRecord {
  return {
    id: row.id,
    node: row.node,
    createdMs: row.created_ms,
    expiresMs: row.expires_ms,
    revokedMs: row.revoked_ms,
    lastUsedMs: row.last_used_ms,
  };
}
