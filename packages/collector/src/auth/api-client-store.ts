import { ErrorCodes, XimpError, isApiClientId, isApiClientSecret, type NodeGlob } from '@ximp/shared';
import type { Database } from '../store/database';
import { isRole, type Role } from './roles';
import { UNMATCHABLE_HASH, hashSecret, randomAlphanumeric, secretMatches } from './secret-hash';

/** An API client as listed; the secret hash never leaves the store. */
export interface ApiClientRecord {
  id: string;
  name: string;
  role: Role;
  createdMs: number;
  lastUsedMs: number | null;
  revokedMs: number | null;
  /** When the secret was last rotated; null if never. */
  secretRotatedMs: number | null;
  status: 'active' | 'revoked';
  /** The nodes it may see (a node glob's text), or null for every node. */
  nodes: string | null;
}

export interface CreatedApiClient {
  clientId: string;
  /** Shown once; only its hash is stored. */
  clientSecret: string;
  name: string;
  role: Role;
  createdMs: number;
  nodes: string | null;
}

const CLIENT_ID_PREFIX = 'xc_';
const CLIENT_SECRET_PREFIX = 'xcs_';
const MAX_NAME_LENGTH = 200;

interface Row {
  id: string;
  name: string;
  role: string;
  secret_hash: Buffer;
  created_ms: number;
  last_used_ms: number | null;
  revoked_ms: number | null;
  secret_rotated_ms: number | null;
  nodes: string | null;
}

const COLUMNS = 'id, name, role, created_ms, last_used_ms, revoked_ms, secret_rotated_ms, nodes';

/** True when `text` has the shape of an API client id (the rule lives in @ximp/shared). */
export { isApiClientId };

/** API clients of the OAuth 2.0 client credentials grant (SPEC §10). */
export class ApiClientStore {
  private readonly stmts;

  constructor(private readonly db: Database) {
    this.stmts = {
      insert: db.prepare('INSERT INTO api_clients (id, name, role, secret_hash, created_ms, nodes) VALUES (?, ?, ?, ?, ?, ?)'),
      list: db.prepare(`SELECT ${COLUMNS} FROM api_clients ORDER BY created_ms, id`),
      get: db.prepare(`SELECT ${COLUMNS} FROM api_clients WHERE id = ?`),
      getWithHash: db.prepare(`SELECT ${COLUMNS}, secret_hash FROM api_clients WHERE id = ?`),
      revoke: db.prepare('UPDATE api_clients SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL'),
      exists: db.prepare('SELECT 1 FROM api_clients WHERE id = ?'),
      markUsed: db.prepare('UPDATE api_clients SET last_used_ms = ? WHERE id = ?'),
      setHash: db.prepare('UPDATE api_clients SET secret_hash = ?, secret_rotated_ms = ? WHERE id = ? AND revoked_ms IS NULL'),
      dropAccessTokens: db.prepare('DELETE FROM access_tokens WHERE client_id = ?'),
      remove: db.prepare('DELETE FROM api_clients WHERE id = ?'),
      otherActiveAdmins: db.prepare(
        "SELECT COUNT(*) AS n FROM api_clients WHERE role = 'monitoring-admin' AND revoked_ms IS NULL AND id <> ?",
      ),
      getRole: db.prepare('SELECT role, revoked_ms FROM api_clients WHERE id = ?'),
    };
  }

  /** `nodes`: the glob limiting what it sees (parseNodeGlob's text), or null for every node. */
  create(name: string, role: Role, now: number, nodes: NodeGlob | null = null): CreatedApiClient {
    if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(name)) {
      throw new XimpError(ErrorCodes.REQUEST_INVALID, `client name must be 1 to ${MAX_NAME_LENGTH} printable characters`);
    }
    if (!isRole(role)) {
      throw new XimpError(ErrorCodes.REQUEST_INVALID, 'role must be monitoring-viewer, monitoring-editor or monitoring-admin');
    }
    const clientSecret = newSecret();
    for (let attempt = 0; ; attempt++) {
      const clientId = CLIENT_ID_PREFIX + randomAlphanumeric(12);
      try {
        this.stmts.insert.run(clientId, name, role, hashSecret(clientSecret), now, nodes?.text ?? null);
        return { clientId, clientSecret, name, role, createdMs: now, nodes: nodes?.text ?? null };
      } catch (err) {
        if (attempt < 3 && (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') continue;
        throw err;
      }
    }
  }

  list(): ApiClientRecord[] {
    return (this.stmts.list.all() as Row[]).map(toRecord);
  }

  get(id: string): ApiClientRecord | null {
    const row = this.stmts.get.get(id) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  /**
   * Revokes the client and drops its access tokens; access-token checks join on the client too.
   * The last active monitoring-admin is kept ('last_admin'): without it nobody could manage clients.
   */
  revoke(id: string, now: number): 'revoked' | 'already_revoked' | 'not_found' | 'last_admin' {
    return this.db.transaction((): 'revoked' | 'already_revoked' | 'not_found' | 'last_admin' => {
      const current = this.stmts.getRole.get(id) as { role: string; revoked_ms: number | null } | undefined;
      if (current === undefined) return 'not_found';
      if (current.revoked_ms !== null) return 'already_revoked';
      if (current.role === 'monitoring-admin' && (this.stmts.otherActiveAdmins.get(id) as { n: number }).n === 0) return 'last_admin';
      if (this.stmts.revoke.run(now, id).changes === 1) {
        this.stmts.dropAccessTokens.run(id);
        return 'revoked';
      }
      return this.stmts.exists.get(id) ? 'already_revoked' : 'not_found';
    })();
  }

  /**
   * Deletes a client and its access tokens without a trace: only for undoing a creation whose
   * secret never reached anyone (a failed `init`). Everything else revokes, which keeps the record.
   */
  remove(id: string): boolean {
    return this.db.transaction((): boolean => {
      this.stmts.dropAccessTokens.run(id);
      return this.stmts.remove.run(id).changes === 1;
    })();
  }

  /**
   * Checks client credentials in constant time (an unknown id still costs one comparison).
   * Returns the record of an active client and records the use; null otherwise.
   */
  verify(clientId: string, secret: string, now: number): ApiClientRecord | null {
    if (typeof clientId !== 'string' || typeof secret !== 'string') return null;
    const row = isApiClientId(clientId) ? (this.stmts.getWithHash.get(clientId) as Row | undefined) : undefined;
    const wellFormed = isApiClientSecret(secret);
    const matches = secretMatches(secret, row && wellFormed ? row.secret_hash : UNMATCHABLE_HASH);
    if (!row || !wellFormed || !matches || row.revoked_ms !== null || !isRole(row.role)) return null;
    this.stmts.markUsed.run(now, clientId);
    return toRecord({ ...row, last_used_ms: now });
  }

  /**
   * Gives an active client a new secret (returned once) and drops the access tokens issued under
   * the old one, since a rotation usually means the old secret leaked. Null when the client is
   * unknown or revoked.
   */
  rotateSecret(id: string, now: number): string | null {
    const secret = newSecret();
    return this.db.transaction((): string | null => {
      if (this.stmts.setHash.run(hashSecret(secret), now, id).changes !== 1) return null;
      this.stmts.dropAccessTokens.run(id);
      return secret;
    })();
  }
}

function newSecret(): string {
  return CLIENT_SECRET_PREFIX + randomAlphanumeric(52);
}

function toRecord(row: Row): ApiClientRecord {
  return {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    createdMs: row.created_ms,
    lastUsedMs: row.last_used_ms,
    revokedMs: row.revoked_ms,
    secretRotatedMs: row.secret_rotated_ms,
    nodes: row.nodes,
    status: row.revoked_ms === null ? 'active' : 'revoked',
  };
}
