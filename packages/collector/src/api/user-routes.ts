import { NODE_GLOB_FORM, parseNodeGlob, type CreatedUserJson, type UserJson, type UserListJson, type UserPasswordJson } from '@ximp/shared';
import { ROLES, isRole } from '../auth/roles';
import { USER_NAME_FORM, isUserName, type LocalUser, type LocalUserStore } from '../web/local-user-store';
import { sessionsUnavailable } from '../web/start-session';
import type { ApiDeps } from './api-deps';
import { HttpError, invalidRequest } from './http-error';
import { isoOrNull } from './iso-time';
import { readJsonObject } from './request-body';
import { rejectUnknownFields, stringField } from './request-fields';
import type { Route } from './route-table';

function userJson(user: LocalUser): UserJson {
  return {
    name: user.name,
    role: user.role,
    nodes: user.nodes,
    disabled: user.disabled,
    must_change_password: user.mustChangePassword,
    created_at: isoOrNull(user.createdMs),
    last_login_at: isoOrNull(user.lastLoginMs),
  };
}

const NO_STORE = { 'Cache-Control': 'no-store' } as const;

function usersOf(deps: ApiDeps): LocalUserStore {
  if (deps.users === undefined) throw sessionsUnavailable();
  return deps.users;
}

/** Only a well-formed name is repeated back. */
function notFound(name: string): HttpError {
  return new HttpError(404, 'not_found', isUserName(name) ? `no user "${name}"` : 'no user of that name');
}

/** SPEC §15: local dashboard users, managed by admins. Disabling or resetting ends the user's sessions at once. */
export const USER_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: '/api/v1/users',
    permission: 'users:manage',
    handler: ({ deps }) => ({ status: 200, body: { users: usersOf(deps).list().map(userJson) } satisfies UserListJson }),
  },
  {
    method: 'POST',
    pattern: '/api/v1/users',
    permission: 'users:manage',
    headers: NO_STORE,
    async handler({ deps, req, principal, source }) {
      const users = usersOf(deps);
      const body = await readJsonObject(req);
      rejectUnknownFields(body, ['name', 'role', 'nodes']);
      const name = stringField(body, 'name', true);
      if (!isUserName(name)) throw invalidRequest(`name: expected ${USER_NAME_FORM}`);
      const role = stringField(body, 'role', true);
      if (!isRole(role)) throw invalidRequest(`role: expected one of ${ROLES.join(', ')}`);
      const nodesText = stringField(body, 'nodes', false);
      const nodes = nodesText === undefined ? null : parseNodeGlob(nodesText);
      if (nodesText !== undefined && nodes === null) throw invalidRequest(`nodes: expected ${NODE_GLOB_FORM}`);
      // XIMP_ERR_CONFLICT (an existing name) answers 409.
      const { user, password } = await users.create(name, role, nodes, deps.now());
      deps.audit.record({ actor: principal!.clientId, action: 'user.create', target: name, source }, deps.now());
      deps.log.info({ target: name, role, client: principal!.clientId, remote: source }, 'dashboard user created');
      return { status: 201, body: { name: user.name, role: user.role, nodes: user.nodes, password } satisfies CreatedUserJson };
    },
  },
  {
    method: 'DELETE',
    pattern: '/api/v1/users/:name',
    permission: 'users:manage',
    handler({ deps, params, principal, source }) {
      const name = params.name;
      const result = isUserName(name) ? usersOf(deps).disable(name, deps.now()) : 'not_found';
      if (result === 'not_found') throw notFound(name);
      const closed = deps.webSessions?.deleteOfUser(name, 'local') ?? 0;
      if (result === 'disabled') {
        deps.audit.record({ actor: principal!.clientId, action: 'user.disable', target: name, source }, deps.now());
        deps.log.info({ target: name, sessions_closed: closed, client: principal!.clientId, remote: source }, 'dashboard user disabled');
      }
      return { status: 200, body: { name, disabled: true } };
    },
  },
  {
    method: 'POST',
    pattern: '/api/v1/users/:name/reset-password',
    permission: 'users:manage',
    headers: NO_STORE,
    async handler({ deps, params, principal, source }) {
      const name = params.name;
      const password = isUserName(name) ? await usersOf(deps).resetPassword(name) : null;
      if (password === null) throw notFound(name);
      const closed = deps.webSessions?.deleteOfUser(name, 'local') ?? 0;
      deps.audit.record({ actor: principal!.clientId, action: 'user.reset_password', target: name, source }, deps.now());
      deps.log.info({ target: name, sessions_closed: closed, client: principal!.clientId, remote: source }, 'dashboard user password reset');
      return { status: 200, body: { name, password } satisfies UserPasswordJson };
    },
  },
];
