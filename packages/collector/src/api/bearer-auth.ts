import type { AccessTokenStore } from '../auth/access-token-store';
import type { Role } from '../auth/roles';
import { HttpError } from './http-error';

/** The API client behind a request's access token. */
export interface Principal {
  clientId: string;
  role: Role;
}

const REALM = 'ximp';

/** 401 per RFC 6750 §3: a plain challenge without a token, `invalid_token` when one was presented. */
function unauthorized(tokenPresented: boolean): HttpError {
  return tokenPresented
    ? new HttpError(401, 'invalid_token', 'the access token is invalid or expired', {
        'WWW-Authenticate': `Bearer realm="${REALM}", error="invalid_token"`,
      })
    : new HttpError(401, 'unauthorized', 'a bearer access token is required (POST /api/v1/token)', {
        'WWW-Authenticate': `Bearer realm="${REALM}"`,
      });
}

/** 403 per RFC 6750 §3.1: the token is fine, its role does not allow the action. */
export function insufficientScope(): HttpError {
  return new HttpError(403, 'insufficient_scope', 'the role of this client does not allow this action', {
    'WWW-Authenticate': `Bearer realm="${REALM}", error="insufficient_scope"`,
  });
}

/**
 * Checks `Authorization: Bearer <token>` against the store on every request, so a revoked client
 * or an expired token is refused at once. Throws HttpError 401 otherwise.
 */
export function authenticateBearer(header: string | undefined, accessTokens: AccessTokenStore, now: number): Principal {
  if (header === undefined) throw unauthorized(false);
  const m = /^Bearer +([!-~]+) *$/i.exec(header);
  if (!m) {
    // Another scheme (or none) is the same as no bearer token; a mangled bearer one is invalid.
    throw unauthorized(/^Bearer\b/i.test(header));
  }
  const verdict = accessTokens.verify(m[1], now);
  if (verdict === null) throw unauthorized(true);
  return { clientId: verdict.clientId, role: verdict.role };
}
