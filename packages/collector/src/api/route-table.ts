import type * as http from 'node:http';
import type { ThrottledLog } from '@ximp/shared';
import type { Permission } from '../auth/roles';
import type { FailureLimit } from '../ingest/auth-failure-limiter';
import type { ApiDeps } from './api-deps';
import type { Principal } from './bearer-auth';
import type { ChunkStream } from './stream-response';
import type { AgentEventFeed } from './agent-event-feed';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What a handler sees. The body is read only by the handler, after the role check passed. */
export interface RouteContext {
  deps: ApiDeps;
  req: http.IncomingMessage;
  /** For headers a handler sets beside its answer (a sign-in's Set-Cookie); the server sends the answer. */
  res?: http.ServerResponse;
  /** Null only on routes without a permission (health, token endpoint). */
  principal: Principal | null;
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** The caller's address, for audit entries and logs. */
  source: string;
  /** Failed client authentications per address (the token endpoint's limit, SPEC §7 and §10). */
  failedGrants?: FailureLimit;
  /** Where refusals are logged, throttled per address. */
  refusals?: ThrottledLog;
  /** The caller proved who it is: its connection no longer counts as unauthenticated. */
  authenticated?(): void;
  /**
   * True while the credential behind this request (its bearer token, or its session) still holds:
   * a long-lived answer asks again from time to time and ends when it no longer does.
   */
  stillValid?(): boolean;
  /** The live fleet streams of this server (GET /api/v1/agents/events). */
  agentEvents?: AgentEventFeed;
}

export type RouteResult =
  | { status: number; body: unknown; headers?: Record<string, string> }
  | { status: number; text: string; contentType: string }
  /** A large answer written a chunk at a time (stream-response.ts). */
  | { status: number; stream: ChunkStream; contentType: string }
  /** Bytes as they are (a static file, a redirect): the headers say what they are. */
  | { status: number; bytes: Buffer; headers: Record<string, string> }
  /** A long-lived answer (server-sent events) that writes to the response itself. */
  | { status: number; open(res: http.ServerResponse): void };

export interface Route {
  method: HttpMethod;
  /** Path with `:name` segments, e.g. `/api/v1/agent-tokens/:id`. */
  pattern: string;
  /**
   * The permission a caller's role needs (checked in one place, ApiServer, with roles.can), or
   * null for the few routes that take no bearer token.
   */
  permission: Permission | null;
  /** Headers on every response of this route, errors included (no-store on the token endpoint). */
  headers?: Readonly<Record<string, string>>;
  handler(ctx: RouteContext): Promise<RouteResult> | RouteResult;
}

export type RouteMatch =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'method_not_allowed'; allow: HttpMethod[] }
  | { kind: 'not_found' };

function matchPattern(pattern: string, pathname: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = pathname.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) {
      if (got[i] === '') return null;
      let value: string;
      try {
        value = decodeURIComponent(got[i]);
      } catch {
        return null;
      }
      params[want[i].slice(1)] = value;
    } else if (want[i] !== got[i]) {
      return null;
    }
  }
  return params;
}

function literalSegments(pattern: string): number {
  return pattern.split('/').filter((segment) => !segment.startsWith(':')).length;
}

/**
 * Finds the route for a request: 404 when no pattern matches the path, 405 when only the method
 * differs. A literal segment beats a `:name` one whatever the table's order, so
 * `/api/v1/agent-tokens/revoke` is never handed to a route that reads `revoke` as an id.
 */
export function matchRoute(routes: readonly Route[], method: string, pathname: string): RouteMatch {
  let allow: HttpMethod[] = [];
  let found: { route: Route; params: Record<string, string> } | null = null;
  let best = -1;
  for (const route of routes) {
    const params = matchPattern(route.pattern, pathname);
    if (params === null) continue;
    const literal = literalSegments(route.pattern);
    if (literal < best) continue;
    if (literal > best) {
      best = literal;
      found = null;
      allow = [];
    }
    if (route.method === method && found === null) found = { route, params };
    if (!allow.includes(route.method)) allow.push(route.method);
  }
  if (found !== null) return { kind: 'found', ...found };
  return allow.length > 0 ? { kind: 'method_not_allowed', allow } : { kind: 'not_found' };
}
