// Starts a real ApiServer (TLS 1.3 on 127.0.0.1:0) on real stores in a temp dir (not itself a test).
// Imports the built code (dist/), like every workspace import: the test loader may compile src/
// with other compiler options than the build, and the code under test should be what ships.
import * as https from 'node:https';
import * as path from 'node:path';
import { createLogger } from '@ximp/shared';
import { AuditLog } from '../../dist/audit/audit-log';
import { AccessTokenStore } from '../../dist/auth/access-token-store';
import { AgentTokenStore } from '../../dist/auth/agent-token-store';
import { ApiClientStore } from '../../dist/auth/api-client-store';
import type { Role } from '../../dist/auth/roles';
import type { AgentView, ApiDeps, ClosedSession } from '../../dist/api/api-deps';
import { ApiServer, type ApiServerOptions } from '../../dist/api/api-server';
import { DashboardStore } from '../../dist/dashboards/dashboard-store';
import { openDatabase, type Database } from '../../dist/store/database';
import { RetentionSetting } from '../../dist/store/retention-setting';
import { SeriesQuery, type SeriesQueryOptions } from '../../dist/store/series-query';
import { SettingsStore } from '../../dist/store/settings-store';
import { LocalUserStore } from '../../dist/web/local-user-store';
import { SignInLimiter } from '../../dist/web/sign-in-limiter';
import { WebSessionStore, type WebSessionOptions } from '../../dist/web/web-session-store';
import { testPki } from './test-pki';

export interface Credentials {
  id: string;
  secret: string;
}

export interface Harness {
  server: ApiServer;
  url: string;
  caPem: string;
  deps: ApiDeps;
  db: Database;
  dataDir: string;
  /** Every JSON log line the server wrote (debug and up). */
  logText(): string;
  /** Calls the fake ingest side received. */
  closeCalls: { tokenId: string; code: number; reason: string }[];
  /** Live sessions the fake ingest side reports per token id. */
  liveSessions: Map<string, ClosedSession[]>;
  agents: AgentView[];
  /** Tells the server's change listeners (the live fleet feed) that agents changed, as the registry would. */
  agentsChanged(node?: string): void;
  createClient(role: Role, name?: string): Credentials;
  /** An access token for a client, by the token endpoint's own store. */
  accessToken(client: Credentials): string;
}

export interface HarnessOptions {
  allowCidrs?: string[];
  accessTokenTtlMs?: number;
  /** Limits of the series query on the harness's own store (defaults: collector.yaml's). */
  series?: Partial<SeriesQueryOptions>;
  /** collector.yaml's `store.retention` (default 15d). */
  retentionMs?: number;
  /** The certificate manager the TLS routes use (a fake at this level); absent when not given. */
  certificates?: ApiDeps['certificates'];
  /** The built dashboard the listener serves at `/` (default: packages/web/dist). */
  webRoot?: string;
  /** Dashboard session timeouts (default: collector.yaml's, 30m idle and 12h). */
  sessions?: Partial<WebSessionOptions>;
  /** The server's own options (limits, live stream periods). */
  server?: ApiServerOptions;
}

interface TapLike {
  testdir(fixture?: unknown): string;
  teardown(fn: () => unknown): void;
}

export async function startApi(t: TapLike, options: HarnessOptions = {}): Promise<Harness> {
  const pki = testPki();
  const dataDir = path.join(t.testdir(), 'data');
  const db = openDatabase(dataDir);
  const lines: string[] = [];
  const log = createLogger({ name: 'api-test', level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
  const closeCalls: Harness['closeCalls'] = [];
  const liveSessions = new Map<string, ClosedSession[]>();
  const agents: AgentView[] = [];
  const changeListeners = new Set<(node: string) => void>();
  const dashboards = new DashboardStore(db);
  dashboards.ensureBuiltIns(Date.now());
  const deps: ApiDeps = {
    tokens: new AgentTokenStore(db),
    clients: new ApiClientStore(db),
    accessTokens: new AccessTokenStore(db),
    audit: new AuditLog(db),
    agents: {
      list: () => [...agents],
      get: (node) => agents.find((a) => a.node === node),
      onChange(listener) {
        changeListeners.add(listener);
        return () => changeListeners.delete(listener);
      },
    },
    sessions: {
      closeSessionsOfToken(tokenId, code, reason) {
        closeCalls.push({ tokenId, code, reason });
        const live = liveSessions.get(tokenId) ?? [];
        liveSessions.delete(tokenId);
        return live;
      },
    },
    series: new SeriesQuery(db, { maxRangeMs: 31 * 86_400_000, maxPoints: 250_000, maxConcurrent: 4, ...options.series }),
    retention: new RetentionSetting(new SettingsStore(db), options.retentionMs ?? 15 * 86_400_000),
    certificates: options.certificates,
    users: new LocalUserStore(db),
    webSessions: new WebSessionStore(db, { idleTimeoutMs: 30 * 60_000, maxAgeMs: 12 * 3_600_000, ...options.sessions }),
    signInLimiter: new SignInLimiter(),
    dashboards,
    metrics: { contentType: 'text/plain; version=0.0.4; charset=utf-8', metrics: async () => '# TYPE ximp_collector_agents gauge\nximp_collector_agents 0\n' },
    config: {
      accessTokenTtlMs: options.accessTokenTtlMs ?? 3_600_000,
      allowCidrs: options.allowCidrs ?? [],
      defaultTokenExpiryMs: 365 * 86_400_000,
    },
    tls: { ...pki.server },
    webRoot: options.webRoot,
    log,
    now: () => Date.now(),
  };
  const server = new ApiServer(deps, { host: '127.0.0.1', port: 0 }, undefined, options.server);
  await server.start();
  t.teardown(async () => {
    await server.stop();
    db.close();
  });
  const { port } = server.address();
  return {
    server,
    url: `https://127.0.0.1:${port}`,
    caPem: pki.caPem,
    deps,
    db,
    dataDir,
    logText: () => lines.join(''),
    closeCalls,
    liveSessions,
    agents,
    agentsChanged(node = '') {
      for (const listener of changeListeners) listener(node);
    },
    createClient(role, name = `test ${role}`) {
      const created = deps.clients.create(name, role, Date.now());
      return { id: created.clientId, secret: created.clientSecret };
    },
    accessToken(client) {
      const verified = deps.clients.verify(client.id, client.secret, Date.now());
      if (verified === null) throw new Error('test client does not verify');
      return deps.accessTokens.issue(verified.id, deps.config.accessTokenTtlMs, Date.now()).accessToken;
    },
  };
}

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** One HTTPS request over TLS 1.3 trusting the test CA. */
export function request(
  harness: Pick<Harness, 'url' | 'caPem'>,
  method: string,
  pathname: string,
  options: { headers?: Record<string, string>; body?: string | Buffer; bearer?: string; localAddress?: string } = {},
): Promise<TestResponse> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.bearer !== undefined) headers.Authorization = `Bearer ${options.bearer}`;
  return new Promise((resolve, reject) => {
    const req = https.request(`${harness.url}${pathname}`, {
      method,
      headers,
      ca: harness.caPem,
      minVersion: 'TLSv1.3',
      agent: false,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = undefined;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON (e.g. /metrics)
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.end(options.body);
  });
}
