import type { AuditEntryJson } from '@ximp/shared';
/**
 * The audit page's filters. `GET /api/v1/audit` takes `since` and `limit`; the action, the actor
 * and the end of the time range are applied here to what it answered.
 */

export interface AuditFilter {
  /** Exact action, or '' for any. */
  action: string;
  /** Part of the actor (client id, `user:NAME`, `oidc:NAME`), any case; '' for any. */
  actor: string;
  /** `<input type="datetime-local">` values (the browser's time zone), or ''. */
  from: string;
  to: string;
}

export const AUDIT_LIMIT = 1000;

/** Actions the collector records (SPEC §10 and the dashboard's); the select also offers any other it sees. */
export const KNOWN_AUDIT_ACTIONS = [
  'agent_token.create',
  'agent_token.revoke',
  'alert_channel.create',
  'alert_channel.delete',
  'alert_channel.update',
  'alert_rule.create',
  'alert_rule.delete',
  'alert_rule.update',
  'client.create',
  'client.revoke',
  'client.rotate_secret',
  'dashboard.create',
  'dashboard.delete',
  'dashboard.update',
  'session.login',
  'session.login_failed',
  'store.retention.update',
  'tls.renew',
  'user.create',
  'user.disable',
  'user.reset_password',
] as const;

/** A datetime-local value as epoch ms (the browser's zone), or null when empty or not a time. */
export function localInputMs(value: string): number | null {
  if (value.trim() === '') return null;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? null : ms;
}

/** The query string for the API: the start of the range and the page's limit. */
export function auditQuery(f: AuditFilter): string {
  const params = new URLSearchParams();
  const from = localInputMs(f.from);
  if (from !== null) params.set('since', new Date(from).toISOString());
  params.set('limit', String(AUDIT_LIMIT));
  return `?${params.toString()}`;
}

/** The first ms after the range's end: a value to the minute takes in that whole minute. */
function endMs(value: string): number | null {
  const ms = localInputMs(value);
  if (ms === null) return null;
  return /T\d\d:\d\d$/.test(value.trim()) ? ms + 60_000 : ms + 1;
}

/** The entries that pass the filters the API does not apply. */
export function filterAudit(entries: readonly AuditEntryJson[], f: AuditFilter): AuditEntryJson[] {
  const end = endMs(f.to);
  const actor = f.actor.trim().toLowerCase();
  return entries.filter(
    (e) => (f.action === '' || e.action === f.action) && (actor === '' || e.actor.toLowerCase().includes(actor)) && (end === null || Date.parse(e.time) < end),
  );
}

/** The action choices: every known action and any other the entries hold, sorted. */
export function actionOptions(entries: readonly AuditEntryJson[]): string[] {
  return [...new Set<string>([...KNOWN_AUDIT_ACTIONS, ...entries.map((e) => e.action)])].sort();
}

/** A problem with the range as text, or null. */
export function rangeProblem(f: AuditFilter): string | null {
  if (f.from.trim() !== '' && localInputMs(f.from) === null) return 'From: not a time';
  if (f.to.trim() !== '' && localInputMs(f.to) === null) return 'To: not a time';
  const from = localInputMs(f.from);
  const to = localInputMs(f.to);
  if (from !== null && to !== null && to < from) return 'To is before From';
  return null;
}
