import { parseNodeGlob, type NodeGlob } from '@ximp/shared';
import type { AccessTokenStore } from '../auth/access-token-store';
import type { Role } from '../auth/roles';
import { HttpError } from './http-error';

/** The API client behind a request's access token. */
export interface Principal {
  clientId: string;
  role: Role;
  /** The nodes it may see (SPEC §10), or null for every node. */
  nodes: NodeGlob | null;
}

const REALM = 'ximp';

/** Matches no node: a stored scope that no longer parses fails closed. */
const NO_NODES: NodeGlob = { text: '', matches: () => false };

/** The node scope of a stored principal (a client's token or a dashboard session): null for every node. */
export function storedNodeScope(nodes: string | null): NodeGlob | null {
  return nodes === null ? null : (parseNodeGlob(nodes) ?? NO_NODES);
}

/** True when the caller may see `node` (its agent, series, alerts and history). */
export function seesNode(principal: Principal | null, node: string): boolean {
  return principal?.nodes == null || principal.nodes.matches(node);
}

/**
 * SPEC §10: a node outside the caller's scope, named by ID, answers 401, whether or not it exists,
 * so a scoped client learns nothing of the nodes it may not see.
 */
export function requireNode(principal: Principal | null, node: string): void {
  if (!seesNode(principal, node)) {
    throw new HttpError(401, 'node_not_visible', 'this client may not see that node', {
      'WWW-Authenticate': `Bearer realm="${REALM}", error="insufficient_scope"`,
    });
  }
}

/** For routes whose answer spans every node (/metrics): a node-scoped client is refused (403). */
export function requireAllNodes(principal: Principal | null): void {
  if (principal?.nodes != null) throw insufficientScope('this client is limited to some nodes; this route names every node');
}


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
export function insufficientScope(message = 'the role of this client does not allow this action'): HttpError {
  return new HttpError(403, 'insufficient_scope', message, {
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
  return { clientId: verdict.clientId, role: verdict.role, nodes: storedNodeScope(verdict.nodes) };
}
