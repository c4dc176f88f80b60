import type * as http from 'node:http';
import { sessionCookieOf } from '../web/session-cookie';
import type { WebSession, WebSessionStore } from '../web/web-session-store';
import type { ApiDeps } from './api-deps';
import { authenticateBearer, storedNodeScope, type Principal } from './bearer-auth';
import { HttpError } from './http-error';

/** The header a cookie-authenticated request other than GET/HEAD must carry (SPEC §15). */
export const CSRF_HEADER = 'x-csrf-token';

/** The principal of a dashboard session: `user:<name>` or `oidc:<name>`, same roles as a client. */
export function sessionPrincipal(session: WebSession): Principal {
  return { clientId: `${session.method === 'oidc' ? 'oidc' : 'user'}:${session.name}`, role: session.role, nodes: storedNodeScope(session.nodes) };
}

function isSafeMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

export function csrfInvalid(): HttpError {
  return new HttpError(403, 'csrf_token_invalid');
}

/**
 * The session behind the request's cookie, CSRF-checked for anything but GET/HEAD; null when
 * there is no cookie or it opens no live session. Throws 403 csrf_token_invalid.
 */
export function sessionOf(req: http.IncomingMessage, store: WebSessionStore, now: number): { session: WebSession; cookie: string } | null {
  const cookie = sessionCookieOf(req);
  if (cookie === null) return null;
  const session = store.authenticate(cookie, now);
  if (session === null) return null;
  if (!isSafeMethod(req.method ?? 'GET')) {
    const header = req.headers[CSRF_HEADER];
    if (!store.csrfMatches(session, typeof header === 'string' ? header : undefined)) throw csrfInvalid();
  }
  return { session, cookie };
}

/**
 * Who calls a route that needs a permission: the bearer token when an Authorization header is
 * sent (unchanged), else the dashboard session cookie, else 401 as for a missing token. The role
 * check that follows is the same for both. A session that must change its password may use
 * /auth/* only: 403 password_change_required here.
 */
export function authenticateRequest(req: http.IncomingMessage, deps: ApiDeps): Principal {
  const now = deps.now();
  if (req.headers.authorization !== undefined || deps.webSessions === undefined) {
    return authenticateBearer(req.headers.authorization, deps.accessTokens, now);
  }
  const found = sessionOf(req, deps.webSessions, now);
  if (found === null) return authenticateBearer(undefined, deps.accessTokens, now);
  if (found.session.mustChangePassword) throw new HttpError(403, 'password_change_required');
  return sessionPrincipal(found.session);
}
