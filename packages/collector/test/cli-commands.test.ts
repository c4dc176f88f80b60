import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import t from 'tap';
import { main } from '../dist/cli/main';
import { startApi } from './helpers/api-harness';
import { cli, type Run } from './helpers/cli-runner';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/;

t.test('agent tokens through the CLI', async (t) => {
  const h = await startApi(t);
  const admin = h.createClient('monitoring-admin');
  const { run } = cli(t, h, admin);

  const created = await run('agent', 'token', 'create', '--node', 'web-1');
  t.equal(created.code, 0, created.stderr);
  const fields = Object.fromEntries(created.stdout.split('\n').filter((l) => /^\w+:/.test(l)).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
  t.same(Object.keys(fields), ['id', 'node', 'expires', 'token']);
  t.equal(fields.node, 'web-1');
  t.match(fields.expires, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in 364d\)$/);
  t.match(fields.token, new RegExp(`^ximp_${fields.id}_[a-z0-9]{52}$`));
  t.match(created.stdout, /shown only this once/);

  const json = await run('agent', 'token', 'create', '--node', 'web-2', '--expires', '30d', '--output', 'json');
  t.equal(json.code, 0);
  const second = JSON.parse(json.stdout);
  t.same(Object.keys(second), ['id', 'node', 'expires', 'token']);
  t.match(second.expires, ISO);

  const table = await run('agent', 'token', 'list');
  t.equal(table.code, 0);
  const lines = table.stdout.trimEnd().split('\n');
  t.match(lines[0], /^ID\s+NODE\s+STATUS\s+CREATED\s+EXPIRES\s+DAYS-LEFT\s+LAST-USED$/);
  t.equal(lines.length, 3);
  t.match(lines[1], new RegExp(`^${fields.id}\\s+web-1\\s+valid\\s+\\S+Z \\((now|\\d+s ago)\\)\\s+\\S+Z \\(in 364d\\)\\s+364\\s+-$`));
  // Columns line up: every row's STATUS starts where the header's does.
  const statusAt = lines[0].indexOf('STATUS');
  for (const line of lines.slice(1)) t.equal(line.slice(statusAt, statusAt + 5), 'valid');

  const listJson = JSON.parse((await run('agent', 'token', 'list', '--node', 'web-2', '--output', 'json')).stdout);
  t.equal(listJson.length, 1);
  t.same(Object.keys(listJson[0]), ['id', 'node', 'status', 'created', 'expires', 'days_left', 'last_used']);
  t.equal(listJson[0].days_left, 29);
  t.equal(listJson[0].last_used, null);
  t.match(listJson[0].created, ISO);

  const emptyJson = await run('agent', 'token', 'list', '--node', 'nobody', '--output', 'json');
  t.equal(emptyJson.code, 0);
  t.same(JSON.parse(emptyJson.stdout), []);
  const emptyTable = await run('agent', 'token', 'list', '--node', 'nobody');
  t.equal(emptyTable.code, 0);
  t.match(emptyTable.stdout, /^ID\s+NODE\s+STATUS\s+CREATED\s+EXPIRES\s+DAYS-LEFT\s+LAST-USED\n$/);

  h.liveSessions.set(fields.id, [{ node: 'web-1', address: '192.0.2.9:41000' }]);
  const revoked = await run('agent', 'token', 'revoke', fields.id);
  t.equal(revoked.code, 0);
  t.match(revoked.stdout, new RegExp(`revoked agent token ${fields.id}`));
  t.match(revoked.stdout, /closed 1 live session:\nNODE\s+ADDRESS\nweb-1\s+192\.0\.2\.9:41000\n/);
  t.same(h.closeCalls.map((c) => [c.tokenId, c.code]), [[fields.id, 4001]]);

  const again = await run('agent', 'token', 'revoke', fields.id);
  t.equal(again.code, 0, 'revoking twice exits 0');
  t.match(again.stdout, /already revoked/);
  const againJson = await run('agent', 'token', 'revoke', fields.id, '--output', 'json');
  t.equal(againJson.code, 0);
  t.same(JSON.parse(againJson.stdout), { id: fields.id, closed_sessions: [] });
  t.match(againJson.stderr, /already revoked/);

  const revokedJson = await run('agent', 'token', 'revoke', second.id, '--output', 'json');
  t.same(JSON.parse(revokedJson.stdout), { id: second.id, closed_sessions: [] });

  const unknown = await run('agent', 'token', 'revoke', 'zzzzzzzzzzzz');
  t.equal(unknown.code, 4);
  t.match(unknown.stderr, /not found/);
  t.equal((await run('agent', 'token', 'revoke', 'short')).code, 4);

  const statuses = JSON.parse((await run('agent', 'token', 'list', '--output', 'json')).stdout).map((x: { status: string }) => x.status);
  t.same(statuses, ['revoked', 'revoked']);

  const badNode = await run('agent', 'token', 'create', '--node', 'Bad_Node');
  t.equal(badNode.code, 2);
  t.match(badNode.stderr, /node:/);

  t.notMatch(h.logText(), fields.token);
  t.notMatch(h.logText(), admin.secret);
});

t.test('agents and clients through the CLI', async (t) => {
  const h = await startApi(t);
  const admin = h.createClient('monitoring-admin', 'first admin');
  const { run } = cli(t, h, admin);
  h.agents.push(
    { node: 'web-1', state: 'ACTIVE', lastSeenMs: Date.now() - 12_000, address: '192.0.2.1:4000', version: '0.1.0', tokenId: 'aaaaaaaaaaaa', runtime: 'node v24.22.3' },
    { node: 'web-2', state: 'PENDING', lastSeenMs: null, address: null, version: null, tokenId: 'bbbbbbbbbbbb', runtime: null },
  );
  const agents = await run('agent', 'list');
  t.equal(agents.code, 0);
  const lines = agents.stdout.trimEnd().split('\n');
  t.match(lines[0], /^NODE\s+STATE\s+LAST-SEEN\s+ADDRESS\s+VERSION\s+TOKEN$/);
  t.match(lines[1], /^web-1\s+ACTIVE\s+\S+Z \(1[23]s ago\)\s+192\.0\.2\.1:4000\s+0\.1\.0\s+aaaaaaaaaaaa$/);
  t.match(lines[2], /^web-2\s+PENDING\s+-\s+-\s+-\s+bbbbbbbbbbbb$/);
  const agentsJson = JSON.parse((await run('agent', 'list', '--node', 'web-2', '--output=json')).stdout);
  t.same(agentsJson, [{ node: 'web-2', state: 'PENDING', last_seen: null, address: null, version: null, token: 'bbbbbbbbbbbb' }]);
  t.same(JSON.parse((await run('agent', 'list', '--node', 'web-9', '--output', 'json')).stdout), []);

  // --wide: SPEC's columns as they are, RUNTIME added at the end.
  const wideLines = (await run('agent', 'list', '--wide')).stdout.trimEnd().split('\n');
  t.match(wideLines[0], /^NODE\s+STATE\s+LAST-SEEN\s+ADDRESS\s+VERSION\s+TOKEN\s+RUNTIME$/);
  t.match(wideLines[1], /^web-1\s+ACTIVE\s+\S+Z \(1[23]s ago\)\s+192\.0\.2\.1:4000\s+0\.1\.0\s+aaaaaaaaaaaa\s+node v24\.22\.3$/);
  t.match(wideLines[2], /^web-2\s+PENDING\s+-\s+-\s+-\s+bbbbbbbbbbbb\s+-$/);
  t.same(JSON.parse((await run('agent', 'list', '--node', 'web-1', '--wide', '--output', 'json')).stdout)[0].runtime, 'node v24.22.3');
  t.same(JSON.parse((await run('agent', 'list', '--node', 'web-2', '--wide', '--output', 'json')).stdout), [
    { node: 'web-2', state: 'PENDING', last_seen: null, address: null, version: null, token: 'bbbbbbbbbbbb', runtime: null },
  ]);

  const created = await run('client', 'create', '--name', 'grafana', '--role', 'monitoring-viewer', '--output', 'json');
  t.equal(created.code, 0);
  const client = JSON.parse(created.stdout);
  t.same(Object.keys(client), ['client_id', 'client_secret', 'name', 'role', 'nodes']);
  t.equal(client.nodes, null, 'no --nodes: every node');
  t.equal(client.role, 'monitoring-viewer');

  const tableCreate = await run('client', 'create', '--name', 'ops', '--role', 'monitoring-editor');
  t.match(tableCreate.stdout, /^client_id:\s+xc_[a-z0-9]{12}\nclient_secret:\s+xcs_[a-z0-9]{52}\nname:\s+ops\nrole:\s+monitoring-editor\n/);
  t.equal((await run('client', 'create', '--name', 'x', '--role', 'root')).code, 2);

  const list = await run('client', 'list');
  const listLines = list.stdout.trimEnd().split('\n');
  t.match(listLines[0], /^ID\s+NAME\s+ROLE\s+NODES\s+CREATED\s+LAST-USED\s+STATUS$/);
  t.equal(listLines.length, 4);
  t.notMatch(list.stdout, client.client_secret);
  const listJson = JSON.parse((await run('client', 'list', '--output', 'json')).stdout);
  t.same(Object.keys(listJson[0]), ['id', 'name', 'role', 'nodes', 'created', 'last_used', 'status']);
  t.match(listJson[0].last_used, ISO, 'the admin client was just used');

  // The viewer may list agents but not manage tokens: exit 3.
  const viewer = cli(t, h, { id: client.client_id, secret: client.client_secret });
  t.equal((await viewer.run('agent', 'list')).code, 0);
  const denied = await viewer.run('agent', 'token', 'create', '--node', 'web-1');
  t.equal(denied.code, 3);
  t.match(denied.stderr, /not allowed: .*insufficient_scope/);

  const revoked = await run('client', 'revoke', client.client_id);
  t.equal(revoked.code, 0);
  t.match(revoked.stdout, /revoked API client/);
  const again = await run('client', 'revoke', client.client_id, '--output', 'json');
  t.equal(again.code, 0);
  t.same(JSON.parse(again.stdout), { id: client.client_id, status: 'already_revoked' });
  t.equal((await run('client', 'revoke', 'xc_000000000000')).code, 4);
  const refused = await viewer.run('agent', 'list');
  t.equal(refused.code, 3, 'a revoked client is refused');
  t.notMatch(refused.stdout + refused.stderr, client.client_secret, 'the secret is never printed');
});

t.test('exit statuses for failures', async (t) => {
  const h = await startApi(t);
  const admin = h.createClient('monitoring-admin');
  const { run, dir } = cli(t, h, admin);

  const wrong = cli(t, h, { id: admin.id, secret: 'xcs_' + 'w'.repeat(52) });
  const wrongRun = await wrong.run('agent', 'list');
  t.equal(wrongRun.code, 3);
  t.match(wrongRun.stderr, /invalid_client/);
  t.notMatch(wrongRun.stdout + wrongRun.stderr, 'w'.repeat(52), 'the secret of a failed call is not printed');
  t.notMatch(wrongRun.stdout + wrongRun.stderr, admin.id, 'nor the client ID');

  const usage = await run('agent', 'frobnicate');
  t.equal(usage.code, 2);
  t.match(usage.stderr, /unknown command "agent frobnicate"/);
  t.match(usage.stderr, /Usage: ximp agent COMMAND/);
  t.equal(usage.stdout, '');

  const help = await run('agent', 'token', 'revoke', '--help');
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: ximp agent token revoke TOKEN_ID/);
  const version = await run('--version');
  t.equal(version.code, 0);
  t.match(version.stdout, /^ximp \d+\.\d+\.\d+ \(/);
  t.equal(version.stdout.replace(/^ximp \d+\.\d+\.\d+ /, ''), `(node ${process.version})\n`, 'the version, then the runtime');

  // A missing named config: 78, without the secret of any other source.
  const missing = await main(['agent', 'list'], {
    stdout: () => undefined,
    stderr: (s) => t.match(s, /absent\.yaml: cannot read the CLI config/),
    env: { XIMP_CLI_CONFIG: path.join(dir, 'absent.yaml'), XIMP_CLIENT_SECRET: admin.secret },
    homeDir: dir,
  });
  t.equal(missing, 78);
  let badOut = '';
  const badFile = path.join(dir, 'bad.yaml');
  fs.writeFileSync(badFile, `server: ${h.url}\nclient_id: ${admin.id}\nclient_secret: [${admin.secret}]\n`);
  const bad = await main(['agent', 'list', '--config', badFile], {
    stdout: (s) => void (badOut += s),
    stderr: (s) => void (badOut += s),
    env: {},
    homeDir: dir,
  });
  t.equal(bad, 78);
  t.match(badOut, /bad\.yaml:3:16: client_secret: expected a string/);
  t.notMatch(badOut, admin.secret);

  const noCa = await main(['agent', 'list'], {
    stdout: () => undefined,
    stderr: (s) => t.match(s, /ca_file: cannot read/),
    env: { XIMP_CLI_CONFIG: path.join(dir, 'cli.yaml'), XIMP_CA_FILE: path.join(dir, 'nope.pem') },
    homeDir: dir,
  });
  t.equal(noCa, 78);

  // A server error: exit 1 naming the server.
  h.deps.agents.list = () => {
    throw new Error('registry exploded');
  };
  const failed = await run('agent', 'list');
  t.equal(failed.code, 1);
  t.match(failed.stderr, new RegExp(`${h.url.replace(/\./g, '\\.')} failed: HTTP 500`));
  t.notMatch(failed.stderr, 'exploded', 'internal details stay in the server log');

  // Nobody listening: exit 1 with the URL and the cause; --server overrides the file.
  const closed = 'https://127.0.0.1:1';
  const down = await run('agent', 'list', '--server', closed);
  t.equal(down.code, 1);
  t.match(down.stderr, /cannot reach https:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);

  // The wrong CA: exit 1, the TLS cause named.
  const otherCa = path.join(dir, 'other-ca.pem');
  fs.writeFileSync(otherCa, tls.rootCertificates[0]);
  const untrusted = await main(['agent', 'list'], {
    stdout: () => undefined,
    stderr: (s) => t.match(s, /cannot trust https:\/\/127\.0\.0\.1:\d+: the collector's certificate is not signed by a CA this side trusts .*check ca_file/),
    env: { XIMP_CLI_CONFIG: path.join(dir, 'cli.yaml'), XIMP_CA_FILE: otherCa },
    homeDir: dir,
  });
  t.equal(untrusted, 1);
  t.notMatch(h.logText(), admin.secret);
});

t.test('the committed launcher runs the built CLI', async (t) => {
  const h = await startApi(t);
  const admin = h.createClient('monitoring-admin');
  const { file, dir } = cli(t, h, admin);
  const bin = path.join(__dirname, '..', 'bin', 'ximp.js');
  const spawn = (args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(process.execPath, [bin, ...args], { env: { ...process.env, XIMP_CLI_CONFIG: file, XDG_CACHE_HOME: path.join(dir, 'cache') }, timeout: 20_000 }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1;
        resolve({ code, stdout, stderr });
      });
    });
  const listed = await spawn(['agent', 'token', 'list', '--output', 'json']);
  t.equal(listed.code, 0, listed.stderr);
  t.same(JSON.parse(listed.stdout), []);
  const usage = await spawn(['nope']);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /Usage: ximp/);
});

t.test('dashboard list through the CLI: the built-in first, then by name', async (t) => {
  const h = await startApi(t);
  const viewer = h.createClient('monitoring-viewer');
  h.deps.dashboards!.create({ name: 'Web tier', panels: [{ title: 'Load', metric: 'node_load1', matchers: {}, function: 'raw', aggregation: 'none', unit: 'none' }] }, 'xc_someone', Date.now());
  const { run } = cli(t, h, viewer);
  const table = await run('dashboard', 'list');
  t.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  t.match(lines[0], /^ID\s+NAME\s+PANELS\s+BUILTIN\s+CREATED-BY\s+UPDATED$/);
  t.match(lines[1], /^node-overview\s+Node overview\s+\d+\s+yes\s+system\s+\S+Z/);
  t.match(lines[2], /^web-tier\s+Web tier\s+1\s+no\s+xc_someone\s+\S+Z/);
  const json = JSON.parse((await run('dashboard', 'list', '--output', 'json')).stdout);
  t.same(Object.keys(json[0]), ['id', 'name', 'panels', 'builtin', 'created_by', 'updated_at']);
  t.match(json[1], { id: 'web-tier', panels: 1, builtin: false, updated_at: ISO });
});
