import {
  ErrorCodes,
  NODE_GLOB_FORM,
  XimpError,
  parseNodeGlob,
  type ApiClientJson,
  type ApiClientSecretJson,
  type CreatedApiClientJson,
  type RevokedApiClientJson,
} from '@ximp/shared';
import { isApiClientId, type ApiClientRecord } from '../auth/api-client-store';
import { ROLES, isRole } from '../auth/roles';
import { HttpError, invalidRequest } from './http-error';
import { isoOrNull } from './iso-time';
import { rejectUnknownFields, stringField } from './request-fields';
import { readJsonObject } from './request-body';
import type { Route } from './route-table';

export function apiClientJson(record: ApiClientRecord): ApiClientJson {
  return {
    id: record.id,
    name: record.name,
    role: record.role,
    created: isoOrNull(record.createdMs),
    last_used: isoOrNull(record.lastUsedMs),
    status: record.status,
    revoked: isoOrNull(record.revokedMs),
    secret_rotated: isoOrNull(record.secretRotatedMs),
    nodes: record.nodes,
  };
}

const NO_STORE = { 'Cache-Control': 'no-store' } as const;

/** Only a well-formed id is repeated back: anything else might be a secret pasted by mistake. */
function notFound(id: string): HttpError {
  return new HttpError(404, 'not_found', isApiClientId(id) ? `no API client "${id}"` : 'no API client with that ID');
}

export const CLIENT_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: '/api/v1/clients',
    permission: 'clients:manage',
    handler({ deps }) {
      return { status: 200, body: deps.clients.list().map(apiClientJson) };
    },
  },
  {
    method: 'POST',
    pattern: '/api/v1/clients',
    permission: 'clients:manage',
    headers: NO_STORE,
    async handler({ deps, req, principal, source }) {
      const body = await readJsonObject(req);
      rejectUnknownFields(body, ['name', 'role', 'nodes']);
      const name = stringField(body, 'name', true);
      const role = stringField(body, 'role', true);
      if (!isRole(role)) throw invalidRequest(`role: expected one of ${ROLES.join(', ')}`);
      const nodesText = stringField(body, 'nodes', false);
      const nodes = nodesText === undefined ? null : parseNodeGlob(nodesText);
      if (nodesText !== undefined && nodes === null) throw invalidRequest(`nodes: expected ${NODE_GLOB_FORM}`);
      const now = deps.now();
      let created;
      try {
        created = deps.clients.create(name, role, now, nodes);
      } catch (err) {
        if (err instanceof XimpError && err.code === ErrorCodes.REQUEST_INVALID) throw invalidRequest(`name: ${err.message}`);
        throw err;
      }
      deps.audit.record({ actor: principal!.clientId, action: 'client.create', target: created.clientId, source }, now);
      deps.log.info({ target: created.clientId, role, client: principal!.clientId, remote: source }, 'api client created');
      return {
        status: 201,
        body: {
          client_id: created.clientId,
          client_secret: created.clientSecret,
          name: created.name,
          role: created.role,
          nodes: created.nodes,
          created: isoOrNull(created.createdMs),
        } satisfies CreatedApiClientJson,
      };
    },
  },
  {
    method: 'DELETE',
    pattern: '/api/v1/clients/:id',
    permission: 'clients:manage',
    handler({ deps, params, principal, source }) {
      const id = params.id;
      if (!isApiClientId(id)) throw notFound(id);
      const now = deps.now();
      const result = deps.clients.revoke(id, now);
      if (result === 'not_found') throw notFound(id);
      if (result === 'last_admin') {
        throw new HttpError(
          409,
          'conflict',
          `API client "${id}" is the last active monitoring-admin: create another admin client before revoking this one`,
        );
      }
      if (result === 'revoked') {
        deps.audit.record({ actor: principal!.clientId, action: 'client.revoke', target: id, source }, now);
        deps.log.info({ target: id, client: principal!.clientId, remote: source }, 'api client revoked');
      }
      return { status: 200, body: { id, status: result } satisfies RevokedApiClientJson };
    },
  },
  {
    method: 'POST',
    pattern: '/api/v1/clients/:id/rotate-secret',
    permission: 'clients:manage',
    headers: NO_STORE,
    handler({ deps, params, principal, source }) {
      const id = params.id;
      if (!isApiClientId(id)) throw notFound(id);
      const now = deps.now();
      const secret = deps.clients.rotateSecret(id, now);
      if (secret === null) {
        if (deps.clients.get(id) === null) throw notFound(id);
        throw new HttpError(409, 'conflict', `API client "${id}" is revoked`);
      }
      deps.audit.record({ actor: principal!.clientId, action: 'client.rotate_secret', target: id, source }, now);
      deps.log.info({ target: id, client: principal!.clientId, remote: source }, 'api client secret rotated');
      return { status: 200, body: { client_id: id, client_secret: secret } satisfies ApiClientSecretJson };
    },
  },
];
