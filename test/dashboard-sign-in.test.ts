/**
 * Dashboard sign-in on the real collector: `ximp user create` prints a one-time password, the user
 * signs in over HTTPS, changes it, calls the API with the cookie; collector.yaml's
 * dashboard.session_idle_timeout applies; sessions outlive a collector restart (they are in SQLite).
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import t from 'tap';
import { prepareCollector, runCli, startPreparedCollector } from './helpers/system';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any;
}

function call(c: { caFile: string; apiPort: number }, method: string, path: string, headers: Record<string, string> = {}, json?: unknown): Promise<Answer> {
  const body = json === undefined ? undefined : JSON.stringify(json);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: c.apiPort, method, path, headers, ca: fs.readFileSync(c.caFile), servername: 'localhost', minVersion: 'TLSv1.3', agent: false },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text === '' ? null : JSON.parse(text) }));
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

t.test('a local user signs in to the real collector, changes the one-time password and uses the API', async (t) => {
  const paths = prepareCollector(t, 'dashboard:\n  session_idle_timeout: 5m\n  session_max_age: 1h\n');
  let c = await startPreparedCollector(t, paths);
  const created = await runCli(c.cliConfig, ['user', 'create', '--name', 'alice', '--role', 'monitoring-viewer', '--output', 'json']);
  t.equal(created.code, 0, created.stderr);
  const { password } = JSON.parse(created.stdout) as { password: string };

  const login = await call(c, 'POST', '/auth/login', {}, { name: 'alice', password });
  t.equal(login.status, 200);
  const now = Date.now();
  t.ok(Math.abs(Date.parse(login.json.idle_expires_at) - (now + 5 * 60_000)) < 10_000, 'dashboard.session_idle_timeout applies');
  t.ok(Math.abs(Date.parse(login.json.expires_at) - (now + 3_600_000)) < 10_000, 'dashboard.session_max_age applies');
  let cookie = /^__Host-ximp-session=([^;]+)/.exec((login.headers['set-cookie'] as string[])[0])![1];
  let csrf = login.json.csrf_token as string;
  const withCookie = (): Record<string, string> => ({ Cookie: `__Host-ximp-session=${cookie}`, 'X-CSRF-Token': csrf });

  t.same((await call(c, 'GET', '/api/v1/agents', withCookie())).json, { error: 'password_change_required' });
  const changed = await call(c, 'POST', '/auth/password', withCookie(), { current_password: password, new_password: 'alice-long-password' });
  t.equal(changed.status, 200);
  cookie = /^__Host-ximp-session=([^;]+)/.exec((changed.headers['set-cookie'] as string[])[0])![1];
  csrf = changed.json.csrf_token;
  const agents = await call(c, 'GET', '/api/v1/agents', withCookie());
  t.same([agents.status, agents.json], [200, []]);
  t.equal((await call(c, 'GET', '/api/v1/agent-tokens', withCookie())).status, 403, 'a viewer session may not call an admin route');

  const firstLogs = c.logs;
  await c.stop();
  c = await startPreparedCollector(t, paths);
  t.equal((await call(c, 'GET', '/api/v1/agents', withCookie())).status, 200, 'the session outlives a restart');
  t.equal((await call(c, 'POST', '/auth/logout', withCookie())).status, 204);
  t.equal((await call(c, 'GET', '/api/v1/agents', withCookie())).status, 401);

  const audit = await runCli(c.cliConfig, ['audit', 'list', '--output', 'json']);
  const actions = (JSON.parse(audit.stdout) as { action: string; target: string }[]).map((e) => `${e.action} ${e.target}`);
  t.ok(actions.includes('user.create alice') && actions.includes('session.login alice'));
  const everything = [...firstLogs, ...c.logs].join('\n') + audit.stdout;
  t.notOk(everything.includes(password) || everything.includes('alice-long-password') || everything.includes(cookie), 'no password or cookie in logs or audit');
});
