import { ErrorCodes, XimpError, type NodeGlob } from '@ximp/shared';
import { isRole, type Role } from '../auth/roles';
import type { Database } from '../store/database';
import { oneTimePassword } from './one-time-password';
import { hashPassword, verifyNoPassword, verifyPassword } from './password-hash';

/** SPEC §15: a local user's name. */
export const USER_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const USER_NAME_FORM = 'a lowercase name of 1 to 64 characters a-z, 0-9, ".", "_" or "-", starting with a letter or digit';

export function isUserName(x: unknown): x is string {
  return typeof x === 'string' && USER_NAME_PATTERN.test(x);
}

export const MIN_PASSWORD_LENGTH = 12;
/** Bounds the work one sign-in can ask of scrypt's first step. */
export const MAX_PASSWORD_LENGTH = 1024;

/** A local user as listed; the hash never leaves the store. */
export interface LocalUser {
  name: string;
  role: Role;
  /** The nodes it may see (a node glob's text), or null for every node. */
  nodes: string | null;
  disabled: boolean;
  mustChangePassword: boolean;
  createdMs: number;
  lastLoginMs: number | null;
}

/** Why a sign-in failed: kept in the audit entry, never told to the caller. */
export type SignInFailure = 'unknown_user' | 'bad_password' | 'disabled';

export type PasswordCheck = { ok: true; user: LocalUser } | { ok: false; reason: SignInFailure };

interface Row {
  name: string;
  role: string;
  nodes: string | null;
  password_hash: string;
  must_change_password: number;
  disabled_ms: number | null;
  created_ms: number;
  last_login_ms: number | null;
}

function invalid(message: string): XimpError {
  return new XimpError(ErrorCodes.REQUEST_INVALID, message);
}

/** Local dashboard users (SPEC §15): scrypt hashes, one-time passwords, disable and reset. */
export class LocalUserStore {
  private readonly stmts;

  constructor(db: Database) {
    this.stmts = {
      insert: db.prepare(
        'INSERT INTO users (name, role, nodes, password_hash, must_change_password, created_ms) VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT (name) DO NOTHING',
      ),
      list: db.prepare('SELECT * FROM users ORDER BY name'),
      get: db.prepare('SELECT * FROM users WHERE name = ?'),
      disable: db.prepare('UPDATE users SET disabled_ms = ? WHERE name = ? AND disabled_ms IS NULL'),
      setPassword: db.prepare('UPDATE users SET password_hash = ?, must_change_password = ? WHERE name = ?'),
      markLogin: db.prepare('UPDATE users SET last_login_ms = ? WHERE name = ?'),
    };
  }

  /** Creates a user with a one-time password (returned once). Throws XIMP_ERR_CONFLICT when the name exists. */
  async create(name: string, role: Role, nodes: NodeGlob | null, now: number): Promise<{ user: LocalUser; password: string }> {
    if (!isUserName(name)) throw invalid(`name: expected ${USER_NAME_FORM}`);
    if (!isRole(role)) throw invalid('role: expected monitoring-viewer, monitoring-editor or monitoring-admin');
    const password = oneTimePassword();
    const hash = await hashPassword(password);
    if (this.stmts.insert.run(name, role, nodes?.text ?? null, hash, now).changes !== 1) {
      throw new XimpError(ErrorCodes.CONFLICT, `user "${name}" already exists`);
    }
    return { user: this.get(name)!, password };
  }

  list(): LocalUser[] {
    return (this.stmts.list.all() as Row[]).map(toUser);
  }

  get(name: string): LocalUser | null {
    const row = this.stmts.get.get(name) as Row | undefined;
    return row ? toUser(row) : null;
  }

  /**
   * Checks a name and password. Every outcome costs one scrypt derivation (an unknown name a
   * dummy one, a disabled user a real one), so timing tells no name and no state apart.
   */
  async checkPassword(name: string, password: string): Promise<PasswordCheck> {
    const row = isUserName(name) ? (this.stmts.get.get(name) as Row | undefined) : undefined;
    if (row === undefined || !isRole(row.role)) {
      await verifyNoPassword(password);
      return { ok: false, reason: 'unknown_user' };
    }
    const matches = await verifyPassword(password, row.password_hash);
    if (!matches) return { ok: false, reason: 'bad_password' };
    if (row.disabled_ms !== null) return { ok: false, reason: 'disabled' };
    return { ok: true, user: toUser(row) };
  }

  markLogin(name: string, now: number): void {
    this.stmts.markLogin.run(now, name);
  }

  /** 'disabled', 'already_disabled' or 'not_found'. The caller closes the user's sessions. */
  disable(name: string, now: number): 'disabled' | 'already_disabled' | 'not_found' {
    if (this.stmts.disable.run(now, name).changes === 1) return 'disabled';
    return this.stmts.get.get(name) === undefined ? 'not_found' : 'already_disabled';
  }

  /** A new one-time password (returned once) that must be changed at the next sign-in; null for an unknown user. */
  async resetPassword(name: string): Promise<string | null> {
    if (this.get(name) === null) return null;
    const password = oneTimePassword();
    const hash = await hashPassword(password);
    return this.stmts.setPassword.run(hash, 1, name).changes === 1 ? password : null;
  }

  /**
   * Replaces the password after checking the current one. Throws XIMP_ERR_REQUEST_INVALID naming
   * the rule a new password breaks; returns false when the current password is wrong.
   */
  async changePassword(name: string, current: string, next: string): Promise<boolean> {
    if (next.length < MIN_PASSWORD_LENGTH) throw invalid(`new_password: at least ${MIN_PASSWORD_LENGTH} characters`);
    if (next.length > MAX_PASSWORD_LENGTH) throw invalid(`new_password: at most ${MAX_PASSWORD_LENGTH} characters`);
    if (next === current) throw invalid('new_password: must differ from the current password');
    const check = await this.checkPassword(name, current);
    if (!check.ok) return false;
    const hash = await hashPassword(next);
    this.stmts.setPassword.run(hash, 0, name);
    return true;
  }
}

function toUser(row: Row): LocalUser {
  return {
    name: row.name,
    role: row.role as Role,
    nodes: row.nodes,
    disabled: row.disabled_ms !== null,
    mustChangePassword: row.must_change_password === 1,
    createdMs: row.created_ms,
    lastLoginMs: row.last_login_ms,
  };
}
