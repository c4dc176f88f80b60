import * as https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import { AGENT_PATH, CloseCodes, NODE_HEADER, SUBPROTOCOL, isNodeName, serverTlsOptions } from '@ximp/shared';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { refuseUpgrade } from './upgrade-refusal';
import { AgentSession, type AgentSessionDeps, type SessionCounters } from './agent-session';

/** The token check the listener needs; AgentTokenStore implements it. */
export interface UpgradeTokenVerifier {
  verify(
    tokenText: string,
    node: string,
    now: number,
  ):
    | { ok: true; record: { id: string; expiresMs: number } }
    | { ok: false; status: 401 | 403; reason: string };
  markUsed(id: string, now: number): void;
}

export interface AgentServerOptions {
  host: string;
  port: number;
  tls: { cert: string; key: string };
  authFailuresPerMinute: number;
  tokens: UpgradeTokenVerifier;
  session: Omit<AgentSessionDeps, 'counters'>;
}

/**
 * The agent listener: HTTPS with TLS 1.3 only, authenticating the bearer token and node header
 * on the `upgrade` event, before any WebSocket exists. Refusals are answered on the raw socket
 * (401 invalid/expired/revoked, 403 another node's token, 429 too many failures from one address).
 */
export class AgentServer {
  readonly counters: SessionCounters & { refusedUpgrades: number } = {
    batchesAcked: 0,
    samplesAcked: 0,
    duplicateBatches: 0,
    protocolErrors: 0,
    storeFailures: 0,
    refusedUpgrades: 0,
  };
  private server: https.Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly limiter: AuthFailureLimiter;
  private readonly sessions = new Set<AgentSession>();

  constructor(private readonly options: AgentServerOptions) {
    this.limiter = new AuthFailureLimiter(options.authFailuresPerMinute);
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
    const server = https.createServer(serverTlsOptions(options.tls), (_req, res) => {
      res.writeHead(426, { 'Content-Type': 'application/json', Upgrade: 'websocket' });
      res.end(JSON.stringify({ error: 'upgrade_required' }));
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    server.on('tlsClientError', (err, socket) => {
      options.session.log.debug({ remote: socket.remoteAddress, err: err.message }, 'agent tls handshake failed');
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
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
    const closed: { node: string; address: string }[] = [];
    for (const session of this.sessions) {
      if (session.tokenId !== tokenId) continue;
      session.close(code, reason);
      closed.push({ node: session.node, address: session.address });
    }
    return closed;
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  /** Stops accepting, tells every agent the server is going away (1001), then closes. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closing = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of this.sessions) session.close(CloseCodes.SHUTTING_DOWN, 'collector shutting down');
    const deadline = Date.now() + 2000;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    server.closeAllConnections();
    this.wss?.close();
    await closing;
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const { options } = this;
    const log = options.session.log;
    const now = options.session.now();
    const address = req.socket.remoteAddress ?? 'unknown';
    const refuse = (status: number, error: string, node?: string): void => {
      this.counters.refusedUpgrades++;
      log.warn({ remote: address, node, status, reason: error }, 'agent connection refused');
      refuseUpgrade(socket, status, error);
    };

    const path = (req.url ?? '').split('?')[0];
    if (path !== AGENT_PATH) return refuse(404, 'not_found');
    if (this.limiter.isLimited(address, now)) return refuse(429, 'rate_limited');

    const authorization = req.headers.authorization ?? '';
    const match = /^Bearer ([^\s]+)$/i.exec(authorization);
    const nodeHeader = req.headers[NODE_HEADER];
    const node = typeof nodeHeader === 'string' ? nodeHeader : '';
    if (!match || !isNodeName(node)) {
      this.limiter.recordFailure(address, now);
      return refuse(401, 'invalid_token', isNodeName(node) ? node : undefined);
    }
    const result = options.tokens.verify(match[1], node, now);
    if (!result.ok) {
      this.limiter.recordFailure(address, now);
      return refuse(result.status, result.reason, node);
    }
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(SUBPROTOCOL)) return refuse(400, 'unsupported_subprotocol', node);

    options.tokens.markUsed(result.record.id, now);
    this.wss!.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const session = new AgentSession(
        ws,
        { node, tokenId: result.record.id, tokenExpiresMs: result.record.expiresMs, address },
        {
          ...options.session,
          counters: this.counters,
          // A broken frame counts like a failed authentication: a token holder sending hostile
          // frames (each costs decode time) is held to the same rate as a token guesser.
          onProtocolViolation: (from) => this.limiter.recordFailure(from, options.session.now()),
        },
      );
      this.sessions.add(session);
      ws.once('close', () => this.sessions.delete(session));
      session.start();
    });
  }
}
