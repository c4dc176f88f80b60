import { can } from '../auth/roles';
import { OBJECT_NAME } from '../alerting/alert-rule';
import { channelJson, parseChannelDefinition } from '../alerting/channel-definition';
import type { ChannelChange, StoredChannel } from '../alerting/channel-store';
import { alertingOf } from './alerting-deps';
import type { ApiDeps } from './api-deps';
import { HttpError } from './http-error';
import { isoOrNull } from './iso-time';
import { readJsonText } from './request-body';
import type { Route } from './route-table';

/** A channel as an editor sees it: settings, and `"set"` for each stored secret. */
export function storedChannelJson(c: StoredChannel): Record<string, unknown> {
  return { ...channelJson(c, c.secretFields), created: isoOrNull(c.createdMs), updated: isoOrNull(c.updatedMs) };
}

function notFound(name: string): HttpError {
  return new HttpError(404, 'not_found', OBJECT_NAME.test(name) ? `no alert channel named "${name}"` : 'no such alert channel');
}

/** The audit target: the channel, and which secrets changed (by name, never by value). */
function auditTarget(change: ChannelChange): string {
  return change.secretsChanged.length === 0 ? change.channel.name : `${change.channel.name} (secrets changed: ${change.secretsChanged.join(', ')})`;
}

function rulesUsing(deps: ApiDeps, channel: string): string[] {
  return alertingOf(deps)
    .rules.list()
    .filter((r) => r.rule.channels.includes(channel))
    .map((r) => r.rule.name);
}

/**
 * SPEC §10 and §14: viewers see channel names and types only; editors see settings (secrets as
 * `"set"`), create, change, delete and test channels; every change audited without a secret.
 */
export const ALERT_CHANNEL_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: '/api/v1/alert-channels',
    permission: 'alerts:read',
    handler({ deps, principal }) {
      const channels = alertingOf(deps).channels.list();
      const full = can(principal!.role, 'channels:write');
      return { status: 200, body: channels.map((c) => (full ? storedChannelJson(c) : { name: c.name, type: c.type })) };
    },
  },
  {
    method: 'GET',
    pattern: '/api/v1/alert-channels/:name',
    permission: 'channels:write',
    handler({ deps, params }) {
      const c = alertingOf(deps).channels.get(params.name);
      if (c === null) throw notFound(params.name);
      return { status: 200, body: storedChannelJson(c) };
    },
  },
  {
    method: 'POST',
    pattern: '/api/v1/alert-channels',
    permission: 'channels:write',
    async handler({ deps, req, principal, source }) {
      const def = parseChannelDefinition(await readJsonText(req), 'request body');
      const now = deps.now();
      const change = alertingOf(deps).channels.create(def, now);
      deps.audit.record({ actor: principal!.clientId, action: 'alert_channel.create', target: auditTarget(change), source }, now);
      deps.log.info({ channel: def.name, type: def.type, client: principal!.clientId, remote: source }, 'alert channel created');
      return { status: 201, body: storedChannelJson(change.channel) };
    },
  },
  {
    method: 'PUT',
    pattern: '/api/v1/alert-channels/:name',
    permission: 'channels:write',
    async handler({ deps, req, params, principal, source }) {
      const def = parseChannelDefinition(await readJsonText(req), 'request body');
      const now = deps.now();
      const change = alertingOf(deps).channels.update(params.name, def, now);
      deps.audit.record({ actor: principal!.clientId, action: 'alert_channel.update', target: auditTarget(change), source }, now);
      deps.log.info({ channel: def.name, secrets_changed: change.secretsChanged, client: principal!.clientId, remote: source }, 'alert channel updated');
      return { status: 200, body: storedChannelJson(change.channel) };
    },
  },
  {
    method: 'DELETE',
    pattern: '/api/v1/alert-channels/:name',
    permission: 'channels:write',
    handler({ deps, params, principal, source }) {
      const alerting = alertingOf(deps);
      if (alerting.channels.get(params.name) === null) throw notFound(params.name);
      const users = rulesUsing(deps, params.name);
      if (users.length > 0) throw new HttpError(409, 'conflict', `channel "${params.name}" is used by rules ${users.join(', ')}: remove it from them first`);
      alerting.channels.delete(params.name);
      const now = deps.now();
      deps.audit.record({ actor: principal!.clientId, action: 'alert_channel.delete', target: params.name, source }, now);
      deps.log.info({ channel: params.name, client: principal!.clientId, remote: source }, 'alert channel deleted');
      return { status: 200, body: { name: params.name, deleted: true } };
    },
  },
  {
    method: 'POST',
    pattern: '/api/v1/alert-channels/:name/test',
    permission: 'channels:write',
    async handler({ deps, params }) {
      const alerting = alertingOf(deps);
      if (alerting.channels.get(params.name) === null) throw notFound(params.name);
      const result = await alerting.testChannel(params.name);
      // The channel's own answer is the outcome: 200 when it took the notification, 502 when not.
      return { status: result.ok ? 200 : 502, body: { name: params.name, delivered: result.ok, detail: result.detail } };
    },
  },
];
