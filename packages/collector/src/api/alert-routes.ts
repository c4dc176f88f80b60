import type { ActiveAlertJson, AlertHistoryEntryJson } from '@ximp/shared';
import { OBJECT_NAME } from '../alerting/alert-rule';
import type { HistoryEntry } from '../alerting/alert-history';
import type { KeptAlert } from '../alerting/alert-instances';
import { alertingOf } from './alerting-deps';
import { seesNode } from './bearer-auth';
import { invalidRequest } from './http-error';
import { isoOrNull } from './iso-time';
import { checkNodeName, checkParams } from './request-fields';
import type { Route } from './route-table';
import { parseSince } from './since-param';

const DEFAULT_SINCE_MS = 24 * 3_600_000;
const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 10_000;

export function activeAlertJson(a: KeptAlert): ActiveAlertJson {
  return {
    rule: a.rule,
    instance: a.instance,
    node: a.node,
    labels: a.labels,
    status: a.status,
    active_since: isoOrNull(a.activeSince),
    fired_at: isoOrNull(a.firedAt),
    value: a.value,
  };
}

export function historyJson(e: HistoryEntry): AlertHistoryEntryJson {
  return {
    time: isoOrNull(e.timeMs),
    rule: e.rule,
    instance: e.instance,
    node: e.node,
    event: e.event,
    value: e.value,
    channel: e.channel,
    outcome: e.outcome,
    detail: e.detail,
  };
}

/** `since`: a duration back from now (`24h`) or an ISO 8601 time; 24h when absent. */
function sinceMs(text: string | null, now: number): number {
  return text === null ? now - DEFAULT_SINCE_MS : parseSince(text, now);
}

function limitOf(text: string | null): number {
  if (text === null) return DEFAULT_LIMIT;
  const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_LIMIT)) throw invalidRequest(`limit: expected a whole number from 1 to ${MAX_LIMIT}`);
  return n;
}

/** SPEC §14: active alerts and their history, read by any role. */
export const ALERT_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: '/api/v1/alerts',
    permission: 'alerts:read',
    // A node-scoped client sees its nodes' alerts; certificate alerts (no node) are not its own.
    handler: ({ deps, principal }) => ({
      status: 200,
      body: alertingOf(deps)
        .active()
        .filter((a) => principal?.nodes == null || (a.node !== null && seesNode(principal, a.node)))
        .map(activeAlertJson),
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/alerts/history',
    permission: 'alerts:read',
    handler({ deps, query, principal }) {
      checkParams(query, ['since', 'node', 'rule', 'limit']);
      const node = query.get('node');
      const rule = query.get('rule');
      if (rule !== null && !OBJECT_NAME.test(rule)) throw invalidRequest('rule: expected a rule name');
      const entries = alertingOf(deps).history.list({
        sinceMs: sinceMs(query.get('since'), deps.now()),
        node: node === null ? undefined : checkNodeName(node, 'node'),
        rule: rule ?? undefined,
        limit: limitOf(query.get('limit')),
        // '' stands for entries without a node (the collector's certificates): never a scoped client's.
        nodeVisible: principal?.nodes == null ? undefined : (n) => n !== '' && seesNode(principal, n),
      });
      return { status: 200, body: entries.map(historyJson) };
    },
  },
];
