import { NO_STORE_HEADERS } from './token-endpoint';
import { invalidRequest } from './http-error';
import { readForm } from './request-body';
import type { Route } from './route-table';

/**
 * `POST /api/v1/revoke` (RFC 7009): the caller revokes an access token issued to it, e.g. its own
 * before it exits. It authenticates with a bearer token like every other route (any role); the form
 * carries `token` and an optional `token_type_hint`. The answer is 200 whether or not the token
 * existed or was the caller's (§2.2): a caller learns nothing of other clients' tokens. The token
 * is gone from the store at once, so its next use is refused.
 */
export const REVOKE_ROUTE: Route = {
  method: 'POST',
  pattern: '/api/v1/revoke',
  permission: 'own_token:revoke',
  headers: NO_STORE_HEADERS,
  async handler({ deps, req, principal, source }) {
    const form = await readForm(req);
    const token = form.get('token');
    if (token === undefined || token === '') throw invalidRequest('token: required');
    // §2.1: the hint only speeds up a lookup; there is one kind of token here, so it is not needed.
    const revoked = deps.accessTokens.revokeOwn(token, principal!.clientId);
    if (revoked) deps.log.info({ client: principal!.clientId, remote: source }, 'access token revoked');
    return { status: 200, body: {} };
  },
};
