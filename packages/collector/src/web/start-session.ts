import type { ApiDeps } from '../api/api-deps';
import { HttpError } from '../api/http-error';
import { sessionBody, type SessionBody } from './session-body';
import { sessionCookieHeader } from './session-cookie';
import type { SessionUser } from './web-session-store';

export function sessionsUnavailable(): HttpError {
  return new HttpError(503, 'unavailable', 'dashboard sign-in is not available on this collector');
}

/**
 * Opens a dashboard session for a user already authenticated (a local password checked, an OIDC
 * callback verified): sets the session cookie on `res`, audits `session.login` and returns the
 * body of GET /auth/session. The caller sends the answer (200 JSON, or a 302 to `/`).
 */
export function startSession(
  deps: Pick<ApiDeps, 'webSessions' | 'audit' | 'log' | 'now'>,
  res: { setHeader(name: string, value: string): unknown },
  user: SessionUser,
  source: string,
): SessionBody {
  if (deps.webSessions === undefined) throw sessionsUnavailable();
  const now = deps.now();
  const { cookie, session } = deps.webSessions.create(user, now);
  res.setHeader('Set-Cookie', sessionCookieHeader(cookie));
  const actor = `${user.method === 'oidc' ? 'oidc' : 'user'}:${user.name}`;
  deps.audit.record({ actor, action: 'session.login', target: user.name, source }, now);
  deps.log.info({ user: user.name, method: user.method, role: user.role, remote: source }, 'dashboard sign-in');
  return sessionBody(session);
}
