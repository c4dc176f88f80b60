/**
 * The README's first command: `npm start` runs a collector and an agent for this host on loopback,
 * the CLI then shows the host ACTIVE within 5 s, Ctrl-C stops both, and a second run reuses the folder.
 * The first run also makes the dashboard's admin user and prints its one-time password once.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as https from 'node:https';
import { ROOT, agentList, spawnNode, tempDir, waitFor } from './helpers/system';

/** POST /auth/login over TLS 1.3, trusting the local CA. */
function signIn(base: string, ca: Buffer, name: string, password: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL('/auth/login', base), { method: 'POST', ca, minVersion: 'TLSv1.3', headers: { 'Content-Type': 'application/json' }, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ name, password }));
  });
}

t.test('npm start: ACTIVE within 5 s, clean stop, second run reuses the folder', async (t) => {
  const dir = path.join(tempDir(t), 'local');
  const script = path.join(ROOT, 'scripts', 'local-start.js');
  const cliConfig = path.join(dir, 'cli.yaml');

  for (const run of ['first', 'second']) {
    const child = spawnNode(t, [script], { XIMP_LOCAL_DIR: dir });
    // The start-up message is several writes, which may arrive in more than one read: wait for its last line.
    await waitFor(`${run} run is up`, () => child.output().includes('XIMP is running') && child.output().includes('agent token list'), 60_000);
    const upAt = Date.now();
    t.match(child.output(), /XIMP_CLI_CONFIG=.*cli\.yaml npx ximp agent list/, 'it tells what to run next');
    const active = await waitFor('this host ACTIVE', async () => (await agentList(cliConfig)).find((a) => a.state === 'ACTIVE'), 15_000, 200);
    const took = Date.now() - upAt;
    t.ok(took < 5000, `${run} run: ${active.node} ACTIVE ${took} ms after both processes were up`);
    const dashboard = /Dashboard: (https:\/\/localhost:\d+\/)/.exec(child.output());
    t.ok(dashboard, 'it names the dashboard URL');
    if (run === 'first') {
      t.match(child.output(), /created a token for node/);
      // The dashboard's first user: an admin whose one-time password is printed once.
      const oneTime = /sign in as "admin" with the one-time password ([A-Za-z0-9_-]{20})\n/.exec(child.output());
      t.ok(oneTime, 'the first run prints the admin user\'s one-time password');
      const login = await signIn(dashboard![1], fs.readFileSync(path.join(dir, 'data/pki/ca.pem')), 'admin', oneTime![1]);
      t.equal(login.status, 200, 'which signs in to the dashboard');
      t.match(JSON.parse(login.body), { user: { name: 'admin', role: 'monitoring-admin', must_change_password: true } }, 'and must be changed at once');
      for (const f of ['collector.yaml', 'agent.yaml', 'cli.yaml', 'data/pki/ca.pem']) t.ok(fs.existsSync(path.join(dir, f)), `${f} written`);
      t.equal(fs.statSync(path.join(dir, 'agent.yaml')).mode & 0o777, 0o600, 'agent.yaml holds a token: 0600');
      t.equal(fs.statSync(cliConfig).mode & 0o777, 0o600, 'cli.yaml holds a client secret: 0600');
    } else {
      t.notMatch(child.output(), /created a token|created the CA/, 'the second run reuses everything');
      t.notMatch(child.output(), /one-time password [A-Za-z0-9_-]{20}/, 'no second password: the admin user exists');
      t.match(child.output(), /user reset-password admin/, 'it says how to get a new one');
    }
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.once('exit', (c) => resolve(c)));
    t.equal(code, 0, `${run} run stops cleanly on Ctrl-C`);
    t.match(child.output(), /stopped\./);
  }
});
