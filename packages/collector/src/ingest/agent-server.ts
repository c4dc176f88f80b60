import * as https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import { AGENT_PATH, CloseCodes, NODE_HEADER, PeriodicTask, SUBPROTOCOL, ThrottledLog, isNodeName, serverTlsOptions } from '@ximp/shared';
import type { FaultReporter } from '../fault-reporter';
import { addressKey } from '../net/address-key';
import { ConnectionGuard, LISTEN_BACKLOG, type ConnectionGuardCounters } from '../net/connection-guard';
import { closeSilentConnections, listenerTimeouts } from '../net/listener-timeouts';
import { AuthFailureLimiter, OVER_LIMIT_DELAY_MS } from './auth-failure-limiter';
import { refuseUpgrade } from './upgrade-refusal';
import { AgentSession, type AgentSessionDeps, type SessionCounters } from './agent-session';

/** Retry-After of a 503 when storage failed during an upgrade: soon, the fault may be brief. */
const FAULT_RETRY_AFTER_S = 5;
/** How often batched token last-used times are written. */
const LAST_USED_FLUSH_MS = 1_000;

/** The token check the listener needs; AgentTokenStore implements it. */
export interface UpgradeTokenVerifier {
  verify(
    tokenText: string,
    node: string,
    now: number,
  ):
    | { ok: true; record: { id: string; expiresMs: number } }
    | { ok: false; status: 401 | 403; reason: string };
  /** Best-effort and batched: must not block or fail the upgrade. */
  markUsed(id: string, now: number): void;
  /** Writes batched last-used times; throws on a storage error (reported, retried next time). */
  flushLastUsed?(): void;
}

export interface AgentServerOptions {
  host: string;
  port: number;
  tls: { cert: string; key: string };
  authFailuresPerMinute: number;
  /** Concurrent sessions per token; a newer one closes the oldest with 4003 (SPEC §16). */
  maxSessionsPerToken?: number;
  /** Upgrades per token within a minute before 429 (a reconnect loop). */
  upgradesPerTokenPerMinute?: number;
  maxUnauthenticatedPerAddress?: number;
  /** TLS handshake timeout and HTTP header timeout (SPEC §16, 10 s). */
  handshakeTimeoutMs?: number;
  /** Server maxConnections: kept below the process's file-descriptor limit. */
  maxConnections?: number;
  tokens: UpgradeTokenVerifier;
  /** Where survived faults go: logged once per kind per minute, counted for /metrics. */
  faults: Pick<FaultReporter, 'report'>;
  session: Omit<AgentSessionDeps, 'counters'>;
}

export interface AgentServerCounters extends SessionCounters, ConnectionGuardCounters {
  refusedUpgrades: number;
  upgradeFaults: number;
  sessionsOverTokenLimit: number;
}

/**
 * The agent listener: HTTPS with TLS 1.3 only, authenticating the bearer token and node header
 * on the `upgrade` event, before any WebSocket exists. Refusals are answered on the raw socket
 * (401 invalid/expired/revoked, 403 another node's token, 429 rate limited, 503 storage fault).
 *
 * Failed authentication is limited per address, but a presented token is always checked (one
 * SHA-256 and one index probe, far less than the TLS handshake before it), so a correct token
 * gets in even when others behind the same address (NAT) failed; only failures are slowed down
 * (OVER_LIMIT_DELAY_MS). Protocol violations and reconnect loops are limited per token.
 */
export class AgentServer {
  readonly counters: AgentServerCounters = {
    batchesReceived: 0,
    samplesReceived: 0,
    batchesAcked: 0,
    samplesAcked: 0,
    duplicateBatches: 0,
    protocolErrors: 0,
    storeFailures: 0,
    refusedUpgrades: 0,
    upgradeFaults: 0,
    sessionsOverTokenLimit: 0,
    refusedByAllowlist: 0,
    refusedPerAddress: 0,
    refusedAtCapacity: 0,
  };
  private server: https.Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly guard: ConnectionGuard;
  private readonly refusals: ThrottledLog;
  private readonly failures: AuthFailureLimiter;
  private readonly violations: AuthFailureLimiter;
  private readonly upgrades: AuthFailureLimiter;
  private readonly sessions = new Set<AgentSession>();
  /** Live sessions per token id, oldest first. */
  private readonly byToken = new Map<string, AgentSession[]>();
  private readonly delayed = new Set<NodeJS.Timeout>();
  private readonly lastUsedFlush: PeriodicTask;

  constructor(private readonly options: AgentServerOptions) {
    const { log, now } = options.session;
    this.refusals = new ThrottledLog({ log, now });
    this.failures = new AuthFailureLimiter(options.authFailuresPerMinute);
    const byId = (id: string): string => id;
    this.violations = new AuthFailureLimiter(options.authFailuresPerMinute, 60_000, 100_000, byId);
    this.upgrades = new AuthFailureLimiter(options.upgradesPerTokenPerMinute ?? 20, 60_000, 100_000, byId);
    this.guard = new ConnectionGuard({
      listener: 'agents',
      maxUnauthenticatedPerAddress: options.maxUnauthenticatedPerAddress ?? 64,
      refusals: this.refusals,
      counters: this.counters,
    });
    // flushLastUsed reports its own failures.
    this.lastUsedFlush = new PeriodicTask({ run: () => this.flushLastUsed(), everyMs: LAST_USED_FLUSH_MS, runAtStart: false, onError: () => undefined });
  }

  async start(): Promise<void> {
    if (this.server) return;
    const { options } = this;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.session.limits.maxFrameBytes,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    const server = https.createServer(
      { ...serverTlsOptions(options.tls), ...listenerTimeouts(options.handshakeTimeoutMs ?? 10_000) },
      (_req, res) => {
        res.writeHead(426, { 'Content-Type': 'application/json', Upgrade: 'websocket' });
        res.end(JSON.stringify({ error: 'upgrade_required' }));
      },
    );
    server.maxConnections = options.maxConnections ?? 40_000;
    this.guard.attach(server);
    closeSilentConnections(server, options.handshakeTimeoutMs ?? 10_000);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket) => {
      options.session.log.debug({ remote: socket.remoteAddress, code: err.code }, 'agent tls handshake failed');
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: options.port, host: options.host, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', reject);
        server.on('error', (err) => options.session.log.error({ err }, 'agent server error'));
        resolve();
      });
    });
    this.lastUsedFlush.start();
  }

  address(): { host: string; port: number } {
    const addr = this.server?.address() as AddressInfo | null;
    if (!addr) throw new Error('agent server is not listening');
    return { host: addr.address, port: addr.port };
  }

  /** Swaps in a renewed certificate; live sessions keep theirs. */
  setSecureContext(tls: { cert: string; key: string }): void {
    this.server?.setSecureContext(serverTlsOptions(tls) as SecureContextOptions);
  }

  /** Closes every live session authenticated with `tokenId` at once; returns what it closed. */
  closeSessionsOfToken(tokenId: string, code: number, reason: string): { node: string; address: string }[] {
    // The index, not a scan: with 10,000 sessions, a thousand revocations at once would otherwise
    // walk ten million sessions on the event loop.
    const list = this.byToken.get(tokenId);
    if (list === undefined) return [];
    const closed: { node: string; address: string }[] = [];
    for (const session of [...list]) {
      session.close(code, reason);
      closed.push({ node: session.node, address: session.address });
    }
    return closed;
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  /** Live sessions by state, for /metrics. */
  sessionStates(): ReadonlyMap<string, number> {
    const states = new Map<string, number>();
    for (const session of this.sessions) states.set(session.state, (states.get(session.state) ?? 0) + 1);
    return states;
  }

  /** What the listener refused, by kind, for /metrics: `agent_refused_<reason>` upgrades and `agents_connection_refused_*` at accept. */
  refusalTotals(): ReadonlyMap<string, number> {
    return this.refusals.totalsByKey();
  }

  /** Stops accepting, tells every agent the server is going away (1001), then closes. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.lastUsedFlush.stop();
    const closing = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
    // Handshakes in progress and idle peers are not sessions: nothing to say goodbye to.
    this.guard.destroyUnauthenticated();
    for (const session of this.sessions) session.close(CloseCodes.SHUTTING_DOWN, 'collector shutting down');
    const deadline = Date.now() + 2000;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    server.closeAllConnections();
    this.wss?.close();
    await closing;
    this.flushLastUsed();
  }

  private flushLastUsed(): void {
    try {
      this.options.tokens.flushLastUsed?.();
    } catch (err) {
      this.options.faults.report('token_last_used', err);
    }
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    try {
      this.upgrade(req, socket, head);
    } catch (err) {
      // A storage fault (SQLite I/O error, disk full, busy) while checking the token: the agent
      // retries later; the collector keeps serving everyone else.
      this.counters.upgradeFaults++;
      this.options.faults.report('agent_upgrade', err, { remote: req.socket.remoteAddress });
      refuseUpgrade(socket, 503, 'unavailable', { 'Retry-After': String(FAULT_RETRY_AFTER_S) });
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { options } = this;
    const now = options.session.now();
    const address = req.socket.remoteAddress ?? 'unknown';
    const refuse = (status: number, error: string, node?: string, headers?: Record<string, string>): void => {
      this.counters.refusedUpgrades++;
      this.refusals.report(
        'warn',
        `agent_refused_${error}`,
        { remote: address, node, status, reason: error },
        'agent connection refused',
        addressKey(address),
      );
      refuseUpgrade(socket, status, error, headers);
    };
    const retryAfter = (ms: number): Record<string, string> => ({ 'Retry-After': String(Math.max(1, Math.ceil(ms / 1000))) });
    // A failure from an address over its limit is answered 429, and only after a delay.
    const fail = (status: number, error: string, node?: string): void => {
      const limited = this.failures.isLimited(address, now);
      this.failures.recordFailure(address, now);
      if (!limited) return refuse(status, error, node);
      const timer = setTimeout(() => {
        this.delayed.delete(timer);
        try {
          refuse(429, 'rate_limited', node, retryAfter(this.failures.retryAfterMs(address, options.session.now())));
        } catch (err) {
          options.faults.report('agent_upgrade', err, { remote: address });
          socket.destroy();
        }
      }, OVER_LIMIT_DELAY_MS);
      this.delayed.add(timer);
      socket.once('close', () => {
        clearTimeout(timer);
        this.delayed.delete(timer);
      });
    };

    const path = (req.url ?? '').split('?')[0];
    if (path !== AGENT_PATH) return refuse(404, 'not_found');

    const authorization = req.headers.authorization ?? '';
    const match = /^Bearer ([^\s]+)$/i.exec(authorization);
    const nodeHeader = req.headers[NODE_HEADER];
    const node = typeof nodeHeader === 'string' ? nodeHeader : '';
    if (!match || !isNodeName(node)) return fail(401, 'invalid_token', isNodeName(node) ? node : undefined);
    const result = options.tokens.verify(match[1], node, now);
    if (!result.ok) return fail(result.status, result.reason, node);
    const tokenId = result.record.id;

    // The token is genuine: from here on, limits are the token's, never its address's.
    if (this.violations.isLimited(tokenId, now)) {
      return refuse(429, 'rate_limited', node, retryAfter(this.violations.retryAfterMs(tokenId, now)));
    }
    // At most `upgradesPerTokenPerMinute` upgrades within a minute: the next one is refused.
    this.upgrades.recordFailure(tokenId, now);
    if (this.upgrades.isLimited(tokenId, now)) {
      return refuse(429, 'rate_limited', node, retryAfter(this.upgrades.retryAfterMs(tokenId, now)));
    }

    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(SUBPROTOCOL)) return refuse(400, 'unsupported_subprotocol', node);

    options.tokens.markUsed(tokenId, now);
    this.guard.authenticated(req.socket as Socket);
    this.wss!.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      try {
        this.open(ws, { node, tokenId, tokenExpiresMs: result.record.expiresMs, address });
      } catch (err) {
        this.counters.upgradeFaults++;
        options.faults.report('agent_upgrade', err, { remote: address, node });
        ws.close(1011, 'collector fault, retry later');
      }
    });
  }

  private open(ws: WebSocket, identity: { node: string; tokenId: string; tokenExpiresMs: number; address: string }): void {
    const { options } = this;
    const session = new AgentSession(ws, identity, {
      ...options.session,
      counters: this.counters,
      // A broken frame counts against the token that sent it, not its address: a token holder
      // sending hostile frames is held to the failure rate without locking out its neighbours.
      onProtocolViolation: () => this.violations.recordFailure(identity.tokenId, options.session.now()),
    });
    this.sessions.add(session);
    const siblings = this.byToken.get(identity.tokenId) ?? [];
    siblings.push(session);
    this.byToken.set(identity.tokenId, siblings);
    ws.once('close', () => {
      this.sessions.delete(session);
      const list = this.byToken.get(identity.tokenId);
      if (!list) return;
      const at = list.indexOf(session);
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0) this.byToken.delete(identity.tokenId);
    });
    session.start();
    const max = options.maxSessionsPerToken ?? 2;
    while (siblings.length > max) {
      const oldest = siblings.shift()!;
      this.counters.sessionsOverTokenLimit++;
      options.session.log.info(
        { node: oldest.node, token: identity.tokenId, old_session: oldest.id, old_remote: oldest.address, remote: identity.address },
        'token over its session limit, closing its oldest session',
      );
      oldest.close(CloseCodes.REPLACED, 'too many sessions of this token');
    }
  }
}
