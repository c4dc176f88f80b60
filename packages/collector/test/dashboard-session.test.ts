/** SPEC §15 sessions: the cookie, CSRF, the same role check as bearer tokens, expiry, sign-out. */
import t from 'tap';
import { request, startApi } from './helpers/api-harness';
import { COOKIE_NAME, JSON_TYPE, login, readyUser, setCookieValue, signIn, withSession } from './helpers/web-sign-in';

const MINUTE = 60_000;
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

t.test('sign-in sets the cookie with exactly the contract flags; the session body; the API answers to the cookie', async (t) => {
  const h = await startApi(t);
  const password = await readyUser(h, 'alice', 'monitoring-viewer', 'web-*');
  const res = await login(h, 'alice', password);
  t.equal(res.status, 200, res.text);
  const header = res.headers['set-cookie'] as string[];
  t.equal(header.length, 1);
  t.match(header[0], /^__Host-ximp-session=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict$/, 'no Domain, no Max-Age');
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(res.headers['content-security-policy'], CSP);
  t.equal(res.headers['referrer-policy'], 'no-referrer');
  t.equal(res.headers['x-content-type-options'], 'nosniff');
  t.equal(res.headers['x-frame-options'], 'DENY');
  t.match(res.headers['strict-transport-security'], /max-age=31536000/);
  const body = res.json;
  t.same(body.user, { name: 'alice', role: 'monitoring-viewer', nodes: 'web-*', method: 'local', must_change_password: false });
  t.match(body.csrf_token, /^[A-Za-z0-9_-]{43}$/);
  const now = Date.now();
  t.ok(Math.abs(Date.parse(body.idle_expires_at) - (now + 30 * MINUTE)) < 10_000, 'idle deadline 30m ahead');
  t.ok(Math.abs(Date.parse(body.expires_at) - (now + 12 * 60 * MINUTE)) < 10_000, 'absolute deadline 12h ahead');

  const cookie = setCookieValue(res)!;
  const stored = h.db.prepare('SELECT cookie_hash, csrf_token FROM web_sessions').all() as { cookie_hash: Buffer; csrf_token: string }[];
  t.equal(stored.length, 1);
  t.equal(stored[0].cookie_hash.length, 32, 'the SHA-256 of the cookie is stored');
  t.notOk(JSON.stringify(h.db.prepare('SELECT * FROM web_sessions').all()).includes(cookie), 'never the cookie itself');

  const session = await withSession(h, 'GET', '/auth/session', { cookie });
  t.equal(session.status, 200);
  t.same(session.json.user, body.user);
  t.equal(session.json.csrf_token, body.csrf_token);
  t.equal(session.headers['cache-control'], 'no-store');
  t.equal(session.headers['content-security-policy'], CSP);

  h.agents.push(
    { node: 'web-1', state: 'ACTIVE' } as never,
    { node: 'db-1', state: 'ACTIVE' } as never,
  );
  const agents = await withSession(h, 'GET', '/api/v1/agents', { cookie });
  t.equal(agents.status, 200, agents.text);
  t.same((agents.json as { node: string }[]).map((a) => a.node), ['web-1'], 'the session keeps the node scope');

  const noCookie = await request(h, 'GET', '/api/v1/agents');
  t.equal(noCookie.status, 401);
  t.equal(noCookie.json.error, 'unauthorized');
  const badCookie = await withSession(h, 'GET', '/api/v1/agents', { cookie: 'A'.repeat(43) });
  t.equal(badCookie.status, 401);
  const noSession = await request(h, 'GET', '/auth/session');
  t.same([noSession.status, noSession.json], [401, { error: 'unauthorized' }]);
});

t.test('cookie requests other than GET/HEAD need the CSRF token; the role check is the bearer one', async (t) => {
  const h = await startApi(t);
  const adminPassword = await readyUser(h, 'root', 'monitoring-admin');
  const admin = await signIn(h, 'root', adminPassword);
  const newUser = { name: 'bob', role: 'monitoring-viewer' };

  const none = await withSession(h, 'POST', '/api/v1/users', { cookie: admin.cookie }, newUser);
  t.same([none.status, none.json], [403, { error: 'csrf_token_invalid' }]);
  const wrong = await withSession(h, 'POST', '/api/v1/users', { cookie: admin.cookie, csrf: 'x'.repeat(43) }, newUser);
  t.same([wrong.status, wrong.json], [403, { error: 'csrf_token_invalid' }]);
  const otherSession = await signIn(h, 'root', adminPassword);
  const crossed = await withSession(h, 'POST', '/api/v1/users', { cookie: admin.cookie, csrf: otherSession.csrf }, newUser);
  t.equal(crossed.status, 403, "another session's token does not fit");
  t.equal(h.deps.users!.get('bob'), null, 'nothing was created');
  const right = await withSession(h, 'POST', '/api/v1/users', admin, newUser);
  t.equal(right.status, 201, right.text);
  const audit = h.deps.audit.list().find((e) => e.action === 'user.create');
  t.match(audit, { actor: 'user:root', target: 'bob', source: '127.0.0.1' }, 'the actor is the session principal');

  const viewerPassword = await readyUser(h, 'vera', 'monitoring-viewer');
  const viewer = await signIn(h, 'vera', viewerPassword);
  const adminRoute = await withSession(h, 'GET', '/api/v1/users', viewer);
  t.same([adminRoute.status, adminRoute.json.error], [403, 'insufficient_scope'], 'a viewer session calling an admin route');
  const adminPost = await withSession(h, 'POST', '/api/v1/agent-tokens', viewer, { node: 'web-1' });
  t.equal(adminPost.status, 403);
  t.equal(h.deps.tokens.list().length, 0);
});

t.test('bearer tokens keep working unchanged, and an Authorization header wins over a cookie', async (t) => {
  const h = await startApi(t);
  const admin = h.accessToken(h.createClient('monitoring-admin'));
  const listed = await request(h, 'GET', '/api/v1/users', { bearer: admin });
  t.same([listed.status, listed.json], [200, { users: [] }]);
  const created = await request(h, 'POST', '/api/v1/users', { bearer: admin, headers: JSON_TYPE, body: JSON.stringify({ name: 'carl', role: 'monitoring-editor' }) });
  t.equal(created.status, 201, 'no CSRF token needed with a bearer token');
  const password = await readyUser(h, 'dora', 'monitoring-admin');
  const session = await signIn(h, 'dora', password);
  const bad = await request(h, 'GET', '/api/v1/users', { bearer: 'xat_not_a_token', headers: { Cookie: `${COOKIE_NAME}=${session.cookie}` } });
  t.equal(bad.status, 401, 'a bad bearer token is not rescued by a good cookie');
  t.equal(bad.json.error, 'invalid_token');
});

t.test('a one-time password must be changed before any API route answers', async (t) => {
  const h = await startApi(t);
  const { password } = await h.deps.users!.create('erin', 'monitoring-viewer', null, Date.now());
  t.match(password, /^[A-Za-z0-9_-]{20}$/);
  const first = await signIn(h, 'erin', password);
  t.equal(first.res.json.user.must_change_password, true);
  const api = await withSession(h, 'GET', '/api/v1/agents', first);
  t.same([api.status, api.json], [403, { error: 'password_change_required' }]);
  t.equal((await withSession(h, 'GET', '/auth/session', first)).status, 200, '/auth/* still answers');

  const change = (current: string, next: string, session = first): ReturnType<typeof withSession> =>
    withSession(h, 'POST', '/auth/password', session, { current_password: current, new_password: next });
  const noCsrf = await withSession(h, 'POST', '/auth/password', { cookie: first.cookie }, { current_password: password, new_password: 'a-long-new-password' });
  t.same([noCsrf.status, noCsrf.json], [403, { error: 'csrf_token_invalid' }]);
  t.equal((await change(password, 'short')).status, 400, 'at least 12 characters');
  t.equal((await change(password, password)).status, 400, 'not the old one');
  const wrongCurrent = await change('not-the-password', 'a-long-new-password');
  t.same([wrongCurrent.status, wrongCurrent.json.error], [403, 'invalid_credentials']);

  const changed = await change(password, 'a-long-new-password');
  t.equal(changed.status, 200, changed.text);
  t.equal(changed.json.user.must_change_password, false);
  const fresh = { cookie: setCookieValue(changed)!, csrf: changed.json.csrf_token as string };
  t.not(fresh.cookie, first.cookie, 'a new password gives a new session');
  t.equal((await withSession(h, 'GET', '/auth/session', first)).status, 401, 'the old session ended');
  t.equal((await withSession(h, 'GET', '/api/v1/agents', fresh)).status, 200, 'the API answers now');
  t.equal((await login(h, 'erin', password)).status, 401, 'the one-time password is spent');
  t.equal((await login(h, 'erin', 'a-long-new-password')).json.user.must_change_password, false);
});

t.test('idle and absolute expiry follow the clock', async (t) => {
  let clock = Date.parse('2026-12-01T08:00:00Z');
  const h = await startApi(t);
  h.deps.now = () => clock;
  const password = await readyUser(h, 'fred', 'monitoring-viewer');
  const s = await signIn(h, 'fred', password);
  t.equal(s.res.json.idle_expires_at, '2026-12-01T08:30:00.000Z');
  t.equal(s.res.json.expires_at, '2026-12-01T20:00:00.000Z');

  clock += 29 * MINUTE;
  const kept = await withSession(h, 'GET', '/auth/session', s);
  t.equal(kept.status, 200, 'used within 30 minutes');
  t.equal(kept.json.idle_expires_at, '2026-12-01T08:59:00.000Z', 'and the idle timer restarted');
  clock += 29 * MINUTE;
  t.equal((await withSession(h, 'GET', '/api/v1/agents', s)).status, 200, 'an API call refreshes it too');
  clock += 30 * MINUTE;
  const idle = await withSession(h, 'GET', '/api/v1/agents', s);
  t.equal(idle.status, 401, '30 minutes idle ends it');
  t.equal((await withSession(h, 'GET', '/auth/session', s)).status, 401);

  const s2 = await signIn(h, 'fred', password);
  // Busy all day: a request every 20 minutes for 12 hours.
  const end = clock + 12 * 60 * MINUTE;
  while (clock + 20 * MINUTE < end) {
    clock += 20 * MINUTE;
    t.equal((await withSession(h, 'GET', '/auth/session', s2)).status, 200);
  }
  clock = end;
  const old = await withSession(h, 'GET', '/auth/session', s2);
  t.equal(old.status, 401, '12 hours after sign-in it ends, used or not');
  t.match(old.headers['set-cookie'], [/^__Host-ximp-session=; .*Max-Age=0/], 'the browser is told to forget it');
});

t.test('sign-out ends the session and clears the cookie', async (t) => {
  const h = await startApi(t);
  const password = await readyUser(h, 'gina', 'monitoring-viewer');
  const s = await signIn(h, 'gina', password);
  const noCsrf = await withSession(h, 'POST', '/auth/logout', { cookie: s.cookie });
  t.equal(noCsrf.status, 403);
  const out = await withSession(h, 'POST', '/auth/logout', s);
  t.equal(out.status, 204);
  t.equal(out.text, '');
  t.same(out.headers['set-cookie'], ['__Host-ximp-session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0']);
  t.equal((await withSession(h, 'GET', '/auth/session', s)).status, 401);
  t.equal((await withSession(h, 'GET', '/api/v1/agents', s)).status, 401);
  const again = await withSession(h, 'POST', '/auth/logout', s);
  t.equal(again.status, 401);
  t.match(again.headers['set-cookie'], [/Max-Age=0$/], 'a dead cookie is cleared');
  t.equal((h.db.prepare('SELECT COUNT(*) AS n FROM web_sessions').get() as { n: number }).n, 0);
});

t.test('/auth/methods: local always; OIDC only when configured', async (t) => {
  const h = await startApi(t);
  const res = await request(h, 'GET', '/auth/methods');
  t.same([res.status, res.json], [200, { local: true, oidc: null }]);
  t.equal(res.headers['content-security-policy'], CSP);
  t.equal(res.headers['cache-control'], 'no-store');
  const oidc = {
    displayName: 'Example SSO',
    roleClaim: 'groups',
    label: 'Sign in with Example SSO',
    flowTtlMs: 600_000,
    ready: false,
    begin: async () => null,
    finish: async () => ({ kind: 'refused', reason: 'not_ready', detail: 'not discovered' }) as const,
  };
  h.deps.oidc = oidc;
  t.same((await request(h, 'GET', '/auth/methods')).json, { local: true, oidc: null }, 'not offered before the provider is discovered');
  oidc.ready = true;
  t.same((await request(h, 'GET', '/auth/methods')).json, { local: true, oidc: { label: 'Sign in with Example SSO' } });
});
