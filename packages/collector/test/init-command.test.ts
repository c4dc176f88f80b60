import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { ApiClientStore } from '../src/auth/api-client-store';
import { DEFAULT_COLLECTOR_CONFIG, type CollectorConfig } from '../src/config';
import { defaultCliConfigPath, runInit, serverUrl } from '../src/pki/init-command';
import { DATABASE_FILE, openDatabase } from '../src/store/database';

const BIN = path.join(__dirname, '..', 'bin', 'ximp-collector.js');

type Tap = Pick<typeof t, 'teardown'>;

function tempDir(t: Tap): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-init-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The two fields init reads; the rest of CollectorConfig does not matter here. */
function config(dataDir: string, apiPort = 4494): CollectorConfig {
  return {
    dataDir,
    listen: { agents: { host: '0.0.0.0', port: 4443 }, api: { host: '0.0.0.0', port: apiPort } },
    tls: DEFAULT_COLLECTOR_CONFIG.tls,
  } as unknown as CollectorConfig;
}

function adminClients(): { calls: string[]; create: (name: string) => { clientId: string; clientSecret: string } } {
  const calls: string[] = [];
  return {
    calls,
    create: (name) => {
      calls.push(name);
      return { clientId: 'cli_first0admin', clientSecret: 'very-secret-value' };
    },
  };
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

/** Every file under dir with its bytes and mode, to prove a refused run changed nothing. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.statSync(p);
      if (st.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = `${(st.mode & 0o777).toString(8)} ${fs.readFileSync(p, 'hex')}`;
    }
  };
  walk(dir);
  return out;
}

t.test('init creates the PKI, an admin client and a 0600 CLI config; a second init changes nothing', async (t) => {
  const root = tempDir(t);
  const dataDir = path.join(root, 'var', 'ximp-collector');
  const cliConfigPath = path.join(root, 'home', '.config', 'ximp', 'cli.yaml');
  const clients = adminClients();
  const result = runInit({
    config: config(dataDir),
    hostnames: ['mon.example.net', '10.0.0.5'],
    cliConfigPath,
    createAdminClient: clients.create,
    machineHostname: 'machine-a',
  });

  t.same(result, {
    caFile: path.join(dataDir, 'pki', 'ca.pem'),
    cliConfigPath,
    server: 'https://mon.example.net:4494',
    clientId: 'cli_first0admin',
  });
  t.same(clients.calls, ['admin']);
  t.equal(mode(dataDir), 0o700, 'data_dir is 0700');
  t.equal(mode(path.join(dataDir, 'pki')), 0o700);
  t.equal(mode(path.join(dataDir, 'pki', 'ca-key.pem')), 0o600);
  t.equal(mode(path.join(dataDir, 'pki', 'collector-key.pem')), 0o600);
  t.equal(mode(path.join(dataDir, 'secrets.key')), 0o600, 'the key that seals channel secrets is 0600');
  t.match(fs.readFileSync(path.join(dataDir, 'secrets.key'), 'utf8'), /^[0-9a-f]{64}\n$/, 'and holds a 256-bit key');

  t.equal(mode(cliConfigPath), 0o600, 'the CLI config holds a secret');
  t.equal(mode(path.dirname(cliConfigPath)), 0o700);
  const cli = parse(fs.readFileSync(cliConfigPath, 'utf8')) as Record<string, unknown>;
  t.same(cli, {
    server: 'https://mon.example.net:4494',
    ca_file: path.join(dataDir, 'pki', 'ca.pem'),
    client_id: 'cli_first0admin',
    client_secret: 'very-secret-value',
  });
  t.ok(path.isAbsolute(cli.ca_file as string));

  const ca = new crypto.X509Certificate(fs.readFileSync(result.caFile));
  const api = new crypto.X509Certificate(fs.readFileSync(path.join(dataDir, 'pki', 'api.pem')));
  t.ok(api.verify(ca.publicKey), 'the API certificate is signed by the CA the CLI config names');
  t.equal(api.checkHost('mon.example.net'), 'mon.example.net');
  t.equal(api.checkIP('10.0.0.5'), '10.0.0.5');
  t.equal(api.checkHost('machine-a'), 'machine-a');
  t.equal(api.checkHost('localhost'), 'localhost');
  t.equal(api.checkIP('127.0.0.1'), '127.0.0.1');

  const before = snapshot(root);
  t.throws(
    () =>
      runInit({
        config: config(dataDir),
        hostnames: ['other.example.net'],
        cliConfigPath,
        createAdminClient: clients.create,
      }),
    { name: 'XimpError', code: 'XIMP_ERR_PKI_EXISTS', message: /ca\.pem/ },
  );
  t.same(snapshot(root), before, 'every file byte-identical, modes too');
  t.same(clients.calls, ['admin'], 'no second admin client');
});

t.test('without --hostname the server is localhost and the port comes from listen.api', async (t) => {
  const root = tempDir(t);
  const cliDir = path.join(root, 'shared-folder');
  fs.mkdirSync(cliDir, { mode: 0o755 });
  fs.chmodSync(cliDir, 0o755);
  const result = runInit({
    config: config(path.join(root, 'data'), 14494),
    hostnames: [],
    cliConfigPath: path.join(cliDir, 'cli.yaml'),
    createAdminClient: adminClients().create,
    machineHostname: 'Box-B',
  });
  t.equal(result.server, 'https://localhost:14494');
  t.equal(mode(path.join(cliDir, 'cli.yaml')), 0o600);
  t.equal(mode(cliDir), 0o755, 'an existing folder is left as it is');
  const collector = new crypto.X509Certificate(fs.readFileSync(path.join(root, 'data', 'pki', 'collector.pem')));
  t.equal(collector.checkHost('box-b'), 'box-b', "the machine's host name is a SAN");
  t.match(collector.subject, /CN=collector \(box-b\)/);
});

t.test('a bad --hostname is a usage error and creates nothing', async (t) => {
  const root = tempDir(t);
  const clients = adminClients();
  t.throws(
    () =>
      runInit({
        config: config(path.join(root, 'data')),
        hostnames: ['bad host'],
        cliConfigPath: path.join(root, 'cli.yaml'),
        createAdminClient: clients.create,
      }),
    { code: 'XIMP_ERR_CLI_USAGE' },
  );
  t.same(fs.readdirSync(root), []);
  t.same(clients.calls, []);
});

t.test('a failing admin-client step leaves no PKI behind, so init can run again', async (t) => {
  const root = tempDir(t);
  const dataDir = path.join(root, 'data');
  t.throws(
    () =>
      runInit({
        config: config(dataDir),
        hostnames: [],
        cliConfigPath: path.join(root, 'cli.yaml'),
        createAdminClient: () => {
          throw new Error('database locked');
        },
      }),
    { message: 'database locked' },
  );
  t.equal(fs.existsSync(path.join(dataDir, 'pki')), false);
  t.equal(fs.existsSync(path.join(root, 'cli.yaml')), false);
});

t.test('serverUrl brackets IPv6 and lowercases names', async (t) => {
  t.equal(serverUrl('::1', 4494), 'https://[::1]:4494');
  t.equal(serverUrl('[fd00::1]', 4494), 'https://[fd00::1]:4494');
  t.equal(serverUrl('Mon.Example.NET', 1), 'https://mon.example.net:1');
  t.equal(serverUrl('10.0.0.5', 4494), 'https://10.0.0.5:4494');
});

t.test('defaultCliConfigPath: $XIMP_CLI_CONFIG, else ~/.config/ximp/cli.yaml', async (t) => {
  t.equal(defaultCliConfigPath({ XIMP_CLI_CONFIG: '/etc/x/cli.yaml', HOME: '/home/a' }), '/etc/x/cli.yaml');
  t.equal(defaultCliConfigPath({ XIMP_CLI_CONFIG: 'rel/cli.yaml' }), path.resolve('rel/cli.yaml'));
  t.equal(defaultCliConfigPath({ HOME: '/home/a' }), '/home/a/.config/ximp/cli.yaml');
  t.equal(defaultCliConfigPath({ XIMP_CLI_CONFIG: '' }), path.join(os.homedir(), '.config', 'ximp', 'cli.yaml'));
});

/** The clients in the database under dataDir (init's real admin-client step). */
function clientsIn(dataDir: string): string[] {
  if (!fs.existsSync(path.join(dataDir, DATABASE_FILE))) return [];
  const db = openDatabase(dataDir);
  try {
    return new ApiClientStore(db).list().map((c) => c.id);
  } finally {
    db.close();
  }
}

t.test('a failure at any step undoes the earlier ones, and init then runs again', async (t) => {
  for (const step of ['pki', 'secrets-key', 'admin-client', 'cli-config'] as const) {
    await t.test(`failure at ${step}`, async (t) => {
      const root = tempDir(t);
      const dataDir = path.join(root, 'var', 'ximp-collector');
      const cliConfigPath = path.join(root, 'home', '.config', 'ximp', 'cli.yaml');
      const run = (faultAt?: (s: string) => void) =>
        runInit({ config: config(dataDir), hostnames: [], cliConfigPath, machineHostname: 'machine-a', faultAt });
      t.throws(
        () =>
          run((s) => {
            if (s === step) throw new Error(`injected fault at ${s}`);
          }),
        { message: `injected fault at ${step}` },
      );
      t.same(clientsIn(dataDir), [], 'no admin client whose secret nobody holds');
      t.equal(fs.existsSync(path.join(dataDir, 'pki')), false, 'no PKI files, not even the folder');
      t.equal(fs.existsSync(path.join(root, 'home')), false, 'no CLI config, not even its folders');
      // What may remain is what a collector start creates anyway: data_dir with an empty database.
      const left = fs.existsSync(dataDir) ? fs.readdirSync(dataDir) : [];
      t.ok(left.every((f) => f.startsWith(DATABASE_FILE)), `left in data_dir: ${left.join(', ') || 'nothing'}`);
      t.equal(fs.existsSync(path.join(dataDir, 'secrets.key')), false, 'no secrets key');
      const result = run();
      t.same(clientsIn(dataDir), [result.clientId], 'the second init succeeds with one admin client');
      t.ok(fs.existsSync(cliConfigPath));
    });
  }
});

t.test('a secrets key already in data_dir is kept when usable; an unusable one refuses before anything is created', async (t) => {
  const root = tempDir(t);
  const dataDir = path.join(root, 'data');
  fs.mkdirSync(dataDir, { mode: 0o700 });
  const keyFile = path.join(dataDir, 'secrets.key');
  const key = `${crypto.randomBytes(32).toString('hex')}\n`;
  // Channel secrets may already be sealed under it (a data_dir whose PKI was removed): keep it.
  fs.writeFileSync(keyFile, key, { mode: 0o600 });
  runInit({ config: config(dataDir), hostnames: [], cliConfigPath: path.join(root, 'cli.yaml'), createAdminClient: adminClients().create, machineHostname: 'm' });
  t.equal(fs.readFileSync(keyFile, 'utf8'), key, 'the existing key is unchanged');

  const other = path.join(root, 'other');
  fs.mkdirSync(other, { mode: 0o700 });
  fs.writeFileSync(path.join(other, 'secrets.key'), key, { mode: 0o644 });
  fs.chmodSync(path.join(other, 'secrets.key'), 0o644);
  const clients = adminClients();
  t.throws(
    () => runInit({ config: config(other), hostnames: [], cliConfigPath: path.join(root, 'cli-2.yaml'), createAdminClient: clients.create, machineHostname: 'm' }),
    { code: 'XIMP_ERR_SECRET_KEY', message: /secrets\.key.*chmod 600/ },
  );
  t.same(fs.readdirSync(other), ['secrets.key'], 'no PKI, no database');
  t.equal(fs.existsSync(path.join(root, 'cli-2.yaml')), false);
  t.same(clients.calls, []);
});

t.test('a real write failure of the CLI config undoes the PKI and the admin client', async (t) => {
  const root = tempDir(t);
  const dataDir = path.join(root, 'data');
  // A regular file where the CLI config's folder should be: ENOTDIR after the PKI and client exist.
  fs.writeFileSync(path.join(root, 'not-a-dir'), '');
  const err = t.throws(() =>
    runInit({ config: config(dataDir), hostnames: [], cliConfigPath: path.join(root, 'not-a-dir', 'cli.yaml'), machineHostname: 'm' }),
  ) as NodeJS.ErrnoException;
  t.equal(err.code, 'ENOTDIR');
  t.same(clientsIn(dataDir), []);
  t.equal(fs.existsSync(path.join(dataDir, 'pki')), false);
});

t.test('an existing CLI config is never overwritten, and nothing is created', async (t) => {
  const root = tempDir(t);
  const cliConfigPath = path.join(root, 'cli.yaml');
  fs.writeFileSync(cliConfigPath, 'server: https://other:4494\n', { mode: 0o600 });
  const clients = adminClients();
  t.throws(
    () =>
      runInit({ config: config(path.join(root, 'data')), hostnames: [], cliConfigPath, createAdminClient: clients.create }),
    { code: 'XIMP_ERR_CLI_CONFIG_EXISTS', message: /cli\.yaml/ },
  );
  t.equal(fs.readFileSync(cliConfigPath, 'utf8'), 'server: https://other:4494\n');
  t.same(fs.readdirSync(root), ['cli.yaml'], 'no data_dir, no PKI');
  t.same(clients.calls, []);
  // A dangling symlink counts as existing too: writing through it would create a file elsewhere.
  const link = path.join(root, 'link.yaml');
  fs.symlinkSync(path.join(root, 'nowhere', 'cli.yaml'), link);
  t.throws(() => runInit({ config: config(path.join(root, 'data')), hostnames: [], cliConfigPath: link, createAdminClient: clients.create }), {
    code: 'XIMP_ERR_CLI_CONFIG_EXISTS',
  });
});

t.test('ximp-collector init: exit 2 on a bad --hostname, exit 1 on an existing CLI config', async (t) => {
  const root = tempDir(t);
  const configFile = path.join(root, 'collector.yaml');
  fs.writeFileSync(configFile, 'data_dir: data\nlisten:\n  agents: "127.0.0.1:0"\n  api: "127.0.0.1:0"\n');
  const cliConfigPath = path.join(root, 'cli.yaml');
  const run = (...args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, 'init', '--config', configFile, ...args], { env: { ...process.env, XIMP_CLI_CONFIG: cliConfigPath } }, (err, _out, stderr) =>
        resolve({ code: err ? (err.code as number) : 0, stderr }),
      );
    });

  const bad = await run('--hostname', 'mon.example.net', '--hostname', 'bad host');
  t.equal(bad.code, 2, 'a usage error');
  t.match(bad.stderr, /--hostname "bad host"/, 'names the bad value');
  t.match(bad.stderr, /Usage:/);
  t.same(fs.readdirSync(root), ['collector.yaml'], 'nothing created');

  fs.writeFileSync(cliConfigPath, 'mine\n');
  const exists = await run();
  t.equal(exists.code, 1);
  t.match(exists.stderr, /cli\.yaml already exists.*nothing was changed/);
  t.equal(fs.readFileSync(cliConfigPath, 'utf8'), 'mine\n');
  t.same(fs.readdirSync(root).sort(), ['cli.yaml', 'collector.yaml'], 'no data_dir');

  fs.rmSync(cliConfigPath);
  const ok = await run('--hostname', 'mon.example.net');
  t.equal(ok.code, 0, ok.stderr);
  t.ok(fs.existsSync(path.join(root, 'data', 'pki', 'ca.pem')));
});
