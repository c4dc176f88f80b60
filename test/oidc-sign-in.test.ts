// Dashboard sign-in through a real OpenID provider (oidc-provider over HTTPS/TLS 1.3 with its own
// test CA) and the real collector: code flow with PKCE, groups mapped to roles and node scopes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { silentLogger } from '@ximp/shared';
import { OidcSignIn } from '../packages/collector/src/web/oidc-sign-in';
import { OIDC_TEST_CA_PEM, startOidcProvider, TestBrowser, type BrowserResponse, type TestOidcProvider } from './helpers/oidc-provider';
import { adminApi } from './helpers/admin-api';
import { freePort, prepareCollector, startPreparedCollector, waitFor, type TestCollector } from './helpers/system';

const ACCOUNTS = {
  alice: { preferred_username: 'alice', name: 'Alice Liddell', email: 'alice@example.net', groups: ['staff', 'ximp-editors'] },
  bob: { preferred_username: 'bob', email: 'bob@example.net', groups: ['staff', 'payroll-secret-group'] },
  carol: { preferred_username: 'carol', groups: ['app-team'] },
};

interface Setup {
  provider: TestOidcProvider;
  collector: TestCollector;
  origin: string;
  browser(): TestBrowser;
}

async function setup(tt: Test): Promise<Setup> {
  const apiPort = await freePort();
  const origin = `https://127.0.0.1:${apiPort}`;
  const provider = await startOidcProvider(tt, { redirectUris: [`${origin}/auth/oidc/callback`], accounts: ACCOUNTS });
  const paths = prepareCollector(
    tt,
    [
      'dashboard:',
      '  oidc:',
      `    issuer: ${provider.issuer}`,
      `    client_id: ${provider.clientId}`,
      '    client_secret_file: oidc-secret',
      '    ca_file: idp-ca.pem',
      '    display_name: Example SSO',
      '    role_map:',
      '      ximp-editors: monitoring-editor',
      '      app-team: monitoring-viewer',
      '    node_scopes:',
      '      app-team: "web-*"',
    ].join('\n'),
    { agents: 0, api: apiPort },
  );
  fs.writeFileSync(path.join(paths.dir, 'oidc-secret'), `${provider.clientSecret}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(paths.dir, 'idp-ca.pem'), provider.caPem);
  const collector = await startPreparedCollector(tt, paths);
  const collectorCa = fs.readFileSync(paths.caFile, 'utf8');
  const browser = (): TestBrowser => new TestBrowser([collectorCa, provider.caPem]);
  await waitFor('OIDC offered', async () => (await browser().request('GET', `${origin}/auth/methods`)).text.includes('Sign in with Example SSO'));
  return { provider, collector, origin, browser };
}

/** /auth/oidc/start → the provider's login page; the flow cookie and the authorization URL. */
async function startFlow(tt: Test, s: Setup, browser: TestBrowser): Promise<{ authorize: URL; flowCookie: string; loginPage: BrowserResponse }> {
  const hops = await browser.follow(`${s.origin}/auth/oidc/start`);
  tt.equal(hops[0].status, 302);
  const authorize = new URL(String(hops[0].headers.location));
  const flowCookie = browser.cookies(s.origin).get('__Host-ximp-oidc') ?? '';
  return { authorize, flowCookie, loginPage: hops[hops.length - 1] };
}

/** Signs in at the provider; the collector's answer to the callback (not followed). */
async function signIn(tt: Test, s: Setup, browser: TestBrowser, login: string): Promise<{ callback: BrowserResponse; flowCookie: string; authorize: URL }> {
  const { authorize, flowCookie, loginPage } = await startFlow(tt, s, browser);
  const hops = await browser.signInAtProvider(loginPage, login);
  const callback = hops[hops.length - 1];
  tt.equal(new URL(callback.url).pathname, '/auth/oidc/callback', 'the provider sent the browser back');
  return { callback, flowCookie, authorize };
}

/** Set-Cookie lines of a response. */
function setCookies(res: BrowserResponse): string[] {
  const value = res.headers['set-cookie'];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function api(s: Setup, browser: TestBrowser, method: string, pathname: string, body?: unknown, csrf?: string): Promise<BrowserResponse> {
  const headers: Record<string, string> = {};
  if (csrf !== undefined) headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return browser.request(method, `${s.origin}${pathname}`, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function audit(s: Setup): Promise<{ actor: string; action: string; target: string; reason?: string }[]> {
  const db = (s.collector.collector as unknown as { db: { prepare(sql: string): { all(): unknown[] } } }).db;
  return db.prepare('SELECT actor, action, target, reason FROM audit_log ORDER BY id').all() as { actor: string; action: string; target: string; reason?: string }[];
}

t.test('OIDC sign-in against a real provider', async (t) => {
  const s = await setup(t);

  t.test('groups → monitoring-editor: a session cookie that works on the API, CSRF on writes', async (t) => {
    const browser = s.browser();
    const { callback, authorize } = await signIn(t, s, browser, 'alice');
    t.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    t.match(authorize.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    t.notOk(authorize.searchParams.has('code_verifier'), 'the verifier never goes through the browser');
    t.equal(authorize.searchParams.get('scope'), 'openid profile email groups');

    t.equal(callback.status, 302, callback.text);
    t.equal(callback.headers.location, '/');
    const cookies = setCookies(callback);
    t.ok(cookies.some((c) => /^__Host-ximp-session=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict$/.test(c)), cookies.join('\n'));
    t.ok(cookies.some((c) => /^__Host-ximp-oidc=; .*Max-Age=0/.test(c)), 'the flow cookie is cleared');
    t.equal(s.provider.tokenRequests.at(-1)?.codeVerifierSent, true, 'the token request carried the PKCE verifier');

    const session = await api(s, browser, 'GET', '/auth/session');
    t.equal(session.status, 200);
    const body = JSON.parse(session.text) as { user: Record<string, unknown>; csrf_token: string };
    t.same(body.user, { name: 'alice', role: 'monitoring-editor', nodes: null, method: 'oidc', must_change_password: false });

    t.equal((await api(s, browser, 'GET', '/api/v1/agents')).status, 200);
    const rule = { name: 'agent-down', kind: 'agent_down', for: '2m', channels: [] };
    const noCsrf = await api(s, browser, 'PUT', '/api/v1/alert-rules/agent-down', rule);
    t.equal(noCsrf.status, 403);
    t.match(noCsrf.text, /csrf_token_invalid/);
    const written = await api(s, browser, 'PUT', '/api/v1/alert-rules/agent-down', rule, body.csrf_token);
    t.ok(written.status === 200 || written.status === 201, written.text);
    const admin = await api(s, browser, 'POST', '/api/v1/agent-tokens', { node: 'web-1' }, body.csrf_token);
    t.equal(admin.status, 403, 'an editor is no admin');

    const entries = await audit(s);
    t.ok(entries.some((e) => e.action === 'session.login' && e.actor === 'oidc:alice' && e.target === 'alice'));
    const db = (s.collector.collector as unknown as { db: { prepare(sql: string): { all(): unknown[] } } }).db;
    t.same(db.prepare("SELECT DISTINCT method, display_name FROM web_sessions WHERE user_name = 'alice'").all(), [{ method: 'oidc', display_name: 'Alice Liddell' }]);
    t.ok(entries.some((e) => e.actor === 'oidc:alice' && e.action.startsWith('alert_rule.')), 'changes are audited as oidc:alice');
  });

  t.test('a node_scopes group: a viewer limited to its nodes', async (t) => {
    const browser = s.browser();
    const { callback } = await signIn(t, s, browser, 'carol');
    t.equal(callback.status, 302, callback.text);
    const session = JSON.parse((await api(s, browser, 'GET', '/auth/session')).text) as { user: Record<string, unknown> };
    t.same(session.user, { name: 'carol', role: 'monitoring-viewer', nodes: 'web-*', method: 'oidc', must_change_password: false });
  });

  t.test('no mapped group: a 403 page naming the claim, not the groups; no session; audited', async (t) => {
    const browser = s.browser();
    const { callback } = await signIn(t, s, browser, 'bob');
    t.equal(callback.status, 403);
    t.match(callback.headers['content-type'], /^text\/html/);
    t.match(callback.text, /Your account has no XIMP role/);
    t.match(callback.text, /&#34;groups&#34; claim/);
    t.notMatch(callback.text, /payroll-secret-group|staff/, 'the user\'s groups are not shown');
    t.match(callback.text, /<a href="\/signin">/);
    t.match(callback.text, /<link rel="stylesheet" href="\/app.css">/);
    t.notMatch(callback.text, /<script|style=/);
    t.match(String(callback.headers['content-security-policy']), /default-src 'none'.*frame-ancestors 'none'/);
    t.notOk(setCookies(callback).some((c) => c.startsWith('__Host-ximp-session=')), 'no session cookie');
    t.equal((await api(s, browser, 'GET', '/auth/session')).status, 401);
    const entries = await audit(s);
    t.ok(entries.some((e) => e.action === 'session.login_failed' && e.target === 'bob' && e.reason === 'no_role'));
    t.notOk(entries.some((e) => e.action === 'session.login' && e.target === 'bob'));
  });

  t.test('a replayed callback, a foreign state, no flow cookie: 400 pages, no session', async (t) => {
    const browser = s.browser();
    const { callback, flowCookie } = await signIn(t, s, browser, 'alice');
    t.equal(callback.status, 302);
    // The same answer again, with the flow cookie the browser had: the flow was used up.
    const replay = s.browser();
    replay.cookies(s.origin).set('__Host-ximp-oidc', flowCookie);
    const replayed = await replay.request('GET', callback.url);
    t.equal(replayed.status, 400);
    t.match(replayed.text, /This sign-in is not valid any more/);
    t.notOk(setCookies(replayed).some((c) => c.startsWith('__Host-ximp-session=')));

    const other = s.browser();
    await startFlow(t, s, other);
    const wrongState = await other.request('GET', `${s.origin}/auth/oidc/callback?code=forged&state=not-the-one`);
    t.equal(wrongState.status, 400);
    t.match(wrongState.text, /does not belong to this browser/);
    t.equal((await other.request('GET', callback.url)).status, 400, 'the flow is gone after a refused callback too');

    const noCookie = await s.browser().request('GET', callback.url);
    t.equal(noCookie.status, 400);
    t.match(String(noCookie.headers['cache-control']), /no-store/);
  });

  t.test('the provider refuses (error=access_denied): a 400 page saying so', async (t) => {
    const browser = s.browser();
    await startFlow(t, s, browser);
    const refused = await browser.request('GET', `${s.origin}/auth/oidc/callback?error=access_denied&error_description=%3Cb%3Enope%3C%2Fb%3E`);
    t.equal(refused.status, 400);
    t.match(refused.text, /The identity provider did not sign you in/);
    t.match(refused.text, /access_denied/);
    t.notMatch(refused.text, /<b>nope/, 'the description is not echoed');
    const entries = await audit(s);
    t.ok(entries.some((e) => e.action === 'session.login_failed' && e.reason === 'oidc_provider_error'));
  });

  t.test('the provider requires PKCE: an authorization request without a challenge is refused', async (t) => {
    const { authorize } = await startFlow(t, s, s.browser());
    authorize.searchParams.delete('code_challenge');
    authorize.searchParams.delete('code_challenge_method');
    const answer = await s.browser().request('GET', authorize.href);
    const back = new URL(String(answer.headers.location), authorize);
    t.equal(back.searchParams.get('error'), 'invalid_request', back.href);
    t.match(back.searchParams.get('error_description'), /requires PKCE/);
  });

  t.test('a sign-in finished after the flow lifetime: expired, even with a valid code', async (t) => {
    let now = Date.now();
    const secretFile = path.join(s.collector.dir, 'oidc-secret');
    const caFile = path.join(s.collector.dir, 'idp-ca.pem');
    const signIn = new OidcSignIn({
      config: {
        issuer: s.provider.issuer, clientId: s.provider.clientId, clientSecretFile: secretFile, redirectUrl: `${s.origin}/auth/oidc/callback`,
        scopes: ['openid', 'groups'], roleClaim: 'groups', roleMap: { 'ximp-editors': 'monitoring-editor' }, nodeScopes: {}, caFile, displayName: 'x', nameClaim: null,
      },
      log: silentLogger(),
      now: () => now,
      flows: { ttlMs: 60_000 },
    });
    t.teardown(() => signIn.stop());
    await signIn.start();
    await waitFor('discovered', () => signIn.ready);
    const begun = await signIn.begin();
    if (begun === null) throw new Error('not discovered');
    const browser = s.browser();
    const hops = await browser.follow(begun.location, { until: (res) => new URL(res.url).origin === s.origin });
    const back = await browser.signInAtProvider(hops[hops.length - 1], 'alice');
    const callbackUrl = new URL(back[back.length - 1].url);
    now += 60_001;
    t.same(await signIn.finish(begun.flowKey, callbackUrl.searchParams), { kind: 'refused', reason: 'state_expired', detail: 'the sign-in took too long' });
  });

  t.test('refusals are counted by kind in /metrics', async (t) => {
    const metrics = await (await adminApi(s.collector))('GET', '/metrics');
    t.match(metrics.body, /ximp_collector_api_refusals_total\{kind="oidc_state_mismatch"\} [1-9]/);
    t.match(metrics.body, /ximp_collector_api_refusals_total\{kind="oidc_state_unknown"\} [1-9]/);
    t.match(metrics.body, /ximp_collector_api_refusals_total\{kind="oidc_provider_error"\} 1/);
  });

  t.test('nothing secret in the logs', async (t) => {
    const logs = s.collector.logs.join('\n');
    t.notOk(logs.includes(String(s.provider.clientSecret)), 'no client secret');
    t.notMatch(logs, /code=|id_token|access_token|__Host-ximp/);
  });
});

t.test('a provider down at start: OIDC is not offered, /auth/oidc/start answers 503, then it is discovered', async (t) => {
  const apiPort = await freePort();
  const idpPort = await freePort();
  const origin = `https://127.0.0.1:${apiPort}`;
  const paths = prepareCollector(
    t,
    ['dashboard:', '  oidc:', `    issuer: https://127.0.0.1:${idpPort}`, '    client_id: ximp-dashboard', '    client_secret_file: oidc-secret', '    ca_file: idp-ca.pem', '    role_map: { ximp-editors: monitoring-editor }'].join('\n'),
    { agents: 0, api: apiPort },
  );
  fs.writeFileSync(path.join(paths.dir, 'oidc-secret'), 'a-client-secret-for-this-test\n', { mode: 0o600 });
  // The provider starts later; its CA is known now.
  const caPem = OIDC_TEST_CA_PEM;
  fs.writeFileSync(path.join(paths.dir, 'idp-ca.pem'), caPem);
  const collector = await startPreparedCollector(t, paths);
  const browser = new TestBrowser([fs.readFileSync(paths.caFile, 'utf8'), caPem]);

  const methods = await browser.request('GET', `${origin}/auth/methods`);
  t.same(JSON.parse(methods.text), { local: true, oidc: null });
  const early = await browser.request('GET', `${origin}/auth/oidc/start`);
  t.equal(early.status, 503);
  t.match(early.text, /not available/);

  await startOidcProvider(t, { redirectUris: [`${origin}/auth/oidc/callback`], accounts: ACCOUNTS, clientSecret: 'a-client-secret-for-this-test', port: idpPort });
  await waitFor('OIDC offered once the provider answers', async () => JSON.parse((await browser.request('GET', `${origin}/auth/methods`)).text).oidc !== null, 20_000, 200);
  t.same(JSON.parse((await browser.request('GET', `${origin}/auth/methods`)).text).oidc, { label: 'Sign in with identity provider' });
  t.match(collector.logs.join('\n'), /oidc discovery failed, retrying/);
  t.notMatch(collector.logs.join('\n'), /a-client-secret-for-this-test/);
});
