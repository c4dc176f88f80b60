import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { checkServerUrl, loadCliConfig, parseCliConfigText } from '../dist/cli/cli-config';
import { CliError } from '../dist/cli/cli-error';

const SECRET = 'xcs_' + 's'.repeat(52);

function configError(t: Test, fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    t.ok(err instanceof CliError);
    t.equal((err as CliError).exitCode, 78);
    return (err as CliError).message;
  }
  t.fail('expected a config error');
  return '';
}

t.test('parses the four keys strictly, all problems at once', async (t) => {
  const ok = parseCliConfigText(
    `server: https://collector:4494\nca_file: pki/ca.pem\nclient_id: xc_abcdefabcdef\nclient_secret: ${SECRET}\n`,
    'cli.yaml',
    '/etc/ximp',
  );
  t.same(ok, { server: 'https://collector:4494', ca_file: '/etc/ximp/pki/ca.pem', client_id: 'xc_abcdefabcdef', client_secret: SECRET });
  t.same(parseCliConfigText('', 'cli.yaml', '/'), {});

  const message = configError(t, () =>
    parseCliConfigText(`server: http://collector:4494\nclient_id: 12\nclient_secrt: ${SECRET}\nca_file: [a]\n`, 'cli.yaml', '/'),
  );
  const lines = message.split('\n');
  t.equal(lines.length, 4, 'one line per problem');
  t.match(lines[0], /^cli\.yaml:1:9: server: expected an https:\/\/ URL/);
  t.match(lines[1], /^cli\.yaml:2:12: client_id: expected a string \(actual: number\)/);
  t.match(lines[2], /^cli\.yaml:3:1: client_secrt: unknown key/);
  t.match(lines[3], /^cli\.yaml:4:10: ca_file: expected a string/);
  t.notMatch(message, SECRET, 'the secret is never echoed');

  const wrongType = configError(t, () => parseCliConfigText('client_secret: 123456\n', 'cli.yaml', '/'));
  t.notMatch(wrongType, '123456');

  const broken = configError(t, () => parseCliConfigText(`client_secret: "${SECRET}\n`, 'cli.yaml', '/'));
  t.match(broken, /^cli\.yaml:\d+:\d+: invalid YAML/);
  t.notMatch(broken, SECRET, 'a YAML syntax error does not quote the line');

  t.match(configError(t, () => parseCliConfigText('- a\n- b\n', 'cli.yaml', '/')), /expected a map/);
  t.match(configError(t, () => parseCliConfigText('server: a\nserver: b\n', 'cli.yaml', '/')), /invalid YAML \(DUPLICATE_KEY\)/);
});

t.test('server URLs', async (t) => {
  t.equal(checkServerUrl('https://collector:4494'), null);
  t.equal(checkServerUrl('https://[::1]:4494/'), null);
  t.match(checkServerUrl('http://collector:4494'), /https/);
  t.match(checkServerUrl('collector:4494'), /https/);
  t.match(checkServerUrl('https://user:pw@collector:4494') ?? '', /credentials/);
  t.notMatch(checkServerUrl('https://user:pw@collector:4494') ?? '', /pw/);
});

t.test('file, environment and flag precedence', async (t) => {
  const dir = t.testdir({
    'cli.yaml': `server: https://from-file:4494\nca_file: ca.pem\nclient_id: xc_fromfile0000\nclient_secret: ${SECRET}\n`,
    'other.yaml': `server: https://other:4494\nclient_id: xc_other0000000\nclient_secret: ${SECRET}\n`,
    home: { '.config': { ximp: { 'cli.yaml': `server: https://home:4494/\nclient_id: xc_home00000000\nclient_secret: ${SECRET}\n` } } },
  });
  fs.chmodSync(path.join(dir, 'cli.yaml'), 0o600);
  fs.chmodSync(path.join(dir, 'home/.config/ximp/cli.yaml'), 0o600);
  const home = path.join(dir, 'home');

  const fromHome = loadCliConfig({ env: {}, homeDir: home });
  t.equal(fromHome.server, 'https://home:4494', 'the default file, trailing slash dropped');
  t.equal(fromHome.caFile, null);
  t.same(fromHome.warnings, []);

  const fromEnvFile = loadCliConfig({ env: { XIMP_CLI_CONFIG: path.join(dir, 'cli.yaml') }, homeDir: home });
  t.equal(fromEnvFile.server, 'https://from-file:4494');
  t.equal(fromEnvFile.caFile, path.join(dir, 'ca.pem'), 'ca_file relative to the file');

  const fromFlag = loadCliConfig({ configFlag: path.join(dir, 'other.yaml'), env: { XIMP_CLI_CONFIG: path.join(dir, 'cli.yaml') }, homeDir: home });
  t.equal(fromFlag.clientId, 'xc_other0000000', '--config beats XIMP_CLI_CONFIG');
  t.match(fromFlag.warnings[0] ?? '', /readable by other users/);

  const overridden = loadCliConfig({
    env: { XIMP_SERVER: 'https://env:1', XIMP_CLIENT_ID: 'xc_env000000000', XIMP_CLIENT_SECRET: 'xcs_env', XIMP_CA_FILE: '/x/ca.pem' },
    homeDir: home,
  });
  t.same(
    [overridden.server, overridden.clientId, overridden.clientSecret, overridden.caFile],
    ['https://env:1', 'xc_env000000000', 'xcs_env', '/x/ca.pem'],
  );
  t.equal(loadCliConfig({ serverFlag: 'https://flag:2', env: { XIMP_SERVER: 'https://env:1' }, homeDir: home }).server, 'https://flag:2');

  // No file at all: the environment alone is enough.
  const envOnly = loadCliConfig({
    env: { XIMP_SERVER: 'https://env:1', XIMP_CLIENT_ID: 'xc_env000000000', XIMP_CLIENT_SECRET: SECRET },
    homeDir: path.join(dir, 'nowhere'),
  });
  t.equal(envOnly.file, null);
});

t.test('missing or bad config exits 78', async (t) => {
  const dir = t.testdir({ 'partial.yaml': 'server: https://x:1\n' });
  const missingNamed = configError(t, () => loadCliConfig({ configFlag: path.join(dir, 'absent.yaml'), env: {}, homeDir: dir }));
  t.match(missingNamed, /absent\.yaml: cannot read the CLI config \(ENOENT\)/);
  const noDefault = configError(t, () => loadCliConfig({ env: {}, homeDir: dir }));
  t.match(noDefault, /\.config\/ximp\/cli\.yaml \(not found\): server: missing/);
  t.match(noDefault, /client_secret: missing/);
  const partial = configError(t, () => loadCliConfig({ configFlag: path.join(dir, 'partial.yaml'), env: {}, homeDir: dir }));
  t.match(partial, /client_id: missing/);
  t.notMatch(partial, /server: missing/);
  t.match(configError(t, () => loadCliConfig({ configFlag: path.join(dir, 'partial.yaml'), serverFlag: 'ftp://x', env: {}, homeDir: dir })), /--server:/);
  t.match(configError(t, () => loadCliConfig({ configFlag: dir, env: {}, homeDir: dir })), /not a regular file/);
});
