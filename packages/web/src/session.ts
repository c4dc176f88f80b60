import { api, ApiError, setCsrfToken } from './api';
import { roleCan, type Permission } from './roles';

/** The body of `GET /auth/session`, login and password change. */
export interface Session {
  user: {
    name: string;
    role: string;
    nodes: string | null;
    method: 'local' | 'oidc';
    must_change_password: boolean;
  };
  csrf_token: string;
  idle_expires_at: string;
  expires_at: string;
}

let current: Session | null = null;

export function currentSession(): Session | null {
  return current;
}

/** Records a session body from the server (or null after sign-out) and its CSRF token. */
export function setSession(session: Session | null): void {
  current = session;
  setCsrfToken(session?.csrf_token ?? null);
}

/** Asks the server for the current session; null when signed out. */
export async function loadSession(): Promise<Session | null> {
  try {
    setSession(await api.get<Session>('/auth/session', { allow401: true }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) setSession(null);
    else throw err;
  }
  return current;
}

/** Whether the signed-in user's role grants `permission` (false when signed out). */
export function can(permission: Permission): boolean {
  return current !== null && roleCan(current.user.role, permission);
}

export async function signOut(): Promise<void> {
  try {
    await api.post('/auth/logout', {}, { allow401: true });
  } finally {
    setSession(null);
  }
}
