import * as https from 'node:https';
import type * as http from 'node:http';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { ConfigError, ErrorCodes, ThrottledLog, XimpError, redactSecrets, serverTlsOptions } from '@ximp/shared';
import { can } from '../auth/roles';
import type { FaultReporter } from '../fault-reporter';
import { AuthFailureLimiter } from '../ingest/auth-failure-limiter';
import { ConnectionGuard, LISTEN_BACKLOG } from '../net/connection-guard';
import { closeSilentConnections, listenerTimeouts } from '../net/listener-timeouts';
import { isStorageFault } from '../storage-fault';
import { AddressAllowlist } from './address-allowlist';
import { AgentEventFeed, type AgentEventFeedOptions } from './agent-event-feed';
import type { ApiDeps } from './api-deps';
import { insufficientScope, type Principal } from './bearer-auth';
import { HttpError, InvalidObjectError } from './http-error';
import { HSTS_VALUE, sendBytes, sendJson, sendText, setSecurityHeaders } from './json-response';
import { hasBody } from './request-body';
import { authenticateRequest } from './session-auth';
import { sessionCookieOf } from '../web/session-cookie';
import { sendStream } from './stream-response';
import { matchRoute, type Route, type RouteResult } from './route-table';
import { LISTENER_ROUTES } from './routes';

export interface ListenOptions {
  host: string;
  port: number;
}

/** How long stop() lets in-flight requests finish before cutting their connections. */
const STOP_DEADLINE_MS = 5_000;
/** Retry-After of a 503 when storage failed under a request. */
const FAULT_RETRY_AFTER_S = 5;

/** The listener's limits (SPEC §16); defaults as in collector.yaml. */
export interface ApiServerOptions {
  /** Where survived faults go; without one, storage faults are logged throttled all the same. */
  faults?: Pick<FaultReporter, 'report'>;
  /** Failed client authentications per address per minute at POST /api/v1/token. */
  authFailuresPerMinute?: number;
  maxUnauthenticatedPerAddress?: number;
  /** TLS handshake and HTTP header timeout. */
  handshakeTimeoutMs?: number;
  maxConnections?: number;
  /** The live fleet streams' cap and periods (defaults: the dashboard contract's). */
  agentEvents?: AgentEventFeedOptions;
}

/** The path as logged: secret-shaped segments replaced, length bounded. */
function loggedPath(pathname: string): string {
  return redactSecrets(pathname).slice(0, 256);
}

/** The caller's address as audit entries and logs show it (IPv4-mapped IPv6 unwrapped). */
function sourceAddress(socket: net.Socket): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
}

/**
 * The admin API (SPEC §10): HTTPS with TLS 1.3 only, HSTS on every response, `api.allow_cidrs`
 * checked before anything else, OAuth 2.0 client credentials at `/api/v1/token`, and a bearer
 * token plus a role check — in this one place, from the route table — before any body is read.
 */
export class ApiServer {
  private server: https.Server | null = null;
  private readonly guard: ConnectionGuard;
  private readonly refusals: ThrottledLog;
  private readonly failedGrants: AuthFailureLimiter;
  private stopping: Promise<void> | null = null;
  private bound: ListenOptions | null = null;
  private readonly agentEvents: AgentEventFeed;

  constructor(
    private readonly deps: ApiDeps,
    private readonly listen: ListenOptions,
    private readonly routes: readonly Route[] = LISTENER_ROUTES,
    private readonly options: ApiServerOptions = {},
  ) {
    const allowlist = new AddressAllowlist(deps.config.allowCidrs);
    this.refusals = new ThrottledLog({ log: deps.log, now: () => deps.now() });
    this.failedGrants = new AuthFailureLimiter(options.authFailuresPerMinute ?? 30);
    // api.allow_cidrs is checked when the TCP connection is accepted: a refused address never
    // gets a TLS handshake, let alone a request parsed.
    this.guard = new ConnectionGuard({
      listener: 'api',
      maxUnauthenticatedPerAddress: options.maxUnauthenticatedPerAddress ?? 64,
      allows: (address) => allowlist.allows(address),
      refusals: this.refusals,
    });
    this.agentEvents = new AgentEventFeed(
      { agents: deps.agents, heldBackNodes: () => deps.heldBackNodes?.() ?? new Set(), refusals: this.refusals },
      options.agentEvents,
    );
  }

  /**
   * What the API listener refused, by kind, for /metrics: connections closed at accept
   * (`api_connection_refused_*`: allowlist, per-address cap, capacity), failed grants and the like.
   */
  refusalTotals(): ReadonlyMap<string, number> {
    return this.refusals.totalsByKey();
  }

  /** Listens; rejects when the address cannot be bound (in use, not local, ...). */
  async start(): Promise<void> {
    if (this.server !== null) return;
    const server = https.createServer({
      ...serverTlsOptions({ cert: this.deps.tls.cert, key: this.deps.tls.key }),
      ...listenerTimeouts(this.options.handshakeTimeoutMs ?? 10_000),
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16 * 1024,
    });
    server.maxConnections = this.options.maxConnections ?? 10_000;
    this.guard.attach(server);
    closeSilentConnections(server, this.options.handshakeTimeoutMs ?? 10_000);
    server.on('request', (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.deps.log.error({ err }, 'api request handler failed');
        // Never leave a caller hanging: answer 500 if nothing was sent, else cut the connection.
        if (res.headersSent) res.destroy();
        else sendJson(res, 500, { error: 'server_error', message: 'internal error' });
      });
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
      // Node's default answer to a malformed request lacks HSTS; every response carries it.
      // A TLS failure (a handshake timeout) arrives here too: there is no one to answer, and a
      // write to a socket whose handshake never finished would hold it open for good.
      const httpError = err.code !== undefined && (err.code.startsWith('HPE_') || err.code.startsWith('ERR_HTTP_'));
      if (!httpError || !socket.writable) {
        socket.destroy();
        return;
      }
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nStrict-Transport-Security: ${HSTS_VALUE}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    });
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
      this.deps.log.debug({ remote: socket.remoteAddress, code: err.code }, 'api tls handshake refused');
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server = null;
        reject(err);
      };
      server.once('error', onError);
      server.listen({ port: this.listen.port, host: this.listen.host, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', onError);
        server.on('error', (err) => this.deps.log.error({ err }, 'api server error'));
        resolve();
      });
    });
    const addr = server.address() as net.AddressInfo;
    this.bound = { host: addr.address, port: addr.port };
    this.deps.log.info({ host: addr.address, port: addr.port }, 'api listening');
  }

  /** Stops accepting, lets in-flight requests finish for a few seconds, then closes the rest. Idempotent. */
  stop(): Promise<void> {
    if (this.stopping !== null) return this.stopping;
    const server = this.server;
    if (server === null) return Promise.resolve();
    // Live streams never finish by themselves: end them, so the connections can close.
    this.agentEvents.stop();
    this.stopping = new Promise<void>((resolve) => {
      const deadline = setTimeout(() => server.closeAllConnections(), STOP_DEADLINE_MS);
      // Handshakes in progress are no HTTP connections yet: closeIdleConnections does not see them.
      this.guard.destroyUnauthenticated();
      server.close(() => {
        clearTimeout(deadline);
        this.server = null;
        this.stopping = null;
        resolve();
      });
      server.closeIdleConnections();
    });
    return this.stopping;
  }

  /** Where the server listens (the real port when started on port 0). */
  address(): ListenOptions {
    if (this.bound === null) throw new XimpError(ErrorCodes.NOT_STARTED, 'api server is not started');
    return { ...this.bound };
  }

  /** The TLS server, so a ReloadableServerContext can attach to it; null when stopped. */
  tlsServer(): tls.Server | null {
    return this.server;
  }

  /**
   * Swaps in a new certificate and key for new handshakes; live connections keep theirs. The
   * material is proven usable before the swap, so on failure (XIMP_ERR_PKI_INVALID) the old stays.
   */
  reload(material: { cert: string; key: string }): void {
    const options = serverTlsOptions(material);
    try {
      // setSecureContext builds the context before replacing the old one, so a throw keeps the old.
      this.server?.setSecureContext(options);
    } catch (err) {
      throw new XimpError(ErrorCodes.PKI_INVALID, `unusable api certificate or key: ${(err as Error).message}`, { cause: err });
    }
    this.deps.tls = { ...material };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const source = sourceAddress(req.socket);
    const method = req.method ?? 'GET';
    let pathname = '/';
    let route: Route | null = null;
    let principal: Principal | null = null;
    setSecurityHeaders(res);
    try {
      const url = new URL(req.url ?? '/', 'https://api.invalid');
      pathname = url.pathname;
      // HEAD is GET without the body (Node drops it), on public routes only (the dashboard's
      // files): an API answer, a live stream above all, is not for HEAD.
      let match = matchRoute(this.routes, method === 'HEAD' ? 'GET' : method, pathname);
      if (method === 'HEAD' && match.kind === 'found' && match.route.permission !== null) match = { kind: 'method_not_allowed', allow: ['GET'] };
      if (match.kind === 'not_found') throw new HttpError(404, 'not_found', 'no such route');
      if (match.kind === 'method_not_allowed') {
        throw new HttpError(405, 'method_not_allowed', `use ${match.allow.join(', ')}`, { Allow: match.allow.join(', ') });
      }
      route = match.route;
      // The one role check: every route names its permission; none is read before this passes.
      if (route.permission !== null) {
        principal = authenticateRequest(req, this.deps);
        this.guard.authenticated(req.socket);
        if (!can(principal.role, route.permission)) throw insufficientScope();
      }
      const result = await route.handler({
        deps: this.deps,
        req,
        res,
        principal,
        params: match.params,
        query: url.searchParams,
        source,
        failedGrants: this.failedGrants,
        refusals: this.refusals,
        authenticated: () => this.guard.authenticated(req.socket),
        stillValid: this.credentialCheck(req, principal),
        agentEvents: this.agentEvents,
      });
      await this.send(res, result, route);
    } catch (err) {
      this.sendError(req, res, err, route);
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    this.deps.log.debug(
      { method, path: loggedPath(pathname), status: res.statusCode, remote: source, client: principal?.clientId ?? null, ms },
      'api request',
    );
  }

  /**
   * RouteContext.stillValid: the request's credential checked again, as on a new request, for
   * answers that outlive it (the live fleet stream). A check of a dashboard session must not count
   * as activity (it would keep an idle session alive for as long as a tab is open).
   */
  private credentialCheck(req: http.IncomingMessage, principal: Principal | null): () => boolean {
    if (principal === null) return () => true;
    return () => {
      try {
        // A session is looked up without refreshing its idle timer (WebSessionStore.find).
        const cookie = req.headers.authorization === undefined ? sessionCookieOf(req) : null;
        if (cookie !== null && this.deps.webSessions !== undefined) return this.deps.webSessions.find(cookie, this.deps.now()) !== null;
        authenticateRequest(req, this.deps);
        return true;
      } catch {
        return false;
      }
    };
  }

  private async send(res: http.ServerResponse, result: RouteResult, route: Route): Promise<void> {
    for (const [name, value] of Object.entries(route.headers ?? {})) res.setHeader(name, value);
    if ('open' in result) result.open(res);
    else if ('stream' in result) await sendStream(res, result.status, result.stream, result.contentType);
    else if ('text' in result) sendText(res, result.status, result.text, result.contentType);
    else if ('bytes' in result) sendBytes(res, result.status, result.bytes, result.headers);
    else sendJson(res, result.status, result.body, result.headers);
  }

  private sendError(req: http.IncomingMessage, res: http.ServerResponse, err: unknown, route: Route | null): void {
    let httpError: HttpError;
    if (err instanceof HttpError) {
      httpError = err;
    } else if (err instanceof ConfigError) {
      httpError = new InvalidObjectError(err.issues);
    } else if (err instanceof XimpError && err.code === ErrorCodes.REQUEST_INVALID) {
      httpError = new HttpError(400, 'invalid_request', err.message);
    } else if (err instanceof XimpError && err.code === ErrorCodes.CONFLICT) {
      httpError = new HttpError(409, 'conflict', err.message);
    } else if (err instanceof XimpError && err.code === ErrorCodes.NOT_FOUND) {
      httpError = new HttpError(404, 'not_found', err.message);
    } else if (isStorageFault(err)) {
      // The database failed under the request (I/O error, disk full, busy): the caller retries,
      // the server keeps serving. The log gets the error, the caller only that it was storage.
      const fields = { path: loggedPath(req.url?.split('?')[0] ?? '') };
      if (this.options.faults) this.options.faults.report('api_storage', err, fields);
      else this.refusals.report('error', 'api_storage', { ...fields, kind: 'api_storage', err }, 'fault survived, still serving');
      httpError = new HttpError(503, 'unavailable', 'storage is unavailable, retry later', { 'Retry-After': String(FAULT_RETRY_AFTER_S) });
    } else {
      this.deps.log.error({ err, path: loggedPath(req.url?.split('?')[0] ?? '') }, 'api request failed');
      httpError = new HttpError(500, 'server_error', 'internal error');
    }
    // A body we did not read would otherwise be parsed as the next request on this connection.
    if (!req.complete && hasBody(req)) res.setHeader('Connection', 'close');
    for (const [name, value] of Object.entries(route?.headers ?? {})) res.setHeader(name, value);
    sendJson(res, httpError.status, httpError.body(), httpError.headers);
  }
}
