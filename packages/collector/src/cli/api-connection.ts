import * as https from 'node:https';
import { clientTlsOptions, describeTrustFailure, ErrorCodes, peerCertificateDates, trustFailureKind } from '@ximp/shared';
import { CliError } from './cli-error';
import { ExitCodes } from './exit-codes';
import type { TokenCache } from './token-cache';

export interface ApiConnectionOptions {
  /** Base URL, e.g. "https://collector:4494". */
  server: string;
  /** CA bundle (PEM) for the API certificate; null = the system's CAs. */
  ca: Buffer | string | null;
  clientId: string;
  clientSecret: string;
  /** Per request: connect, handshake and answer. */
  timeoutMs?: number;
  /** Keeps the access token between runs (token-cache.ts); without one, each run makes a grant. */
  tokenCache?: Pick<TokenCache, 'get' | 'put' | 'drop'>;
  now?: () => number;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Answers are lists of tokens, agents and clients; far below this. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** `{error, message}` of an API error body, as far as present. */
function errorOf(body: unknown): { error: string; message: string | null } {
  if (body !== null && typeof body === 'object') {
    const { error, message } = body as Record<string, unknown>;
    return { error: typeof error === 'string' ? error : 'error', message: typeof message === 'string' ? message : null };
  }
  return { error: 'error', message: null };
}

function describe(error: string, message: string | null): string {
  return message === null ? error : `${message} (${error})`;
}

/**
 * The CLI's link to the collector API: HTTPS with TLS 1.3 and the configured CA, an access token
 * from the client credentials grant (kept in the token cache between runs), and HTTP failures
 * turned into the exit statuses of SPEC §6. Neither the client ID, the client secret nor the
 * access token reaches a message.
 */
export class ApiConnection {
  private accessToken: string | null = null;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly options: ApiConnectionOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * Calls a route with the bearer token; answers 2xx bodies (and those of `answerStatuses`, whose
   * body is the result: a channel test's 502), throws CliError for everything else.
   */
  async call(method: 'GET' | 'POST' | 'DELETE' | 'PUT', path: string, body?: unknown, answerStatuses: readonly number[] = []): Promise<unknown> {
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const attempt = async (token: string): Promise<ApiResponse> => {
      const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
      if (payload !== null) headers['Content-Type'] = 'application/json';
      return this.send(method, path, headers, payload);
    };
    const fromCache = this.accessToken === null ? this.options.tokenCache?.get(this.now()) ?? null : null;
    if (fromCache !== null) this.accessToken = fromCache;
    let response = await attempt(await this.token());
    if (response.status === 401) {
      // A refused token is never offered again; a cached one may have been revoked or the
      // collector's database replaced, so that case earns one fresh grant.
      this.options.tokenCache?.drop();
      this.accessToken = null;
      if (fromCache !== null && errorOf(response.body).error === 'invalid_token') response = await attempt(await this.token());
    }
    if ((response.status >= 200 && response.status < 300) || answerStatuses.includes(response.status)) return response.body;
    throw this.failure(response, false);
  }

  /** POST /api/v1/token with HTTP Basic (RFC 6749 §2.3.1: each part form-encoded first). */
  private async token(): Promise<string> {
    if (this.accessToken !== null) return this.accessToken;
    const requested = this.now();
    const encode = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
    const basic = Buffer.from(`${encode(this.options.clientId)}:${encode(this.options.clientSecret)}`).toString('base64');
    const response = await this.send(
      'POST',
      '/api/v1/token',
      { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      Buffer.from('grant_type=client_credentials'),
    );
    if (response.status !== 200) throw this.failure(response, true);
    const answer = response.body as Record<string, unknown> | null;
    const accessToken = answer?.access_token;
    if (typeof accessToken !== 'string' || accessToken === '') {
      throw new CliError(ExitCodes.FAILED, `${this.options.server}: the token endpoint answered without an access token`);
    }
    this.accessToken = accessToken;
    // Counted from before the request, so the cache never believes a token lives longer than it does.
    const expiresIn = answer?.expires_in;
    if (typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0) {
      this.options.tokenCache?.put(accessToken, expiresIn, requested);
    }
    return accessToken;
  }

  private failure(response: ApiResponse, tokenRequest: boolean): CliError {
    const server = this.options.server;
    const { error, message } = errorOf(response.body);
    const status = response.status;
    if (status === 401 && error === 'invalid_client') {
      return new CliError(
        ExitCodes.NOT_AUTHORIZED,
        // Neither the client ID nor the secret: messages end up in terminals, tickets and CI logs.
        `not authenticated: ${server} refused the client credentials (invalid_client: wrong client_id or client_secret, or the client is revoked)`,
      );
    }
    // A node outside this client's scope (SPEC §10 answers 401): the token is fine, the node is not its.
    if (status === 401 && error === 'node_not_visible') {
      return new CliError(ExitCodes.NOT_AUTHORIZED, `not allowed: ${describe(error, message)}`, { code: ErrorCodes.AUTH_FORBIDDEN });
    }
    if (status === 401) return new CliError(ExitCodes.NOT_AUTHORIZED, `not authenticated: ${describe(error, message)}`);
    if (status === 403) {
      return new CliError(ExitCodes.NOT_AUTHORIZED, `not allowed: ${describe(error, message)}`, { code: ErrorCodes.AUTH_FORBIDDEN });
    }
    if (status === 404 && !tokenRequest) return new CliError(ExitCodes.NOT_FOUND, `not found: ${describe(error, message)}`);
    if (status === 400 && error === 'invalid_request' && !tokenRequest) {
      return new CliError(ExitCodes.USAGE, `invalid request: ${message ?? error}`);
    }
    // A series query past the collector's limits: the caller must ask for less (a shorter --since).
    if (status === 400 && error === 'query_too_large' && !tokenRequest) {
      return new CliError(ExitCodes.USAGE, `query too large: ${message ?? error}`);
    }
    if (status >= 500) return new CliError(ExitCodes.FAILED, `${server} failed: HTTP ${status} ${describe(error, message)}`);
    return new CliError(ExitCodes.FAILED, `${server} refused the request: HTTP ${status} ${describe(error, message)}`);
  }

  /** A certificate or TLS version this CLI does not trust: what is wrong and what to check. */
  private async trustFailure(err: Error, url: URL): Promise<CliError> {
    const kind = trustFailureKind(err);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    // Node keeps no peer certificate after a failed verification: read its dates once more.
    const dates =
      kind === 'expired' || kind === 'not_yet_valid'
        ? await peerCertificateDates({ host, port: Number(url.port || 443), servername: url.hostname }).catch(() => null)
        : null;
    const failure = describeTrustFailure(err, {
      peer: 'the collector',
      urlSetting: 'the server URL (--server, XIMP_SERVER or server in the CLI config)',
      caSetting: 'ca_file (XIMP_CA_FILE or ca_file in the CLI config)',
      notAfter: dates?.notAfter ?? null,
      notBefore: dates?.notBefore ?? null,
    });
    const text = failure?.message ?? err.message;
    return new CliError(ExitCodes.FAILED, `cannot trust ${this.options.server}: ${text}`, { cause: err, code: ErrorCodes.TLS_UNTRUSTED });
  }

  private send(method: string, path: string, headers: Record<string, string>, payload: Buffer | null): Promise<ApiResponse> {
    const server = this.options.server;
    const url = new URL(path, server + '/');
    if (payload !== null) headers['Content-Length'] = String(payload.length);
    return new Promise<ApiResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        if (trustFailureKind(err) !== null) {
          void this.trustFailure(err, url).then(reject);
          return;
        }
        const code = (err as NodeJS.ErrnoException).code;
        const cause = code !== undefined && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
        reject(new CliError(ExitCodes.FAILED, `cannot reach ${server}: ${cause}`, { cause: err }));
      };
      const req = https.request(url, {
        method,
        headers,
        agent: false,
        timeout: this.timeoutMs,
        // The API's certificate, not the agent listener's: a CLI pointed at the agent port says so.
        // An unmarked certificate (an operator's own, or issued before markers) passes.
        ...clientTlsOptions({ ca: this.options.ca, servername: url.hostname, component: { expected: 'api', onUnmarked: () => undefined } }),
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', fail);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            res.destroy(new Error(`answer larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = null;
          if (text !== '') {
            try {
              body = JSON.parse(text);
            } catch {
              body = { error: 'not_json', message: `answer is not JSON (${res.headers['content-type'] ?? 'no content type'})` };
            }
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      req.end(payload ?? undefined);
    });
  }
}
