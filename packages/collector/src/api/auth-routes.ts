import { HttpError } from './http-error';
import { readJsonObject } from './request-body';
import { rejectUnknownFields, stringField } from './request-fields';
import type { Route, RouteContext } from './route-table';
import { sessionOf } from './session-auth';
import { addressKey } from '../net/address-key';
import { DASHBOARD_HEADERS } from '../web/dashboard-headers';
import { isUserName } from '../web/local-user-store';
import { sessionBody } from '../web/session-body';
import { clearedSessionCookieHeader, sessionCookieHeader, sessionCookieOf } from '../web/session-cookie';
import { sessionsUnavailable, startSession } from '../web/start-session';
import type { WebSession } from '../web/web-session-store';

/** Every /auth/* answer: the dashboard's headers, never cached (it holds the CSRF token). */
const AUTH_HEADERS: Readonly<Record<string, string>> = { ...DASHBOARD_HEADERS, 'Cache-Control': 'no-store' };

/** One answer for an unknown name, a wrong password and a disabled user (SPEC §15). */
function invalidCredentials(): HttpError {
  return new HttpError(401, 'invalid_credentials', 'the name or the password is wrong, or the user is disabled');
}

function unauthorized(): HttpError {
  return new HttpError(401, 'unauthorized');
}

function busy(): HttpError {
  return new HttpError(503, 'unavailable', 'too many sign-ins at once, retry later', { 'Retry-After': '1' });
}

/** The name as audited and logged: only a well-formed one, since a password typed in the name field must go nowhere. */
function loggedName(name: string): string {
  return isUserName(name) ? name : '(invalid name)';
}

function rateLimited(retryAfterMs: number): HttpError {
  return new HttpError(429, 'rate_limited', 'too many failed sign-ins for this name or from this address', {
    'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
  });
}

/** The session a state-changing /auth/* request comes with (CSRF checked), or 401. */
function requireSession(ctx: RouteContext): { session: WebSession; cookie: string } {
  const store = ctx.deps.webSessions;
  if (store === undefined) throw sessionsUnavailable();
  const found = sessionOf(ctx.req, store, ctx.deps.now());
  if (found === null) throw unauthorized();
  return found;
}

/** A refused sign-in: counted, audited with its reason, logged throttled; the caller gets one answer. */
function refuseSignIn(ctx: RouteContext, name: string, reason: string): void {
  const { deps, source } = ctx;
  const now = deps.now();
  deps.audit.record({ actor: 'anonymous', action: 'session.login_failed', target: loggedName(name), source, reason }, now);
  const fields = { user: loggedName(name), remote: source, reason };
  if (ctx.refusals) ctx.refusals.report('warn', 'dashboard_sign_in_refused', fields, 'dashboard sign-in refused', addressKey(source));
  else deps.log.info(fields, 'dashboard sign-in refused');
}

/** SPEC §15 sign-in routes: no bearer token; JSON; the session cookie and CSRF token. */
export const AUTH_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: '/auth/methods',
    permission: null,
    headers: AUTH_HEADERS,
    handler: ({ deps }) => ({
      status: 200,
      body: { local: deps.users !== undefined, oidc: deps.oidc?.ready === true ? { label: `Sign in with ${deps.oidc.displayName}` } : null },
    }),
  },
  {
    method: 'GET',
    pattern: '/auth/session',
    permission: null,
    headers: AUTH_HEADERS,
    handler(ctx) {
      const store = ctx.deps.webSessions;
      const found = store === undefined ? null : sessionOf(ctx.req, store, ctx.deps.now());
      if (found === null) {
        // A cookie that opens nothing is forgotten by the browser.
        if (sessionCookieOf(ctx.req) !== null) ctx.res?.setHeader('Set-Cookie', clearedSessionCookieHeader());
        throw unauthorized();
      }
      return { status: 200, body: sessionBody(found.session) };
    },
  },
  {
    method: 'POST',
    pattern: '/auth/login',
    permission: null,
    headers: AUTH_HEADERS,
    async handler(ctx) {
      const { deps, source } = ctx;
      const { users, signInLimiter: limiter, webSessions } = deps;
      if (users === undefined || limiter === undefined || webSessions === undefined) throw sessionsUnavailable();
      const body = await readJsonObject(ctx.req);
      rejectUnknownFields(body, ['name', 'password']);
      const name = stringField(body, 'name', true);
      const password = stringField(body, 'password', true);
      const waitMs = limiter.retryAfterMs(name, source, deps.now());
      if (waitMs > 0) {
        if (limiter.shouldAudit(name, source, deps.now())) refuseSignIn(ctx, name, 'rate_limited');
        throw rateLimited(waitMs);
      }
      const check = await limiter.bounded(() => users.checkPassword(name, password));
      if (check === null) throw busy();
      if (!check.ok) {
        limiter.recordFailure(name, source, deps.now());
        refuseSignIn(ctx, name, check.reason);
        throw invalidCredentials();
      }
      const user = check.user;
      users.markLogin(user.name, deps.now());
      ctx.authenticated?.();
      const res = ctx.res ?? { setHeader: () => undefined };
      const session = startSession(
        deps,
        res,
        { name: user.name, method: 'local', role: user.role, nodes: user.nodes, mustChangePassword: user.mustChangePassword },
        source,
      );
      return { status: 200, body: session };
    },
  },
  {
    method: 'POST',
    pattern: '/auth/password',
    permission: null,
    headers: AUTH_HEADERS,
    async handler(ctx) {
      const { deps, source } = ctx;
      const { users, signInLimiter: limiter } = deps;
      if (users === undefined || limiter === undefined) throw sessionsUnavailable();
      const { session } = requireSession(ctx);
      if (session.method !== 'local') {
        throw new HttpError(409, 'conflict', 'this session signed in through the identity provider: change the password there');
      }
      const body = await readJsonObject(ctx.req);
      rejectUnknownFields(body, ['current_password', 'new_password']);
      const current = stringField(body, 'current_password', true);
      const next = stringField(body, 'new_password', true);
      const waitMs = limiter.retryAfterMs(session.name, source, deps.now());
      if (waitMs > 0) throw rateLimited(waitMs);
      const changed = await limiter.bounded(() => users.changePassword(session.name, current, next));
      if (changed === null) throw busy();
      if (!changed) {
        limiter.recordFailure(session.name, source, deps.now());
        throw new HttpError(403, 'invalid_credentials', 'current_password: does not match');
      }
      // A new password ends every session of the user, this one too; the caller gets a fresh one.
      const store = deps.webSessions!;
      store.deleteOfUser(session.name, 'local');
      const user = users.get(session.name)!;
      const fresh = store.create({ name: user.name, method: 'local', role: user.role, nodes: user.nodes, mustChangePassword: false }, deps.now());
      ctx.res?.setHeader('Set-Cookie', sessionCookieHeader(fresh.cookie));
      deps.log.info({ user: user.name, remote: source }, 'dashboard password changed');
      return { status: 200, body: sessionBody(fresh.session) };
    },
  },
  {
    method: 'POST',
    pattern: '/auth/logout',
    permission: null,
    headers: AUTH_HEADERS,
    handler(ctx) {
      const { cookie, session } = requireSession(ctx);
      ctx.deps.webSessions!.delete(cookie);
      ctx.res?.setHeader('Set-Cookie', clearedSessionCookieHeader());
      ctx.deps.log.info({ user: session.name, method: session.method, remote: ctx.source }, 'dashboard sign-out');
      return { status: 204, text: '', contentType: 'text/plain; charset=utf-8' };
    },
  },
];
