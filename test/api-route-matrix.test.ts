/**
 * Every route of the API × every kind of caller, on a real collector over HTTPS (SPEC §10):
 * no token, an expired token, a token of a revoked client, viewer, editor, admin, and a viewer
 * limited to `web-*`. Asserts the status and the body's shape (`{error}` on refusals, JSON on
 * success). The table must name every route of API_ROUTES, so a new route fails this test until
 * its entry says who may call it.
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { AccessTokenStore } from '../packages/collector/src/auth/access-token-store';
import { API_ROUTES } from '../packages/collector/src/api/routes';
import { CertificateAuthority } from '../packages/collector/src/pki/certificate-authority';
import { openDatabase } from '../packages/collector/src/store/database';
import { adminApi, type AdminApi } from './helpers/admin-api';
import { createToken, startCollector, tempDir } from './helpers/system';

const KINDS = ['none', 'expired', 'revoked', 'viewer', 'editor', 'admin', 'scoped'] as const;
type Kind = (typeof KINDS)[number];
type Least = 'public' | 'viewer' | 'editor' | 'admin';

interface Req {
  path: string;
  json?: unknown;
  form?: Record<string, string>;
}

interface Ctx {
  admin: AdminApi;
  /** A fresh name for objects a request creates. */
  unique(prefix: string): string;
  channelBody(name: string): Record<string, unknown>;
}

interface Entry {
  least: Least;
  /** Status when the caller may call it. */
  ok: number;
  /** Status for the viewer limited to web-*, where it differs from a viewer's. */
  scoped?: number;
  /** The answer is Prometheus text, not JSON. */
  text?: boolean;
  /** A success is a server-sent event stream: read its first event, then hang up. */
  events?: boolean;
  /** A success has no body (204). */
  empty?: boolean;
  /** The caller authenticates with its client credentials (HTTP Basic), not a bearer token. */
  credentials?: boolean;
  /** A 401 without a challenge: the dashboard's sign-in routes (a cookie is no HTTP authentication scheme). */
  noChallenge?: boolean;
  /** Statuses that do not follow from `least` (the token endpoint). */
  expect?: Partial<Record<Kind, number>>;
  request(ctx: Ctx): Promise<Req> | Req;
}

async function created(api: AdminApi, method: string, p: string, body: unknown): Promise<void> {
  const res = await api(method, p, body);
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${res.body}`);
}

/** Node routes name db-1: every unscoped caller sees it, the web-* viewer must not. */
const TABLE: Record<string, Entry> = {
  'GET /healthz': { least: 'public', ok: 200, request: () => ({ path: '/healthz' }) },
  'GET /metrics': { least: 'viewer', ok: 200, scoped: 403, text: true, request: () => ({ path: '/metrics' }) },
  'POST /api/v1/token': {
    least: 'public',
    ok: 200,
    credentials: true,
    expect: { none: 401, revoked: 401 },
    request: () => ({ path: '/api/v1/token', form: { grant_type: 'client_credentials' } }),
  },
  'POST /api/v1/revoke': {
    least: 'viewer',
    ok: 200,
    request: () => ({ path: '/api/v1/revoke', form: { token: 'xat_' + 'u'.repeat(52) } }),
  },
  'GET /api/v1/agents': { least: 'viewer', ok: 200, request: () => ({ path: '/api/v1/agents' }) },
  'GET /api/v1/agents/events': { least: 'viewer', ok: 200, events: true, request: () => ({ path: '/api/v1/agents/events' }) },
  'GET /api/v1/agents/:node': { least: 'viewer', ok: 200, scoped: 401, request: () => ({ path: '/api/v1/agents/db-1' }) },
  'GET /api/v1/nodes/:node/series': {
    least: 'viewer',
    ok: 200,
    scoped: 401,
    request: () => ({ path: '/api/v1/nodes/db-1/series?metric=ximp_test_cycle' }),
  },
  'GET /api/v1/agent-tokens': { least: 'admin', ok: 200, request: () => ({ path: '/api/v1/agent-tokens' }) },
  'POST /api/v1/agent-tokens': { least: 'admin', ok: 201, request: () => ({ path: '/api/v1/agent-tokens', json: { node: 'web-9' } }) },
  'DELETE /api/v1/agent-tokens/:id': {
    least: 'admin',
    ok: 200,
    async request({ admin }) {
      const res = await admin('POST', '/api/v1/agent-tokens', { node: 'web-8' });
      return { path: `/api/v1/agent-tokens/${(JSON.parse(res.body) as { id: string }).id}` };
    },
  },
  'POST /api/v1/agent-tokens/revoke': {
    least: 'admin',
    ok: 200,
    async request({ admin }) {
      const res = await admin('POST', '/api/v1/agent-tokens', { node: 'web-7' });
      return { path: '/api/v1/agent-tokens/revoke', json: { ids: [(JSON.parse(res.body) as { id: string }).id] } };
    },
  },
  'GET /api/v1/clients': { least: 'admin', ok: 200, request: () => ({ path: '/api/v1/clients' }) },
  'POST /api/v1/clients': {
    least: 'admin',
    ok: 201,
    request: ({ unique }) => ({ path: '/api/v1/clients', json: { name: unique('client'), role: 'monitoring-viewer' } }),
  },
  'DELETE /api/v1/clients/:id': {
    least: 'admin',
    ok: 200,
    async request({ admin, unique }) {
      const res = await admin('POST', '/api/v1/clients', { name: unique('doomed'), role: 'monitoring-viewer' });
      return { path: `/api/v1/clients/${(JSON.parse(res.body) as { client_id: string }).client_id}` };
    },
  },
  'POST /api/v1/clients/:id/rotate-secret': {
    least: 'admin',
    ok: 200,
    async request({ admin, unique }) {
      const res = await admin('POST', '/api/v1/clients', { name: unique('rotated'), role: 'monitoring-viewer' });
      return { path: `/api/v1/clients/${(JSON.parse(res.body) as { client_id: string }).client_id}/rotate-secret` };
    },
  },
  'GET /api/v1/store/retention': { least: 'viewer', ok: 200, request: () => ({ path: '/api/v1/store/retention' }) },
  'PUT /api/v1/store/retention': { least: 'admin', ok: 200, request: () => ({ path: '/api/v1/store/retention', json: { retention: '15d' } }) },
  'GET /api/v1/tls/certificates': { least: 'admin', ok: 200, request: () => ({ path: '/api/v1/tls/certificates' }) },
  'POST /api/v1/tls/renew': { least: 'admin', ok: 200, request: () => ({ path: '/api/v1/tls/renew', json: { component: 'store-client' } }) },
  'GET /api/v1/alerts': { least: 'viewer', ok: 200, request: () => ({ path: '/api/v1/alerts' }) },
  'GET /api/v1/alerts/history': { least: 'viewer', ok: 200, request: () => ({ path: '/api/v1/alerts/history' }) },
  'GET /api/v1/alert-rules': { least: 'viewer', ok: 200, request: () => ({ path: '/api/v1/alert-rules' }) },
  'GET /api/v1/alert-rules/:name': { least: 'viewer', ok: 200, request: () => ({ path: '/api/v1/alert-rules/agent-down' }) },
  'POST /api/v1/alert-rules': {
    least: 'editor',
    ok: 201,
    request: ({ unique }) => ({ path: '/api/v1/alert-rules', json: { name: unique('rule'), kind: 'agent_down', for: '5m' } }),
  },
  'PUT /api/v1/alert-rules/:name': {
    least: 'editor',
    ok: 200,
    async request({ admin, unique }) {
      const name = unique('rule');
      await created(admin, 'POST', '/api/v1/alert-rules', { name, kind: 'agent_down', for: '5m' });
      return { path: `/api/v1/alert-rules/${name}`, json: { name, kind: 'agent_down', for: '10m' } };
    },
  },
  'DELETE /api/v1/alert-rules/:name': {
    least: 'editor',
    ok: 200,
    async request({ admin, unique }) {
      const name = unique('rule');
      await created(admin, 'POST', '/api/v1/alert-rules', { name, kind: 'agent_down', for: '5m' });
      return { path: `/api/v1/alert-rules/${name}` };
    },
  },
  'GET /api/v1/alert-channels': { least: 'viewer', ok: 200, request: () => ({ path: '/api/v1/alert-channels' }) },
  'GET /api/v1/alert-channels/:name': { least: 'editor', ok: 200, request: () => ({ path: '/api/v1/alert-channels/hook' }) },
  'POST /api/v1/alert-channels': {
    least: 'editor',
    ok: 201,
    request: ({ unique, channelBody }) => ({ path: '/api/v1/alert-channels', json: channelBody(unique('channel')) }),
  },
  'PUT /api/v1/alert-channels/:name': {
    least: 'editor',
    ok: 200,
    async request({ admin, unique, channelBody }) {
      const name = unique('channel');
      await created(admin, 'POST', '/api/v1/alert-channels', channelBody(name));
      return { path: `/api/v1/alert-channels/${name}`, json: { ...channelBody(name), secret: 'set' } };
    },
  },
  'DELETE /api/v1/alert-channels/:name': {
    least: 'editor',
    ok: 200,
    async request({ admin, unique, channelBody }) {
      const name = unique('channel');
      await created(admin, 'POST', '/api/v1/alert-channels', channelBody(name));
      return { path: `/api/v1/alert-channels/${name}` };
    },
  },
  'POST /api/v1/alert-channels/:name/test': { least: 'editor', ok: 200, request: () => ({ path: '/api/v1/alert-channels/hook/test' }) },
  'GET /api/v1/dashboards': { least: 'viewer', ok: 200, request: () => ({ path: '/api/v1/dashboards' }) },
  'GET /api/v1/dashboards/:id': { least: 'viewer', ok: 200, request: () => ({ path: '/api/v1/dashboards/node-overview' }) },
  'POST /api/v1/dashboards': {
    least: 'editor',
    ok: 201,
    request: ({ unique }) => ({ path: '/api/v1/dashboards', json: { name: unique('dash'), panels: [] } }),
  },
  'PUT /api/v1/dashboards/:id': {
    least: 'editor',
    ok: 200,
    async request({ admin, unique }) {
      const name = unique('dash');
      await created(admin, 'POST', '/api/v1/dashboards', { name, panels: [] });
      return { path: `/api/v1/dashboards/${name}`, json: { name, panels: [{ title: 'Load', metric: 'node_load1' }] } };
    },
  },
  'DELETE /api/v1/dashboards/:id': {
    least: 'editor',
    ok: 204,
    empty: true,
    async request({ admin, unique }) {
      const name = unique('dash');
      await created(admin, 'POST', '/api/v1/dashboards', { name, panels: [] });
      return { path: `/api/v1/dashboards/${name}` };
    },
  },
  'GET /api/v1/audit': { least: 'admin', ok: 200, request: () => ({ path: '/api/v1/audit' }) },
  // SPEC §15: the sign-in routes take no bearer token; without a session cookie they answer the same to everyone.
  'GET /auth/methods': { least: 'public', ok: 200, request: () => ({ path: '/auth/methods' }) },
  'GET /auth/session': { least: 'public', ok: 401, noChallenge: true, request: () => ({ path: '/auth/session' }) },
  'POST /auth/login': {
    least: 'public',
    ok: 401,
    noChallenge: true,
    request: ({ unique }) => ({ path: '/auth/login', json: { name: unique('nobody'), password: 'not-a-password' } }),
  },
  'POST /auth/password': {
    least: 'public',
    ok: 401,
    noChallenge: true,
    request: () => ({ path: '/auth/password', json: { current_password: 'a', new_password: 'b' } }),
  },
  'POST /auth/logout': { least: 'public', ok: 401, noChallenge: true, request: () => ({ path: '/auth/logout' }) },
  'GET /api/v1/users': { least: 'admin', ok: 200, request: () => ({ path: '/api/v1/users' }) },
  'POST /api/v1/users': {
    least: 'admin',
    ok: 201,
    request: ({ unique }) => ({ path: '/api/v1/users', json: { name: unique('user'), role: 'monitoring-viewer' } }),
  },
  'DELETE /api/v1/users/:name': {
    least: 'admin',
    ok: 200,
    async request({ admin, unique }) {
      const name = unique('leaver');
      await created(admin, 'POST', '/api/v1/users', { name, role: 'monitoring-viewer' });
      return { path: `/api/v1/users/${name}` };
    },
  },
  'POST /api/v1/users/:name/reset-password': {
    least: 'admin',
    ok: 200,
    async request({ admin, unique }) {
      const name = unique('forgetful');
      await created(admin, 'POST', '/api/v1/users', { name, role: 'monitoring-viewer' });
      return { path: `/api/v1/users/${name}/reset-password` };
    },
  },
  // No dashboard.oidc in this collector: both answer 404 to everyone (test/oidc-sign-in.test.ts has the flow).
  'GET /auth/oidc/start': { least: 'public', ok: 404, request: () => ({ path: '/auth/oidc/start' }) },
  'GET /auth/oidc/callback': { least: 'public', ok: 404, request: () => ({ path: '/auth/oidc/callback?code=x&state=y' }) },
};

const RANK: Record<Least, number> = { public: 0, viewer: 1, editor: 2, admin: 3 };
const KIND_RANK: Partial<Record<Kind, number>> = { viewer: 1, editor: 2, admin: 3, scoped: 1 };

function expected(entry: Entry, kind: Kind): number {
  if (entry.expect?.[kind] !== undefined) return entry.expect[kind]!;
  if (entry.least === 'public') return entry.ok;
  if (kind === 'none' || kind === 'expired' || kind === 'revoked') return 401;
  if (KIND_RANK[kind]! < RANK[entry.least]) return 403;
  if (kind === 'scoped' && entry.scoped !== undefined) return entry.scoped;
  return entry.ok;
}

/** A webhook receiver over TLS 1.3, so the channel-test route has someone to deliver to. */
async function webhookReceiver(t: Test, ca: CertificateAuthority): Promise<string> {
  const leaf = ca.issue({ commonName: 'localhost', usage: 'server', sans: [{ type: 'dns', value: 'localhost' }] });
  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.3' }, (req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `https://localhost:${(server.address() as AddressInfo).port}/hook`;
}

interface Caller {
  bearer: string | null;
  basic: string | null;
}

t.test('every route × every kind of caller', async (t) => {
  t.same(
    Object.keys(TABLE).sort(),
    API_ROUTES.map((r) => `${r.method} ${r.pattern}`).sort(),
    'the table has an entry for every route, and no other',
  );

  const receiversCa = CertificateAuthority.create({ commonName: 'XIMP route matrix receivers' });
  const caFile = path.join(tempDir(t), 'receivers-ca.pem');
  fs.writeFileSync(caFile, receiversCa.certPem);
  const hookUrl = await webhookReceiver(t, receiversCa);
  const c = await startCollector(t);
  const admin = await adminApi(c);
  const ca = fs.readFileSync(c.caFile);
  await createToken(c.cliConfig, 'web-1');
  await createToken(c.cliConfig, 'db-1');
  const channelBody = (name: string): Record<string, unknown> => ({ name, type: 'webhook', url: hookUrl, secret: 'matrix-secret', ca_file: caFile });
  await created(admin, 'POST', '/api/v1/alert-channels', channelBody('hook'));

  const call = (method: string, p: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; type: string; body: string; challenge: string | undefined }>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: c.apiPort, method, path: p, headers, ca, servername: 'localhost', minVersion: 'TLSv1.3', agent: false },
        (res) => {
          let text = '';
          const type = String(res.headers['content-type'] ?? '');
          res.on('data', (d: Buffer) => {
            text += d.toString();
            // A live stream never ends by itself: its first event is the answer.
            if (type.startsWith('text/event-stream') && text.includes('\n\n')) {
              resolve({ status: res.statusCode ?? 0, type, body: text, challenge: undefined });
              req.destroy();
            }
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: text, challenge: res.headers['www-authenticate'] as string | undefined }),
          );
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end(body);
    });

  const newClient = async (role: string, nodes?: string): Promise<{ id: string; secret: string; token: string }> => {
    const res = await admin('POST', '/api/v1/clients', { name: `matrix ${role} ${nodes ?? 'all'}`, role, ...(nodes ? { nodes } : {}) });
    const { client_id: id, client_secret: secret } = JSON.parse(res.body) as { client_id: string; client_secret: string };
    const grant = await call('POST', '/api/v1/token', { 'Content-Type': 'application/x-www-form-urlencoded' }, new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }).toString());
    return { id, secret, token: (JSON.parse(grant.body) as { access_token: string }).access_token };
  };
  const basic = (x: { id: string; secret: string }) => 'Basic ' + Buffer.from(`${x.id}:${x.secret}`).toString('base64');

  const viewer = await newClient('monitoring-viewer');
  const editor = await newClient('monitoring-editor');
  const adminClient = await newClient('monitoring-admin');
  const scoped = await newClient('monitoring-viewer', 'web-*');
  const revoked = await newClient('monitoring-viewer');
  t.equal((await admin('DELETE', `/api/v1/clients/${revoked.id}`)).status, 200);
  // An expired token of an active client: issued an hour ago for a minute, on the collector's own database.
  const expiredClient = await newClient('monitoring-admin');
  const db = openDatabase(c.dataDir);
  const expiredToken = new AccessTokenStore(db).issue(expiredClient.id, 60_000, Date.now() - 3_600_000).accessToken;
  db.close();

  const callers: Record<Kind, Caller> = {
    none: { bearer: null, basic: null },
    expired: { bearer: expiredToken, basic: basic(expiredClient) },
    revoked: { bearer: revoked.token, basic: basic(revoked) },
    viewer: { bearer: viewer.token, basic: basic(viewer) },
    editor: { bearer: editor.token, basic: basic(editor) },
    admin: { bearer: adminClient.token, basic: basic(adminClient) },
    scoped: { bearer: scoped.token, basic: basic(scoped) },
  };

  let n = 0;
  const ctx: Ctx = { admin, unique: (prefix) => `${prefix}-${++n}`, channelBody };
  for (const route of API_ROUTES) {
    const key = `${route.method} ${route.pattern}`;
    const entry = TABLE[key];
    if (entry === undefined) continue; // reported by the key comparison above
    for (const kind of KINDS) {
      const req = await entry.request(ctx);
      const headers: Record<string, string> = {};
      const who = callers[kind];
      const auth = entry.credentials ? who.basic : who.bearer;
      if (auth !== null) headers.Authorization = entry.credentials ? auth : `Bearer ${auth}`;
      let body: string | undefined;
      if (req.form !== undefined) {
        headers['Content-Type'] = 'application/x-www-form-urlencoded';
        body = new URLSearchParams(req.form).toString();
      } else if (req.json !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(req.json);
      }
      const res = await call(route.method, req.path, headers, body);
      const want = expected(entry, kind);
      const label = `${key} as ${kind}`;
      t.equal(res.status, want, `${label}: ${want}`, { body: res.body.slice(0, 300) });
      if (res.status >= 400) {
        t.match(res.type, /^application\/json/, `${label}: JSON refusal`);
        const parsed = JSON.parse(res.body) as unknown;
        t.match(parsed, { error: String }, `${label}: {error}`);
        if (res.status === 401 && !entry.credentials && !entry.noChallenge) t.match(res.challenge, /^Bearer realm="ximp"/, `${label}: a Bearer challenge`);
        if (res.status === 401 && entry.credentials && auth !== null) t.match(res.challenge, /^Basic realm="ximp"/, `${label}: a Basic challenge`);
      } else if (entry.events) {
        t.match(res.type, /^text\/event-stream/, `${label}: an event stream`);
        t.match(res.body, /^event: snapshot\ndata: \[/, `${label}: starts with the snapshot`);
      } else if (entry.empty) {
        t.equal(res.body, '', `${label}: no body`);
      } else if (entry.text) {
        t.match(res.type, /^text\/plain/, `${label}: Prometheus text`);
      } else {
        t.match(res.type, /^application\/json/, `${label}: JSON`);
        t.doesNotThrow(() => JSON.parse(res.body), `${label}: parses`);
      }
    }
  }
});
