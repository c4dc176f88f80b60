import type * as http from 'node:http';

/** SPEC §15: `__Host-` binds the cookie to this origin: Secure, Path=/, no Domain. */
export const SESSION_COOKIE = '__Host-ximp-session';

/** Without Max-Age: a browser-session cookie, gone when the browser closes. */
const ATTRIBUTES = 'Path=/; Secure; HttpOnly; SameSite=Strict';

export function sessionCookieHeader(value: string): string {
  return `${SESSION_COOKIE}=${value}; ${ATTRIBUTES}`;
}

/** Tells the browser to forget the cookie (sign-out, a session that ended). */
export function clearedSessionCookieHeader(): string {
  return `${SESSION_COOKIE}=; ${ATTRIBUTES}; Max-Age=0`;
}

/** The session cookie's value from a request, or null. More than one such cookie is none. */
export function sessionCookieOf(req: Pick<http.IncomingMessage, 'headers'>): string | null {
  const header = req.headers.cookie;
  if (header === undefined) return null;
  let found: string | null = null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    if (found !== null) return null;
    found = part.slice(eq + 1).trim();
  }
  return found;
}
