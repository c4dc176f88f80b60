import type { WebSession } from './web-session-store';

/** What GET /auth/session and a sign-in answer (SPEC §15). */
export interface SessionBody {
  user: { name: string; role: string; nodes: string | null; method: 'local' | 'oidc'; must_change_password: boolean };
  csrf_token: string;
  idle_expires_at: string;
  expires_at: string;
}

export function sessionBody(session: WebSession): SessionBody {
  return {
    user: {
      name: session.name,
      role: session.role,
      nodes: session.nodes,
      method: session.method,
      must_change_password: session.mustChangePassword,
    },
    csrf_token: session.csrfToken,
    idle_expires_at: new Date(session.idleExpiresMs).toISOString(),
    expires_at: new Date(session.expiresMs).toISOString(),
  };
}
