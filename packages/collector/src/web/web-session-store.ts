import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isRole, type Role } from '../auth/roles';
import type { Database } from '../store/database';

/** How the user signed in: a local password or the organisation's identity provider. */
export type SignInMethod = 'local' | 'oidc';

/** Who a session is for, as sign-in established it. */
export interface SessionUser {
  /** The local user name, or the OIDC subject's name: the principal is `<method>:<name>`. */
  name: string;
  method: SignInMethod;
  /** What the dashboard shows; the name when there is nothing better. */
  displayName?: string;
  role: Role;
  /** A node glob's text, or null for every node. */
  nodes: string | null;
  mustChangePassword?: boolean;
}

export interface WebSession {
  name: string;
  method: SignInMethod;
  displayName: string;
  role: Role;
  nodes: string | null;
  csrfToken: string;
  mustChangePassword: boolean;
  createdMs: number;
  lastSeenMs: number;
  /** The idle deadline: last seen + idle timeout. */
  idleExpiresMs: number;
  /** The absolute deadline: created + maximum age. */
  expiresMs: number;
}

export interface WebSessionOptions {
  /** `dashboard.session_idle_timeout` (30m). */
  idleTimeoutMs: number;
  /** `dashboard.session_max_age` (12h). */
  maxAgeMs: number;
  /** Sessions one user may hold at once; the oldest is closed beyond (20). */
  maxPerUser?: number;
  /** Expired rows deleted per sign-in at most, so a sign-in never waits on a large sweep (1000). */
  pruneBatch?: number;
}

/** `__Host-ximp-session` values: 32 random bytes in base64url (43 characters). */
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

interface Row {
  cookie_hash: Buffer;
  method: string;
  user_name: string;
  display_name: string;
  role: string;
  nodes: string | null;
  csrf_token: string;
  must_change_password: number;
  created_ms: number;
  last_seen_ms: number;
  expires_ms: number;
}

function cookieHash(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Server-side dashboard sessions (SPEC §15). The cookie value is a 256-bit random secret the
 * server keeps only the SHA-256 of, so a leaked database opens no session. A session ends when
 * idle longer than the idle timeout, at its absolute age, at sign-out, or when its user is
 * disabled or reset; every check reads the row, so that takes effect at once.
 */
export class WebSessionStore {
  private readonly stmts;
  private readonly maxPerUser: number;
  private readonly pruneBatch: number;

  constructor(
    private readonly db: Database,
    private readonly options: WebSessionOptions,
  ) {
    this.maxPerUser = options.maxPerUser ?? 20;
    this.pruneBatch = options.pruneBatch ?? 1000;
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO web_sessions (cookie_hash, method, user_name, display_name, role, nodes, csrf_token, must_change_password,
          created_ms, last_seen_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      get: db.prepare('SELECT * FROM web_sessions WHERE cookie_hash = ?'),
      touch: db.prepare('UPDATE web_sessions SET last_seen_ms = ? WHERE cookie_hash = ? AND last_seen_ms < ?'),
      remove: db.prepare('DELETE FROM web_sessions WHERE cookie_hash = ?'),
      removeOfUser: db.prepare('DELETE FROM web_sessions WHERE method = ? AND user_name = ?'),
      oldestOfUser: db.prepare(
        'SELECT cookie_hash FROM web_sessions WHERE method = ? AND user_name = ? ORDER BY created_ms DESC LIMIT -1 OFFSET ?',
      ),
      clearMustChange: db.prepare('UPDATE web_sessions SET must_change_password = 0 WHERE cookie_hash = ?'),
      prune: db.prepare(
        `DELETE FROM web_sessions WHERE rowid IN (
          SELECT rowid FROM web_sessions WHERE expires_ms <= ? UNION SELECT rowid FROM web_sessions WHERE last_seen_ms <= ? LIMIT ?)`,
      ),
      count: db.prepare('SELECT COUNT(*) AS n FROM web_sessions'),
    };
  }

  /** Opens a session; the cookie value is returned once and only its hash is stored. */
  create(user: SessionUser, now: number): { cookie: string; session: WebSession } {
    const cookie = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const expiresMs = now + this.options.maxAgeMs;
    const row: Row = {
      cookie_hash: cookieHash(cookie),
      method: user.method,
      user_name: user.name,
      display_name: user.displayName ?? user.name,
      role: user.role,
      nodes: user.nodes,
      csrf_token: csrfToken,
      must_change_password: user.mustChangePassword === true ? 1 : 0,
      created_ms: now,
      last_seen_ms: now,
      expires_ms: expiresMs,
    };
    this.db.transaction(() => {
      this.prune(now);
      this.stmts.insert.run(
        row.cookie_hash, row.method, row.user_name, row.display_name, row.role, row.nodes, row.csrf_token,
        row.must_change_password, row.created_ms, row.last_seen_ms, row.expires_ms,
      );
      // Bounded per user: the newest `maxPerUser` stay.
      for (const old of this.stmts.oldestOfUser.all(user.method, user.name, this.maxPerUser) as { cookie_hash: Buffer }[]) {
        this.stmts.remove.run(old.cookie_hash);
      }
    })();
    return { cookie, session: this.toSession(row) };
  }

  /**
   * The live session behind a cookie value without refreshing its idle timer (a long-lived
   * stream re-checking that its session still holds); null as for authenticate.
   */
  find(cookie: string, now: number): WebSession | null {
    const row = this.live(cookie, now);
    return row === null ? null : this.toSession(row);
  }

  /**
   * The live session behind a cookie value, its idle timer refreshed; null when the value is
   * malformed, unknown, idle too long or too old (an expired row is deleted on the way).
   */
  authenticate(cookie: string, now: number): WebSession | null {
    const row = this.live(cookie, now);
    if (row === null) return null;
    if (row.last_seen_ms < now) {
      this.stmts.touch.run(now, row.cookie_hash, now);
      row.last_seen_ms = now;
    }
    return this.toSession(row);
  }

  /** Ends the session behind a cookie value (sign-out). True when there was one. */
  delete(cookie: string): boolean {
    if (!COOKIE_VALUE.test(cookie)) return false;
    return this.stmts.remove.run(cookieHash(cookie)).changes === 1;
  }

  /** Ends every session of a user at once (disabled, password reset); returns how many. */
  deleteOfUser(name: string, method: SignInMethod = 'local'): number {
    return this.stmts.removeOfUser.run(method, name).changes;
  }

  /** After a password change: this session may use the API again. */
  clearMustChangePassword(cookie: string): void {
    if (COOKIE_VALUE.test(cookie)) this.stmts.clearMustChange.run(cookieHash(cookie));
  }

  /** True when `presented` is this session's CSRF token (constant-time compare). */
  csrfMatches(session: WebSession, presented: string | undefined): boolean {
    if (typeof presented !== 'string') return false;
    const a = createHash('sha256').update(presented, 'utf8').digest();
    const b = createHash('sha256').update(session.csrfToken, 'utf8').digest();
    return timingSafeEqual(a, b);
  }

  /** Deletes at most one batch of expired rows; returns how many went. */
  prune(now: number): number {
    return this.stmts.prune.run(now, now - this.options.idleTimeoutMs, this.pruneBatch).changes;
  }

  /** Sessions stored, expired ones not yet pruned included. */
  count(): number {
    return (this.stmts.count.get() as { n: number }).n;
  }

  private live(cookie: string, now: number): Row | null {
    if (typeof cookie !== 'string' || !COOKIE_VALUE.test(cookie)) return null;
    const hash = cookieHash(cookie);
    const row = this.stmts.get.get(hash) as Row | undefined;
    if (row === undefined) return null;
    if (now >= row.expires_ms || now - row.last_seen_ms >= this.options.idleTimeoutMs || !isRole(row.role)) {
      this.stmts.remove.run(hash);
      return null;
    }
    return row;
  }

  private toSession(row: Row): WebSession {
    return {
      name: row.user_name,
      method: row.method === 'oidc' ? 'oidc' : 'local',
      displayName: row.display_name,
      role: row.role as Role,
      nodes: row.nodes,
      csrfToken: row.csrf_token,
      mustChangePassword: row.must_change_password === 1,
      createdMs: row.created_ms,
      lastSeenMs: row.last_seen_ms,
      idleExpiresMs: Math.min(row.last_seen_ms + this.options.idleTimeoutMs, row.expires_ms),
      expiresMs: row.expires_ms,
    };
  }
}
