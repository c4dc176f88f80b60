// Local users and dashboard sessions against an API harness (not itself a test).
import { parseNodeGlob } from '@ximp/shared';
import type { Role } from '../../dist/auth/roles';
import { request, type Harness, type TestResponse } from './api-harness';

export const JSON_TYPE = { 'Content-Type': 'application/json' };
export const COOKIE_NAME = '__Host-ximp-session';

/** A user whose one-time password was already replaced: returns the password to sign in with. */
export async function readyUser(h: Harness, name: string, role: Role, nodes: string | null = null): Promise<string> {
  const { password } = await h.deps.users!.create(name, role, nodes === null ? null : parseNodeGlob(nodes), Date.now());
  const chosen = `${name}-chosen-password-1`;
  if (!(await h.deps.users!.changePassword(name, password, chosen))) throw new Error('test user password change failed');
  return chosen;
}

export interface SignedIn {
  cookie: string;
  csrf: string;
  res: TestResponse;
}

/** The session cookie value a response sets, or null. */
export function setCookieValue(res: TestResponse): string | null {
  const header = res.headers['set-cookie'];
  const line = Array.isArray(header) ? header[0] : header;
  if (line === undefined) return null;
  const m = new RegExp(`^${COOKIE_NAME}=([^;]*)`).exec(line);
  return m === null ? null : m[1];
}

export function login(h: Harness, name: string, password: string, localAddress?: string): Promise<TestResponse> {
  return request(h, 'POST', '/auth/login', { headers: JSON_TYPE, body: JSON.stringify({ name, password }), localAddress });
}

/** Signs in and returns the cookie and CSRF token; throws unless the sign-in worked. */
export async function signIn(h: Harness, name: string, password: string): Promise<SignedIn> {
  const res = await login(h, name, password);
  const cookie = setCookieValue(res);
  if (res.status !== 200 || cookie === null) throw new Error(`sign-in failed: ${res.status} ${res.text}`);
  return { cookie, csrf: (res.json as { csrf_token: string }).csrf_token, res };
}

/** A request with the session cookie (and the CSRF token when given). */
export function withSession(
  h: Harness,
  method: string,
  pathname: string,
  session: { cookie: string; csrf?: string },
  body?: unknown,
): Promise<TestResponse> {
  const headers: Record<string, string> = { Cookie: `${COOKIE_NAME}=${session.cookie}` };
  if (session.csrf !== undefined) headers['X-CSRF-Token'] = session.csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return request(h, method, pathname, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
}
