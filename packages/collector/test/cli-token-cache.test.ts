/**
 * The CLI's access-token cache against a real API server: one grant serves many runs until 60 s
 * before expiry; the file is 0600 in a 0700 folder under $XDG_CACHE_HOME/ximp (else
 * ~/.cache/ximp), holds neither the client ID nor the secret, is dropped when the collector
 * refuses the token, and a refusal never prints the client ID or secret. Also `client create
 * --nodes` and the NODES column.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { main } from '../dist/cli/main';
import { request, startApi, type Credentials, type Harness } from './helpers/api-harness';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cliAt(dir: string, h: Harness, client: Credentials) {
  fs.writeFileSync(path.join(dir, 'ca.pem'), h.caPem);
  const file = path.join(dir, 'cli.yaml');
  fs.writeFileSync(file, `server: ${h.url}\nca_file: ca.pem\nclient_id: ${client.id}\nclient_secret: ${client.secret}\n`, { mode: 0o600 });
  return async (argv: string[], options: { env?: Record<string, string>; now?: number } = {}): Promise<Run> => {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, {
      stdout: (s) => void (stdout += s),
      stderr: (s) => void (stderr += s),
      env: { XIMP_CLI_CONFIG: file, ...options.env },
      homeDir: dir,
      ...(options.now === undefined ? {} : { now: () => options.now! }),
    });
    return { code, stdout, stderr };
  };
}

/** Grants the token endpoint made so far (its log line per issued token). */
function grants(h: Harness): number {
  return h.logText().split('\n').filter((line) => line.includes('"access token issued"')).length;
}

function cacheFiles(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith('token-')).map((f) => path.join(dir, f)) : [];
}

t.test('one grant serves many runs; the file is private and holds no credentials', async (t) => {
  const h = await startApi(t);
  const admin = h.createClient('monitoring-admin');
  const home = t.testdir();
  const run = cliAt(home, h, admin);
  const cacheDir = path.join(home, '.cache', 'ximp');

  t.equal((await run(['agent', 'list'])).code, 0);
  t.equal((await run(['agent', 'list'])).code, 0);
  t.equal((await run(['client', 'list'])).code, 0);
  t.equal(grants(h), 1, 'three runs, one grant');
  const files = cacheFiles(cacheDir);
  t.equal(files.length, 1);
  t.equal(fs.statSync(cacheDir).mode & 0o777, 0o700, 'folder 0700');
  t.equal(fs.statSync(files[0]).mode & 0o777, 0o600, 'file 0600');
  const text = fs.readFileSync(files[0], 'utf8');
  t.notMatch(text + files[0], admin.secret, 'never the secret');
  t.notMatch(text + files[0], admin.id, 'the client ID only hashed into the name');
  t.match(text, /xat_[a-z0-9]{52}/);

  // Another client of the same server gets its own entry.
  const other = cliAt(fs.mkdtempSync(path.join(home, 'other-')), h, h.createClient('monitoring-viewer'));
  t.equal((await other(['agent', 'list'], { env: { XDG_CACHE_HOME: home + '/.cache' } })).code, 0);
  t.equal(cacheFiles(cacheDir).length, 2);
});

t.test('$XDG_CACHE_HOME is honoured; a relative one is ignored', async (t) => {
  const h = await startApi(t);
  const home = t.testdir();
  const run = cliAt(home, h, h.createClient('monitoring-viewer'));
  const xdg = path.join(home, 'xdg');
  t.equal((await run(['agent', 'list'], { env: { XDG_CACHE_HOME: xdg } })).code, 0);
  t.equal(cacheFiles(path.join(xdg, 'ximp')).length, 1);
  t.equal(cacheFiles(path.join(home, '.cache', 'ximp')).length, 0);
  t.equal((await run(['agent', 'list'], { env: { XDG_CACHE_HOME: 'relative' } })).code, 0);
  t.equal(cacheFiles(path.join(home, '.cache', 'ximp')).length, 1, 'relative: the default folder');
});

t.test('reused until 60 s before expiry, then a new grant', async (t) => {
  const h = await startApi(t, { accessTokenTtlMs: 120_000 });
  const home = t.testdir();
  const run = cliAt(home, h, h.createClient('monitoring-viewer'));
  const T = Date.now();
  t.equal((await run(['agent', 'list'], { now: T })).code, 0);
  t.equal((await run(['agent', 'list'], { now: T + 59_000 })).code, 0);
  t.equal(grants(h), 1, 'still more than a minute left: reused');
  t.equal((await run(['agent', 'list'], { now: T + 61_000 })).code, 0);
  t.equal(grants(h), 2, 'less than a minute left: a new grant');
  t.equal((await run(['agent', 'list'], { now: T + 62_000 })).code, 0);
  t.equal(grants(h), 2, 'and the new one is kept');
});

t.test('a refused token is dropped; a folder others can read is not trusted', async (t) => {
  const h = await startApi(t);
  const client = h.createClient('monitoring-viewer');
  const home = t.testdir();
  const run = cliAt(home, h, client);
  const cacheDir = path.join(home, '.cache', 'ximp');
  t.equal((await run(['agent', 'list'])).code, 0);
  const [file] = cacheFiles(cacheDir);
  const first = /xat_[a-z0-9]{52}/.exec(fs.readFileSync(file, 'utf8'))![0];

  // Revoked behind the CLI's back (RFC 7009 endpoint): the next run gets a 401, drops it, grants anew.
  const revoked = await request(h, 'POST', '/api/v1/revoke', {
    bearer: first,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `token=${first}`,
  });
  t.equal(revoked.status, 200);
  const again = await run(['agent', 'list']);
  t.equal(again.code, 0, 'the command still succeeds');
  t.equal(grants(h), 2);
  t.notMatch(fs.readFileSync(file, 'utf8'), first, 'the refused token is gone');

  fs.chmodSync(cacheDir, 0o755);
  t.equal((await run(['agent', 'list'])).code, 0);
  t.equal(grants(h), 3, 'a readable folder: its token is not used');
  t.equal(fs.statSync(cacheDir).mode & 0o777, 0o700, 'and the folder is made private again');

  // The client itself revoked: exit 3, the cached token dropped, no ID or secret printed.
  h.deps.clients.revoke(client.id, Date.now());
  const refused = await run(['agent', 'list']);
  t.equal(refused.code, 3);
  t.match(refused.stderr, /invalid_client/);
  t.notMatch(refused.stderr + refused.stdout, client.id);
  t.notMatch(refused.stderr + refused.stdout, client.secret);
  t.same(cacheFiles(cacheDir), [], 'nothing cached for a refused client');
});

t.test('client create --nodes and the NODES column', async (t) => {
  const h = await startApi(t);
  const run = cliAt(t.testdir(), h, h.createClient('monitoring-admin', 'admin'));
  const created = await run(['client', 'create', '--name', 'web team', '--role', 'monitoring-viewer', '--nodes', 'web-*', '--output', 'json']);
  t.equal(created.code, 0, created.stderr);
  t.same(JSON.parse(created.stdout).nodes, 'web-*');
  const table = await run(['client', 'create', '--name', 'db team', '--role', 'monitoring-viewer', '--nodes', 'db-*']);
  t.match(table.stdout, /\nnodes:\s+db-\*\n/);
  const bad = await run(['client', 'create', '--name', 'x', '--role', 'monitoring-viewer', '--nodes', 'WEB']);
  t.equal(bad.code, 2, 'a bad glob is a usage error');
  t.match(bad.stderr, /nodes: expected node names/);
  const list = await run(['client', 'list']);
  const lines = list.stdout.trimEnd().split('\n');
  t.match(lines[0], /^ID\s+NAME\s+ROLE\s+NODES\s+CREATED/);
  t.match(lines[1], /^xc_\S+\s+admin\s+monitoring-admin\s+all\s/);
  t.match(lines[2], /^xc_\S+\s+web team\s+monitoring-viewer\s+web-\*\s/);
  const json = JSON.parse((await run(['client', 'list', '--output', 'json'])).stdout);
  t.same(json.map((c: { nodes: string | null }) => c.nodes), [null, 'web-*', 'db-*']);
});
