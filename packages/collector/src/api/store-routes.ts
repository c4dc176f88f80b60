import { formatDuration, parseDuration, type RetentionJson } from '@ximp/shared';
import { MAX_RETENTION_MS, MIN_RETENTION_MS, type RetentionInForce } from '../store/retention-setting';
import { invalidRequest } from './http-error';
import { rejectUnknownFields, stringField } from './request-fields';
import { readJsonObject } from './request-body';
import type { Route } from './route-table';

export function retentionJson(r: RetentionInForce): RetentionJson {
  return { retention: formatDuration(r.ms), retention_seconds: r.ms / 1000, source: r.source };
}

const BOUNDS_TEXT = `${formatDuration(MIN_RETENTION_MS)} and ${formatDuration(MAX_RETENTION_MS)}`;

/** SPEC §9 and §10: the embedded store's retention, read by any role, changed by an admin. */
export const STORE_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: '/api/v1/store/retention',
    permission: 'retention:read',
    handler: ({ deps }) => ({ status: 200, body: retentionJson(deps.retention.current()) }),
  },
  {
    method: 'PUT',
    pattern: '/api/v1/store/retention',
    permission: 'retention:write',
    async handler({ deps, req, principal, source }) {
      const body = await readJsonObject(req);
      rejectUnknownFields(body, ['retention']);
      const text = stringField(body, 'retention', true);
      const ms = parseDuration(text);
      if (ms === null) throw invalidRequest('retention: expected a duration like "30d" or "12h"');
      if (ms < MIN_RETENTION_MS || ms > MAX_RETENTION_MS) throw invalidRequest(`retention: must be between ${BOUNDS_TEXT}`);
      const now = deps.now();
      const before = deps.retention.current();
      deps.retention.set(ms, now);
      const after = deps.retention.current();
      // The entry has no field for values: the change is written into its target.
      const change = `${formatDuration(before.ms)} -> ${formatDuration(after.ms)}`;
      deps.audit.record({ actor: principal!.clientId, action: 'store.retention.update', target: `store.retention: ${change}`, source }, now);
      deps.log.info({ client: principal!.clientId, remote: source, old_retention: formatDuration(before.ms), new_retention: formatDuration(after.ms) }, 'retention changed');
      return { status: 200, body: retentionJson(after) };
    },
  },
];
