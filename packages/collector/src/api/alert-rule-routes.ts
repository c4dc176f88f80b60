import type { StoredAlertRuleJson } from '@ximp/shared';
import { OBJECT_NAME, alertRuleJson, parseAlertRule, type AlertRule } from '../alerting/alert-rule';
import type { StoredAlertRule } from '../alerting/alert-rule-store';
import { alertingOf } from './alerting-deps';
import type { ApiDeps } from './api-deps';
import { HttpError, InvalidObjectError } from './http-error';
import { isoOrNull } from './iso-time';
import { readJsonText } from './request-body';
import type { Route } from './route-table';

/** A rule as the API answers it: the object as written, plus what the store knows. */
export function storedRuleJson(stored: StoredAlertRule): StoredAlertRuleJson {
  return { ...alertRuleJson(stored.rule), built_in: stored.builtIn, created: isoOrNull(stored.createdMs), updated: isoOrNull(stored.updatedMs) };
}

/** Every channel a rule names must exist: a typo would otherwise silence the rule. */
function checkChannels(deps: ApiDeps, rule: AlertRule): void {
  const issues = rule.channels.flatMap((name, i) =>
    alertingOf(deps).channels.get(name) === null ? [{ path: `channels[${i}]`, message: `no channel named "${name}" (create it first: ximp alert channel create)` }] : [],
  );
  if (issues.length > 0) throw new InvalidObjectError(issues);
}

/** SPEC §10 and §14: rules are read by any role, written by editors; every change audited. */
export const ALERT_RULE_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: '/api/v1/alert-rules',
    permission: 'alerts:read',
    handler: ({ deps }) => ({ status: 200, body: alertingOf(deps).rules.list().map(storedRuleJson) }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/alert-rules/:name',
    permission: 'alerts:read',
    handler({ deps, params }) {
      const stored = alertingOf(deps).rules.get(params.name);
      if (stored === null) throw new HttpError(404, 'not_found', OBJECT_NAME.test(params.name) ? `no alert rule named "${params.name}"` : 'no such alert rule');
      return { status: 200, body: storedRuleJson(stored) };
    },
  },
  {
    method: 'POST',
    pattern: '/api/v1/alert-rules',
    permission: 'rules:write',
    async handler({ deps, req, principal, source }) {
      const rule = parseAlertRule(await readJsonText(req), 'request body');
      checkChannels(deps, rule);
      const now = deps.now();
      const stored = alertingOf(deps).rules.create(rule, now);
      deps.audit.record({ actor: principal!.clientId, action: 'alert_rule.create', target: rule.name, source }, now);
      deps.log.info({ rule: rule.name, kind: rule.kind, client: principal!.clientId, remote: source }, 'alert rule created');
      return { status: 201, body: storedRuleJson(stored) };
    },
  },
  {
    method: 'PUT',
    pattern: '/api/v1/alert-rules/:name',
    permission: 'rules:write',
    async handler({ deps, req, params, principal, source }) {
      const rule = parseAlertRule(await readJsonText(req), 'request body');
      checkChannels(deps, rule);
      const now = deps.now();
      const stored = alertingOf(deps).rules.update(params.name, rule, now);
      deps.audit.record({ actor: principal!.clientId, action: 'alert_rule.update', target: rule.name, source }, now);
      deps.log.info({ rule: rule.name, client: principal!.clientId, remote: source }, 'alert rule updated');
      return { status: 200, body: storedRuleJson(stored) };
    },
  },
  {
    method: 'DELETE',
    pattern: '/api/v1/alert-rules/:name',
    permission: 'rules:write',
    handler({ deps, params, principal, source }) {
      alertingOf(deps).rules.delete(params.name);
      const now = deps.now();
      deps.audit.record({ actor: principal!.clientId, action: 'alert_rule.delete', target: params.name, source }, now);
      deps.log.info({ rule: params.name, client: principal!.clientId, remote: source }, 'alert rule deleted');
      return { status: 200, body: { name: params.name, deleted: true } };
    },
  },
];
