import { ErrorCodes, XimpError, redactSecrets } from '@ximp/shared';
import type { Database } from '../store/database';

/** SPEC §10: every change an API client can make. */
export const AUDIT_ACTIONS = [
  'agent_token.create',
  'agent_token.revoke',
  'client.create',
  'client.revoke',
  'client.rotate_secret',
  'tls.renew',
  'store.retention.update',
  'alert_rule.create',
  'alert_rule.update',
  'alert_rule.delete',
  'alert_channel.create',
  'alert_channel.update',
  'alert_channel.delete',
  // SPEC §15: local dashboard users and sign-ins.
  'user.create',
  'user.disable',
  'user.reset_password',
  'session.login',
  'session.login_failed',
  'dashboard.create',
  'dashboard.update',
  'dashboard.delete',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export function isAuditAction(x: unknown): x is AuditAction {
  return typeof x === 'string' && (AUDIT_ACTIONS as readonly string[]).includes(x);
}

export interface AuditInput {
  /** The API client id (or `system` / `init` for the collector itself). */
  actor: string;
  action: AuditAction;
  /** The id or node acted on. */
  target: string;
  /** The caller's address. */
  source: string;
  /** Why it was refused (a failed sign-in: unknown_user, bad_password, disabled, rate_limited). */
  reason?: string;
}

export interface AuditEntry {
  /** ISO 8601 UTC. */
  time: string;
  actor: string;
  action: AuditAction;
  target: string;
  source: string;
  /** Only on entries that have one. */
  reason?: string;
}

export const DEFAULT_AUDIT_LIST_LIMIT = 100;
export const MAX_AUDIT_LIST_LIMIT = 10_000;
const MAX_FIELD_LENGTH = 512;

/**
 * Anything shaped like one of our secrets. Callers pass ids, never secrets; this is the safety
 * net that keeps a mistake from writing a secret into the audit log.
 */
function clean(value: string): string {
  return redactSecrets(String(value).slice(0, MAX_FIELD_LENGTH));
}

interface Row {
  time_ms: number;
  actor: string;
  action: AuditAction;
  target: string;
  source: string;
  reason: string | null;
}

/** The append-only record of every change (SPEC §10). Entries never hold a secret. */
export class AuditLog {
  private readonly stmts;

  constructor(db: Database) {
    this.stmts = {
      insert: db.prepare('INSERT INTO audit_log (time_ms, actor, action, target, source, reason) VALUES (?, ?, ?, ?, ?, ?)'),
      list: db.prepare('SELECT time_ms, actor, action, target, source, reason FROM audit_log ORDER BY id DESC LIMIT ?'),
      listSince: db.prepare('SELECT time_ms, actor, action, target, source, reason FROM audit_log WHERE time_ms >= ? ORDER BY id DESC LIMIT ?'),
    };
  }

  record(input: AuditInput, now: number): AuditEntry {
    if (!isAuditAction(input.action)) {
      throw new XimpError(ErrorCodes.REQUEST_INVALID, 'unknown audit action');
    }
    const row: Row = {
      time_ms: now,
      actor: clean(input.actor),
      action: input.action,
      target: clean(input.target),
      source: clean(input.source),
      reason: input.reason === undefined ? null : clean(input.reason),
    };
    this.stmts.insert.run(row.time_ms, row.actor, row.action, row.target, row.source, row.reason);
    return toEntry(row);
  }

  /** The newest entries first, at most `limit` (default 100, at most 10 000), from `sinceMs` on when given. */
  list(options: { limit?: number; sinceMs?: number } = {}): AuditEntry[] {
    const requested = Number.isFinite(options.limit) ? (options.limit as number) : DEFAULT_AUDIT_LIST_LIMIT;
    const limit = Math.max(0, Math.min(MAX_AUDIT_LIST_LIMIT, Math.floor(requested)));
    const rows = options.sinceMs === undefined ? this.stmts.list.all(limit) : this.stmts.listSince.all(options.sinceMs, limit);
    return (rows as Row[]).map(toEntry);
  }
}

function toEntry(row: Row): AuditEntry {
  const entry: AuditEntry = {
    time: new Date(row.time_ms).toISOString(),
    actor: row.actor,
    action: row.action,
    target: row.target,
    source: row.source,
  };
  if (row.reason !== null) entry.reason = row.reason;
  return entry;
}
