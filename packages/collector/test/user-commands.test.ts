/** `ximp user create|list|disable|reset-password` over /api/v1/users: one-time passwords, sessions closed at once, audited. */
import t from 'tap';
import { request, startApi } from './helpers/api-harness';
import { cli } from './helpers/cli-runner';
import { JSON_TYPE, login, readyUser, signIn, withSession } from './helpers/web-sign-in';

t.test('create prints the one-time password once; list shows users without secrets; both audited and in JSON', async (t) => {
  const h = await startApi(t);
  const admin = h.createClient('monitoring-admin', 'ops');
  const x = cli(t, h, admin);

  const table = await x.run('user', 'create', '--name', 'alice', '--role', 'monitoring-viewer', '--nodes', 'web-*');
  t.equal(table.code, 0, table.stderr);
  t.match(table.stdout, /name:\s+alice/);
  t.match(table.stdout, /nodes:\s+web-\*/);
  t.match(table.stdout, /shown only this once/);
  const password = /password:\s+(\S+)/.exec(table.stdout)![1];
  t.match(password, /^[A-Za-z0-9_-]{20}$/);
  const first = await login(h, 'alice', password);
  t.equal(first.status, 200, 'the printed password signs in');
  t.equal(first.json.user.must_change_password, true, 'and must be changed first');

  const json = await x.run('user', 'create', '--name', 'bob', '--role', 'monitoring-editor', '--output', 'json');
  t.equal(json.code, 0, json.stderr);
  const created = JSON.parse(json.stdout);
  t.same(Object.keys(created), ['name', 'role', 'nodes', 'password']);
  t.match(created, { name: 'bob', role: 'monitoring-editor', nodes: null, password: /^[A-Za-z0-9_-]{20}$/ });

  const again = await x.run('user', 'create', '--name', 'bob', '--role', 'monitoring-viewer');
  t.equal(again.code, 1, 'an existing name is refused');
  t.match(again.stderr, /409/);
  const bad = await x.run('user', 'create', '--name', 'Bob Smith', '--role', 'monitoring-viewer');
  t.equal(bad.code, 2, 'a bad name is a usage error');

  const list = await x.run('user', 'list');
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, /^NAME\s+ROLE\s+NODES\s+STATUS\s+PASSWORD\s+CREATED\s+LAST-LOGIN/);
  t.match(list.stdout, /alice\s+monitoring-viewer\s+web-\*\s+active\s+must-change/);
  t.match(list.stdout, /bob\s+monitoring-editor\s+all\s+active\s+must-change/);
  const listJson = JSON.parse((await x.run('user', 'list', '--output', 'json')).stdout);
  t.equal(listJson.length, 2);
  t.same(Object.keys(listJson[0]), ['name', 'role', 'nodes', 'disabled', 'must_change_password', 'created_at', 'last_login_at']);
  t.ok(listJson[0].last_login_at, 'alice signed in once');
  t.equal(listJson[1].last_login_at, null);
  t.notOk(JSON.stringify(listJson).includes(password) || JSON.stringify(listJson).includes('scrypt'), 'no password or hash listed');

  const api = await request(h, 'GET', '/api/v1/users', { bearer: h.accessToken(admin) });
  t.same(Object.keys(api.json), ['users']);
  const creates = h.deps.audit.list().filter((e) => e.action === 'user.create');
  t.same(creates.map((e) => [e.actor, e.target]).reverse(), [[admin.id, 'alice'], [admin.id, 'bob']]);
  t.notOk(JSON.stringify(h.deps.audit.list()).includes(password) || h.logText().includes(password), 'the password is in neither audit nor logs');
});

t.test('disable and reset-password close the user\'s sessions at once', async (t) => {
  const h = await startApi(t);
  const admin = h.createClient('monitoring-admin', 'ops');
  const x = cli(t, h, admin);
  const alicePassword = await readyUser(h, 'alice', 'monitoring-viewer');
  const bobPassword = await readyUser(h, 'bob', 'monitoring-viewer');
  const alice = await signIn(h, 'alice', alicePassword);
  const alice2 = await signIn(h, 'alice', alicePassword);
  const bob = await signIn(h, 'bob', bobPassword);

  const disabled = await x.run('user', 'disable', 'alice');
  t.equal(disabled.code, 0, disabled.stderr);
  t.match(disabled.stdout, /disabled user alice; its dashboard sessions are closed/);
  t.equal((await withSession(h, 'GET', '/api/v1/agents', alice)).status, 401, 'the next request is 401');
  t.equal((await withSession(h, 'GET', '/auth/session', alice2)).status, 401, 'every session of the user');
  t.equal((await withSession(h, 'GET', '/api/v1/agents', bob)).status, 200, "another user's session stays");
  t.equal((await login(h, 'alice', alicePassword)).status, 401, 'a disabled user cannot sign in');
  t.same(JSON.parse((await x.run('user', 'disable', 'alice', '--output', 'json')).stdout), { name: 'alice', disabled: true }, 'again: no change, no error');

  const reset = await x.run('user', 'reset-password', 'bob');
  t.equal(reset.code, 0, reset.stderr);
  t.match(reset.stdout, /shown only this once/);
  const newPassword = /password:\s+(\S+)/.exec(reset.stdout)![1];
  t.equal((await withSession(h, 'GET', '/api/v1/agents', bob)).status, 401, 'reset ends the session');
  t.equal((await login(h, 'bob', bobPassword)).status, 401, 'the old password is gone');
  const after = await login(h, 'bob', newPassword);
  t.equal(after.json.user.must_change_password, true, 'the new one must be changed');
  const resetJson = JSON.parse((await x.run('user', 'reset-password', 'bob', '--output', 'json')).stdout);
  t.match(resetJson, { name: 'bob', password: /^[A-Za-z0-9_-]{20}$/ });

  t.equal((await x.run('user', 'disable', 'nobody')).code, 4, 'an unknown name is exit 4');
  t.equal((await x.run('user', 'reset-password', 'nobody')).code, 4);
  t.equal((await x.run('user', 'disable')).code, 2, 'no name is a usage error');

  const actions = h.deps.audit.list().filter((e) => e.action.startsWith('user.')).map((e) => [e.action, e.target]).reverse();
  t.same(actions, [['user.disable', 'alice'], ['user.reset_password', 'bob'], ['user.reset_password', 'bob']], 'a repeated disable is not audited twice');

  const viewer = cli(t, h, h.createClient('monitoring-viewer', 'looker'));
  t.equal((await viewer.run('user', 'list')).code, 3, 'a viewer may not manage users');
  const viewerApi = await request(h, 'POST', '/api/v1/users', {
    bearer: h.accessToken(h.createClient('monitoring-editor')),
    headers: JSON_TYPE,
    body: JSON.stringify({ name: 'eve', role: 'monitoring-admin' }),
  });
  t.equal(viewerApi.status, 403, 'nor may an editor');
});
