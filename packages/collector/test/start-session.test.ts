/** startSession: a session for a user authenticated elsewhere (OIDC) is the same kind of session. */
import t from 'tap';
import { startSession } from '../dist/web/start-session';
import { startApi } from './helpers/api-harness';
import { withSession } from './helpers/web-sign-in';

t.test('an OIDC session: cookie set, audited, principal oidc:<name> through the same role check', async (t) => {
  const h = await startApi(t);
  const headers = new Map<string, string>();
  const body = startSession(
    h.deps,
    { setHeader: (name: string, value: string) => headers.set(name, value) },
    { name: 'dana', method: 'oidc', displayName: 'Dana Scully', role: 'monitoring-admin', nodes: null },
    '10.1.2.3',
  );
  t.same(body.user, { name: 'dana', role: 'monitoring-admin', nodes: null, method: 'oidc', must_change_password: false });
  const cookie = /^__Host-ximp-session=([A-Za-z0-9_-]{43}); Path=\/; Secure; HttpOnly; SameSite=Strict$/.exec(headers.get('Set-Cookie')!)![1];
  t.match(h.deps.audit.list()[0], { actor: 'oidc:dana', action: 'session.login', target: 'dana', source: '10.1.2.3' });
  const stored = h.db.prepare('SELECT method, display_name FROM web_sessions').get();
  t.same(stored, { method: 'oidc', display_name: 'Dana Scully' });

  const session = { cookie, csrf: body.csrf_token };
  t.equal((await withSession(h, 'GET', '/auth/session', session)).json.user.method, 'oidc');
  const created = await withSession(h, 'POST', '/api/v1/users', session, { name: 'erin', role: 'monitoring-viewer' });
  t.equal(created.status, 201);
  t.match(h.deps.audit.list()[0], { actor: 'oidc:dana', action: 'user.create', target: 'erin' });
  const password = await withSession(h, 'POST', '/auth/password', session, { current_password: 'x', new_password: 'y'.repeat(12) });
  t.same([password.status, password.json.error], [409, 'conflict'], 'an OIDC user has no local password');
  t.equal(h.deps.webSessions!.deleteOfUser('dana'), 0, 'a local dana is another user');
  t.equal(h.deps.webSessions!.deleteOfUser('dana', 'oidc'), 1);
  t.equal((await withSession(h, 'GET', '/auth/session', session)).status, 401);
});
