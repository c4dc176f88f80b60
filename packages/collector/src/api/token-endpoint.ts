import type * as http from 'node:http';
import type { ThrottledLog } from '@ximp/shared';
import { addressKey } from '../net/address-key';
import type { ApiDeps } from './api-deps';
import { isApiClientId } from '../auth/api-client-store';
import { OVER_LIMIT_DELAY_MS, type FailureLimit } from '../ingest/auth-failure-limiter';
import { HttpError, invalidRequest } from './http-error';
import { readForm } from './request-body';

/** RFC 6749 §5.1: token responses (and our errors from the token endpoint) are never cached. */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
}

interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  viaBasic: boolean;
}

function invalidClient(viaBasic: boolean): HttpError {
  // RFC 6749 §5.2: a client that used the Authorization header gets a 401 with a challenge.
  const headers: Record<string, string> = { ...NO_STORE_HEADERS };
  if (viaBasic) headers['WWW-Authenticate'] = 'Basic realm="ximp", charset="UTF-8"';
  return new HttpError(401, 'invalid_client', 'client authentication failed', headers);
}

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
function formDecode(text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** The client id and secret from HTTP Basic; null when no Authorization header was sent. */
function basicCredentials(header: string | undefined): { clientId: string; clientSecret: string } | null {
  if (header === undefined) return null;
  const m = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header);
  if (!m) throw invalidClient(true);
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient(true);
  const clientId = formDecode(decoded.slice(0, colon));
  const clientSecret = formDecode(decoded.slice(colon + 1));
  if (clientId === null || clientSecret === null) throw invalidClient(true);
  return { clientId, clientSecret };
}

function credentials(req: http.IncomingMessage, form: Map<string, string>): ClientCredentials {
  const basic = basicCredentials(req.headers.authorization);
  const bodyId = form.get('client_id');
  const bodySecret = form.get('client_secret');
  if (basic !== null) {
    // §2.3: a client must not use more than one authentication method per request.
    if (bodySecret !== undefined) throw invalidRequest('client credentials given both in the body and with HTTP Basic');
    if (bodyId !== undefined && bodyId !== basic.clientId) throw invalidRequest('client_id in the body differs from HTTP Basic');
    return { ...basic, viaBasic: true };
  }
  if (bodyId === undefined || bodySecret === undefined) throw invalidClient(false);
  return { clientId: bodyId, clientSecret: bodySecret, viaBasic: false };
}

/** What the token endpoint needs of the server around it: the per-address failure limit. */
export interface GrantGuard {
  failedGrants?: FailureLimit;
  /** Refusals logged one line per address per minute with a count, not one per attempt. */
  refusals?: ThrottledLog;
  authenticated?(): void;
}

/**
 * `POST /api/v1/token`: the OAuth 2.0 client credentials grant (RFC 6749 §4.4), credentials in the
 * form body or with HTTP Basic. Errors follow §5.2. Neither the secret nor the token is logged.
 *
 * Failed client authentication is limited per address like the agent listener's: credentials
 * are always checked, so a correct client is never refused for its neighbours' failures; a
 * failure from an address over the limit answers 429 with Retry-After, after a delay.
 */
export async function handleTokenRequest(
  req: http.IncomingMessage,
  deps: ApiDeps,
  source: string,
  guard: GrantGuard = {},
): Promise<TokenResponse> {
  // Node starts a handler for every request it parses from a connection, pipelined or not: one
  // grant at a time per connection, so a delayed refusal bounds the guesses a connection makes.
  if (grantsInFlight.has(req.socket)) {
    req.socket.destroy();
    throw new HttpError(429, 'rate_limited', 'one token request at a time per connection', { ...NO_STORE_HEADERS });
  }
  grantsInFlight.add(req.socket);
  try {
    return await grantOrRefuse(req, deps, source, guard);
  } finally {
    grantsInFlight.delete(req.socket);
  }
}

/** Connections with a token request being answered. */
const grantsInFlight = new WeakSet<object>();

async function grantOrRefuse(req: http.IncomingMessage, deps: ApiDeps, source: string, guard: GrantGuard): Promise<TokenResponse> {
  try {
    const granted = await grant(req, deps, source, guard.refusals);
    guard.authenticated?.();
    return granted;
  } catch (err) {
    const limit = guard.failedGrants;
    if (limit === undefined || !(err instanceof HttpError) || err.error !== 'invalid_client') throw err;
    const now = deps.now();
    const limited = limit.isLimited(source, now);
    limit.recordFailure(source, now);
    if (!limited) throw err;
    await new Promise((resolve) => setTimeout(resolve, OVER_LIMIT_DELAY_MS));
    const seconds = Math.max(1, Math.ceil(limit.retryAfterMs(source, deps.now()) / 1000));
    throw new HttpError(429, 'rate_limited', 'too many failed client authentications from this address', {
      ...NO_STORE_HEADERS,
      'Retry-After': String(seconds),
    });
  }
}

async function grant(req: http.IncomingMessage, deps: ApiDeps, source: string, refusals?: ThrottledLog): Promise<TokenResponse> {
  const form = await readForm(req);
  const grantType = form.get('grant_type');
  if (grantType === undefined) throw invalidRequest('grant_type: required');
  if (grantType !== 'client_credentials') {
    throw new HttpError(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported', { ...NO_STORE_HEADERS });
  }
  const creds = credentials(req, form);
  const now = deps.now();
  const client = deps.clients.verify(creds.clientId, creds.clientSecret, now);
  if (client === null) {
    // The presented id is logged only when it has the shape of an id: a secret pasted into the
    // wrong field must not reach the log.
    const fields = { client: isApiClientId(creds.clientId) ? creds.clientId : null, remote: source };
    if (refusals) refusals.report('warn', 'api_grant_refused', fields, 'token grant refused', addressKey(source));
    else deps.log.info(fields, 'token grant refused');
    throw invalidClient(creds.viaBasic);
  }
  const issued = deps.accessTokens.issue(client.id, deps.config.accessTokenTtlMs, now);
  deps.log.info({ client: client.id, remote: source, expiresIn: issued.expiresIn }, 'access token issued');
  return { access_token: issued.accessToken, token_type: 'bearer', expires_in: issued.expiresIn };
}
