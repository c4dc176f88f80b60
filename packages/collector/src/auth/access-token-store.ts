import { ErrorCodes, XimpError, isAccessToken } from '@ximp/shared';
import type { Database } from '../store/database';
import { isRole, type Role } from './roles';
import { hashSecret, randomAlphanumeric } from './secret-hash';

/** Live access tokens kept per client by default; issuing beyond this drops that client's oldest. */
export const MAX_ACCESS_TOKENS_PER_CLIENT = 1000;

export interface IssuedAccessToken {
  accessToken: string;
  /** Seconds, as OAuth 2.0's `expires_in`. */
  expiresIn: number;
}

/**
 * Opaque bearer tokens of the client credentials grant (SPEC §10). Stored as SHA-256 hashes
 * (the token is 268 random bits, so a fast hash suffices and the lookup by hash is an index
 * probe that reveals nothing about other tokens). Every check joins the client, so revoking a
 * client takes effect on the next request.
 */
export class AccessTokenStore {
  private readonly stmts;
  private readonly maxPerClient: number;

  constructor(
    private readonly db: Database,
    options: { maxPerClient?: number } = {},
  ) {
    this.maxPerClient = Math.max(1, options.maxPerClient ?? MAX_ACCESS_TOKENS_PER_CLIENT);
    this.stmts = {
      insert: db.prepare('INSERT INTO access_tokens (token_hash, client_id, issued_ms, expires_ms) VALUES (?, ?, ?, ?)'),
      verify: db.prepare(
        `SELECT c.id AS client_id, c.role AS role, c.nodes AS nodes
           FROM access_tokens t JOIN api_clients c ON c.id = t.client_id
          WHERE t.token_hash = ? AND t.expires_ms > ? AND c.revoked_ms IS NULL`,
      ),
      purgeClientExpired: db.prepare('DELETE FROM access_tokens WHERE client_id = ? AND expires_ms <= ?'),
      countClient: db.prepare('SELECT COUNT(*) AS n FROM access_tokens WHERE client_id = ?'),
      trimClient: db.prepare(
        `DELETE FROM access_tokens WHERE client_id = ? AND token_hash NOT IN
           (SELECT token_hash FROM access_tokens WHERE client_id = ? ORDER BY expires_ms DESC LIMIT ?)`,
      ),
      purgeExpired: db.prepare('DELETE FROM access_tokens WHERE expires_ms <= ?'),
      revoke: db.prepare('DELETE FROM access_tokens WHERE token_hash = ?'),
      revokeOwn: db.prepare('DELETE FROM access_tokens WHERE token_hash = ? AND client_id = ?'),
      revokeClient: db.prepare('DELETE FROM access_tokens WHERE client_id = ?'),
    };
  }

  /** Issues a token for an (already authenticated) client, valid `ttlMs` from `now`. */
  issue(clientId: string, ttlMs: number, now: number): IssuedAccessToken {
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1000) {
      throw new XimpError(ErrorCodes.REQUEST_INVALID, 'access token lifetime must be at least 1 s');
    }
    const accessToken = 'xat_' + randomAlphanumeric(52);
    this.db.transaction(() => {
      this.stmts.purgeClientExpired.run(clientId, now);
      this.stmts.insert.run(hashSecret(accessToken), clientId, now, now + ttlMs);
      const { n } = this.stmts.countClient.get(clientId) as { n: number };
      if (n > this.maxPerClient) this.stmts.trimClient.run(clientId, clientId, this.maxPerClient);
    })();
    return { accessToken, expiresIn: Math.floor(ttlMs / 1000) };
  }

  /**
   * The client, role and node scope (a glob's text, null for every node) behind a live token of
   * an active client; null for anything else.
   */
  verify(accessToken: string, now: number): { clientId: string; role: Role; nodes: string | null } | null {
    if (!isAccessToken(accessToken)) return null;
    const row = this.stmts.verify.get(hashSecret(accessToken), now) as { client_id: string; role: string; nodes: string | null } | undefined;
    if (!row || !isRole(row.role)) return null;
    return { clientId: row.client_id, role: row.role, nodes: row.nodes };
  }

  /**
   * RFC 7009: revokes a token only if it was issued to `clientId`; a token of another client (or
   * none at all) is left alone, and the caller is not told which. True when one was revoked.
   */
  revokeOwn(accessToken: string, clientId: string): boolean {
    if (!isAccessToken(accessToken)) return false;
    return this.stmts.revokeOwn.run(hashSecret(accessToken), clientId).changes > 0;
  }

  /** Revokes one token; true when it existed. */
  revoke(accessToken: string): boolean {
    if (!isAccessToken(accessToken)) return false;
    return this.stmts.revoke.run(hashSecret(accessToken)).changes > 0;
  }

  /** Drops every token of a client; returns how many. */
  revokeClient(clientId: string): number {
    return this.stmts.revokeClient.run(clientId).changes;
  }

  /** Deletes expired tokens; returns how many. Run it periodically. */
  purgeExpired(now: number): number {
    return this.stmts.purgeExpired.run(now).changes;
  }
}
