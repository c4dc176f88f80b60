import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import type { CollectorConfig } from '../src/config';
import { defaultCliConfigPath, runInit, serverUrl } from '../src/pki/init-command';

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
