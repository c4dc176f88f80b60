import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ConfigError, ErrorCodes, type XimpError } from '@ximp/shared';
import {
  AGENT_SOURCE_NAMES,
  DEFAULT_AGENT_CONFIG_PATH,
  loadAgentConfig,
  parseAgentConfig,
  type AgentConfigOptions,
} from '../src/config';

const TOKEN = 'ximp_0a1b2c3d4e5f_' + 'k7'.repeat(26);
const OTHER_TOKEN = 'ximp_zzzzzzzzzzzz_' + '9'.repeat(52);
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const NO_FS: AgentConfigOptions = { hostname: 'Compute-Node-04', fileMode: () => null, readCaFile: () => PEM };

function minimal(extra = ''): string {
  return `server:\n  url: wss://collector.example.net:4443/v1/agent\n  auth_token: ${TOKEN}\n${extra}`;
}

/** The ConfigError (or other XimpError) that `fn` throws. */
function failure(fn: () => unknown): XimpError {
  try {
    fn();
  } catch (err) {
    return err as XimpError;
  }
  throw new Error('expected the config to be refused');
}

function issueLines(text: string, opts: AgentConfigOptions = NO_FS, file = '/etc/ximp/agent.yaml'): string[] {
  const err = failure(() => parseAgentConfig(text, file, opts));
  if (!(err instanceof ConfigError)) throw err;
  return err.message.split('\n');
}

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-agent-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('defaults for everything but the server', async (t) => {
  const c = parseAgentConfig(minimal(), '/etc/ximp/agent.yaml', NO_FS);
  t.same(c, {
    file: '/etc/ximp/agent.yaml',
    server: { url: 'wss://collector.example.net:4443/v1/agent', authToken: TOKEN, caFile: null, ca: null },
    node: 'compute-node-04',
    intervalMs: 10_000,
    labels: {},
    sources: null,
    spool: { dir: '/var/lib/ximp-agent/spool', maxBytes: 64 * 1024 * 1024 },
    log: { level: 'info' },
    warnings: [],
  });
  t.equal(Object.getPrototypeOf(c.labels), null, 'labels has no prototype');
  t.equal(DEFAULT_AGENT_CONFIG_PATH, '/etc/ximp/agent.yaml');
  t.same([...AGENT_SOURCE_NAMES], ['cpu', 'memory', 'load', 'filesystem', 'disk', 'network', 'uptime']);
});

t.test('the node defaults to the real host name, lowercased', async (t) => {
  const c = parseAgentConfig(minimal(), '/etc/ximp/agent.yaml', { fileMode: () => null });
  t.equal(c.node, os.hostname().toLowerCase());
});

t.test('the SPEC example file parses in full', async (t) => {
  const text = `server:
  url: wss://collector.example.net:4443/v1/agent
  auth_token: ${TOKEN}
  ca_file: /etc/ximp/ca.pem
node: compute-node-04
interval: 1h30m
labels: { rack: r12, _zone: "b" }
sources: [cpu, memory, load, filesystem, disk, network, uptime]
spool: { dir: /var/lib/ximp-agent/spool, max_bytes: 1GiB }
log: { level: debug }
`;
  const c = parseAgentConfig(text, '/etc/ximp/agent.yaml', NO_FS);
  t.equal(c.server.caFile, '/etc/ximp/ca.pem');
  t.equal(c.server.ca, PEM, 'the CA is read at load');
  t.equal(c.node, 'compute-node-04');
  t.equal(c.intervalMs, 5_400_000);
  t.same({ ...c.labels }, { rack: 'r12', _zone: 'b' });
  t.same(c.sources, [...AGENT_SOURCE_NAMES]);
  t.equal(c.spool.maxBytes, 1024 ** 3);
  t.equal(c.log.level, 'debug');
});

t.test('the result is deeply frozen', async (t) => {
  const c = parseAgentConfig(minimal('labels: { rack: r12 }\nsources: [cpu]\n'), '/etc/ximp/agent.yaml', NO_FS);
  for (const part of [c, c.server, c.labels, c.sources, c.spool, c.log, c.warnings]) t.ok(Object.isFrozen(part));
  t.throws(() => {
    (c as { intervalMs: number }).intervalMs = 1;
  });
  t.throws(() => {
    (c.labels as Record<string, string>).rack = 'x';
  });
});

t.test('relative paths resolve against the config file folder, not the working directory', async (t) => {
  const c = parseAgentConfig(
    minimal('  ca_file: pki/ca.pem\nspool: { dir: ../spool }\n'),
    '/opt/ximp/conf/agent.yaml',
    NO_FS,
  );
  t.equal(c.file, '/opt/ximp/conf/agent.yaml');
  t.equal(c.server.caFile, '/opt/ximp/conf/pki/ca.pem');
  t.equal(c.spool.dir, '/opt/ximp/spool');
  const rel = parseAgentConfig(minimal(), 'conf/agent.yaml', NO_FS);
  t.equal(rel.file, path.resolve('conf/agent.yaml'), 'file is absolute');
});

t.test('the SPEC error example, exactly', async (t) => {
  const text = ['server:', '  url: wss://c.example.net/v1/agent', `  auth_token: ${TOKEN}`, 'node: n1', 'interval: fast', ''];
  t.same(issueLines(text.join('\n')), ['agent.yaml:5:11: interval: expected a duration like "10s" (actual: "fast")']);
});

t.test('three problems, three lines, each at its own line:col, in one run', async (t) => {
  const text = [
    'server:', //                                              1
    '  url: wss://collector.example.net:4443/v1/agent', //      2
    `  auth_token: ${TOKEN}`, //                                3
    'interval: 500ms', //                                       4  (below 1s)
    'spool:', //                                                5
    '  max_bytes: lots', //                                     6
    'colour: blue', //                                          7
  ].join('\n');
  const err = failure(() => parseAgentConfig(text, '/etc/ximp/agent.yaml', NO_FS)) as ConfigError;
  t.equal(err.code, ErrorCodes.CONFIG_INVALID);
  t.equal(err.issues.length, 3);
  t.same(err.message.split('\n'), [
    'agent.yaml:4:11: interval: expected a duration of at least 1s (actual: "500ms")',
    'agent.yaml:6:14: spool.max_bytes: expected a size like "64MiB" (actual: "lots")',
    'agent.yaml:7:1: colour: unknown key (expected one of: server, node, interval, labels, sources, spool, log)',
  ]);
  t.same(
    err.issues.map((i) => [i.file, i.line, i.col, i.path]),
    [
      ['agent.yaml', 4, 11, 'interval'],
      ['agent.yaml', 6, 14, 'spool.max_bytes'],
      ['agent.yaml', 7, 1, 'colour'],
    ],
  );
});

t.test('server.url: required, wss:// only', async (t) => {
  t.same(issueLines(`server:\n  auth_token: ${TOKEN}\n`), ['agent.yaml:2:3: server.url: required key is missing']);
  t.same(issueLines(minimal().replace('wss://', 'ws://')), [
    'agent.yaml:2:8: server.url: expected a wss:// URL: ws:// would send the token unencrypted (actual: "ws://collector.example.net:4443/v1/agent")',
  ]);
  t.match(issueLines(minimal().replace('wss://', 'https://'))[0], /server\.url: expected a wss:\/\/ URL/);
  t.match(issueLines(minimal().replace('wss://collector.example.net:4443/v1/agent', 'not a url'))[0], /server\.url: expected a URL like/);
  const withPassword = issueLines(minimal().replace('wss://', 'wss://user:hunter2@'));
  t.match(withPassword[0], /without user or password/);
  t.notOk(withPassword.join('\n').includes('hunter2'), 'a password in the URL is not echoed');
});

t.test('the token: one of auth_token or auth_token_file', async (t) => {
  t.same(issueLines('server:\n  url: wss://c.example.net/v1/agent\n'), [
    'agent.yaml:2:3: server.auth_token: required key is missing (or set auth_token_file)',
  ]);
  t.same(issueLines(''), [
    'agent.yaml:1:1: server.url: required key is missing',
    'agent.yaml:1:1: server.auth_token: required key is missing (or set auth_token_file)',
  ], 'an empty file is an empty mapping');
  t.same(issueLines(minimal('  auth_token_file: /run/credentials/token\n')), [
    'agent.yaml:4:20: server.auth_token_file: set either auth_token or auth_token_file, not both',
  ]);
});

t.test('a bad token is never echoed, whatever its shape', async (t) => {
  const secrets = [
    `ximp_short_${'a'.repeat(52)}`,
    TOKEN.toUpperCase(),
    `${TOKEN}x`,
    'hunter2-plain-password',
    `"${TOKEN} "`,
  ];
  for (const secret of secrets) {
    const lines = issueLines(minimal().replace(TOKEN, secret));
    t.same(lines, [
      'agent.yaml:3:15: server.auth_token: expected a token like "ximp_<id>_<secret>" (12 and 52 characters of [a-z0-9])',
    ]);
    const bare = secret.replace(/"/g, '').trim();
    t.notOk(lines.join('\n').includes(bare), 'the value is absent');
    t.notOk(lines.join('\n').includes(bare.slice(5, 17)), 'not even its id part');
  }
  const numeric = issueLines(minimal().replace(TOKEN, '12345678901234567890'));
  t.same(numeric, ['agent.yaml:3:15: server.auth_token: expected a string (actual: a number)']);
});

t.test('a token pasted where it does not belong is not echoed either', async (t) => {
  const lines = issueLines(minimal(`node: ${OTHER_TOKEN}\nlabels: { rack: ${OTHER_TOKEN} }\n`)).join('\n');
  t.match(lines, /node: expected a node name/);
  t.notOk(lines.includes(OTHER_TOKEN));
  t.notOk(lines.includes('9'.repeat(20)));
});

t.test('a YAML syntax error on the token line does not echo the token', async (t) => {
  const lines = issueLines(`server:\n  url: wss://c.example.net/v1/agent\n  auth_token: "${TOKEN}\n`);
  t.equal(lines.length, 1);
  t.match(lines[0], /^agent\.yaml:\d+:\d+: invalid YAML: /);
  t.notOk(lines[0].includes(TOKEN.slice(18)));
});

t.test('auth_token_file: read, trimmed, relative to the config folder', async (t) => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'token'), `\n  ${TOKEN}\n\n`, { mode: 0o600 });
  fs.chmodSync(path.join(dir, 'token'), 0o600);
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, 'server:\n  url: wss://c.example.net/v1/agent\n  auth_token_file: token\n', { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  const c = loadAgentConfig(file, { hostname: 'n1' });
  t.equal(c.server.authToken, TOKEN);
  t.same(c.warnings, [], 'private files: no warning');
});

t.test('auth_token_file problems are issues that never show the content', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'agent.yaml');
  const missing = issueLines('server:\n  url: wss://c.example.net/v1/agent\n  auth_token_file: nope\n', NO_FS, file);
  t.same(missing, [`agent.yaml:3:20: server.auth_token_file: cannot read ${path.join(dir, 'nope')} (ENOENT)`]);
  fs.writeFileSync(path.join(dir, 'bad'), `${OTHER_TOKEN.slice(0, 40)}\n`);
  const bad = issueLines('server:\n  url: wss://c.example.net/v1/agent\n  auth_token_file: bad\n', NO_FS, file);
  t.match(bad[0], /server\.auth_token_file: .*bad does not hold a token like "ximp_<id>_<secret>"/);
  t.notOk(bad[0].includes(OTHER_TOKEN.slice(0, 40)));
  fs.writeFileSync(path.join(dir, 'huge'), 'x'.repeat(10_000));
  const huge = issueLines('server:\n  url: wss://c.example.net/v1/agent\n  auth_token_file: huge\n', NO_FS, file);
  t.match(huge[0], /cannot read .*huge \(EFBIG\)/);
});

t.test('warns when others can read the config file or the token file, or anyone but the owner can write it', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, minimal());
  fs.chmodSync(file, 0o640);
  t.same(loadAgentConfig(file, { hostname: 'n1' }).warnings, [], 'group-readable 0640 (root:ximp-agent) is the installed layout');

  fs.chmodSync(file, 0o620);
  t.match(loadAgentConfig(file, { hostname: 'n1' }).warnings, [/writable by its group \(mode 0620\)/], 'writable by the group, though not readable');

  fs.chmodSync(file, 0o644);
  const c = loadAgentConfig(file, { hostname: 'n1' });
  t.equal(c.warnings.length, 1);
  t.match(c.warnings[0], /readable by other users \(mode 0644\) and holds the agent token/);
  t.notOk(c.warnings[0].includes(TOKEN));

  fs.chmodSync(file, 0o660);
  t.match(loadAgentConfig(file, { hostname: 'n1' }).warnings, [/writable by its group \(mode 0660\)/], 'group-writable too');

  fs.chmodSync(file, 0o640);
  t.same(loadAgentConfig(file, { hostname: 'n1' }).warnings, [], 'the group may read it (a service account)');

  fs.chmodSync(file, 0o600);
  t.same(loadAgentConfig(file, { hostname: 'n1' }).warnings, []);

  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, TOKEN);
  fs.chmodSync(tokenFile, 0o644);
  fs.writeFileSync(file, 'server:\n  url: wss://c.example.net/v1/agent\n  auth_token_file: token\n');
  fs.chmodSync(file, 0o600);
  const viaFile = loadAgentConfig(file, { hostname: 'n1' });
  t.equal(viaFile.warnings.length, 1);
  t.match(viaFile.warnings[0], /token \(auth_token_file\) is readable by other users \(mode 0644\)/);
  t.notOk(viaFile.warnings[0].includes(TOKEN));
});

t.test('an unreadable config file is XIMP_ERR_CONFIG_UNREADABLE with the path', async (t) => {
  const missing = path.join(tempDir(), 'absent.yaml');
  const err = failure(() => loadAgentConfig(missing));
  t.equal(err.code, ErrorCodes.CONFIG_UNREADABLE);
  t.ok(err.message.includes(missing));
});

t.test('node names', async (t) => {
  t.equal(parseAgentConfig(minimal('node: a.b-c.0\n'), '/x/agent.yaml', NO_FS).node, 'a.b-c.0');
  const long = 'a'.repeat(253);
  t.equal(parseAgentConfig(minimal(`node: ${long}\n`), '/x/agent.yaml', NO_FS).node, long);
  for (const bad of ['Upper', '-lead', 'under_score', 'a'.repeat(254), '"sp ace"']) {
    t.match(issueLines(minimal(`node: ${bad}\n`))[0], /^agent\.yaml:4:7: node: expected a node name/, bad.slice(0, 20));
  }
  t.same(issueLines(minimal(), { hostname: 'bad_host', fileMode: () => null }), [
    'agent.yaml:1:1: node: the host name "bad_host" is not a valid node name; set node ([a-z0-9] then [a-z0-9.-])',
  ]);
  t.equal(parseAgentConfig(minimal('node: ok\n'), '/x/agent.yaml', { hostname: 'bad_host', fileMode: () => null }).node, 'ok');
});

t.test('labels: Prometheus names, reserved names, at most 24', async (t) => {
  const lines = issueLines(minimal('labels:\n  instance: a\n  job: b\n  __meta: c\n  1st: d\n  ok: 12\n  empty: ""\n'));
  t.same(lines, [
    'agent.yaml:5:3: labels.instance: reserved label name: the agent sets instance itself',
    'agent.yaml:6:3: labels.job: reserved label name: the agent sets job itself',
    'agent.yaml:7:3: labels.__meta: invalid label name: names starting with "__" are reserved',
    'agent.yaml:8:3: labels.1st: invalid label name: expected [a-zA-Z_][a-zA-Z0-9_]*',
    'agent.yaml:9:7: labels.ok: expected a string; quote it (actual: 12)',
    'agent.yaml:10:10: labels.empty: expected a label value of 1 to 1024 characters (actual: "")',
  ]);
  const many = (n: number) => `labels:\n${Array.from({ length: n }, (_, i) => `  l${i}: v\n`).join('')}`;
  t.equal(Object.keys(parseAgentConfig(minimal(many(24)), '/x/agent.yaml', NO_FS).labels).length, 24);
  t.same(issueLines(minimal(many(25))), ['agent.yaml:5:3: labels: expected at most 24 labels (actual: 25)']);
  t.match(issueLines(minimal('labels: [a]\n'))[0], /labels: expected a mapping of label names to values \(actual: a list\)/);
});

t.test('sources: known names only', async (t) => {
  t.same(parseAgentConfig(minimal('sources: [cpu, uptime]\n'), '/x/agent.yaml', NO_FS).sources, ['cpu', 'uptime']);
  t.equal(parseAgentConfig(minimal('sources:\n'), '/x/agent.yaml', NO_FS).sources, null, 'null = defaults');
  t.same(issueLines(minimal('sources: [cpu, gpu]\n')), [
    'agent.yaml:4:16: sources[1]: expected a source name (cpu, memory, load, filesystem, disk, network, uptime) (actual: "gpu")',
  ]);
  t.same(issueLines(minimal('sources: []\n')), ['agent.yaml:4:10: sources: expected at least one entry (actual: an empty list)']);
  t.same(issueLines(minimal('sources: cpu\n')), ['agent.yaml:4:10: sources: expected a list (actual: "cpu")']);
});

t.test('interval, spool and log level', async (t) => {
  const c = parseAgentConfig(minimal('interval: 1s\nspool: { max_bytes: 1MiB, dir: /data/spool }\nlog: { level: silent }\n'), '/x/agent.yaml', NO_FS);
  t.equal(c.intervalMs, 1000);
  t.equal(c.spool.maxBytes, 1024 * 1024);
  t.equal(c.spool.dir, '/data/spool');
  t.equal(c.log.level, 'silent');
  t.same(issueLines(minimal('interval: 10\nspool: { max_bytes: 1000KiB }\nlog: { level: verbose }\n')), [
    'agent.yaml:4:11: interval: expected a duration like "10s" (actual: 10)',
    'agent.yaml:5:21: spool.max_bytes: expected a size of at least 1MiB (actual: "1000KiB")',
    'agent.yaml:6:15: log.level: expected one of trace, debug, info, warn, error, fatal, silent (actual: "verbose")',
  ]);
  t.same(issueLines(minimal('spool: 5\n')), ['agent.yaml:4:8: spool: expected a mapping (actual: 5)']);
});

t.test('an unreadable ca_file, or one without a certificate, is a config error at its line', async (t) => {
  const text = minimal('  ca_file: /etc/ximp/ca.pem\n');
  const missing = () => {
    throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
  };
  t.same(issueLines(text, { ...NO_FS, readCaFile: missing }), ['agent.yaml:4:12: server.ca_file: cannot read /etc/ximp/ca.pem (ENOENT)']);
  t.same(issueLines(text, { ...NO_FS, readCaFile: () => 'hello' }), [
    'agent.yaml:4:12: server.ca_file: /etc/ximp/ca.pem does not hold a PEM certificate ("-----BEGIN CERTIFICATE-----")',
  ]);
});

t.test('permission warnings: group read is fine; other read or anyone but the owner writing is not', async (t) => {
  const modes = (config: number, ca = 0o644) => (file: string) => (file.endsWith('ca.pem') ? ca : config);
  const text = minimal('  ca_file: /etc/ximp/ca.pem\n');
  const warnings = (config: number, ca?: number) => parseAgentConfig(text, '/etc/ximp/agent.yaml', { ...NO_FS, fileMode: modes(config, ca) }).warnings;
  t.same(warnings(0o600), [], '0600: no warning');
  t.same(warnings(0o640), [], '0640 (root:ximp-agent, the installed layout): no warning');
  t.match(warnings(0o644), [/agent\.yaml is readable by other users \(mode 0644\) and holds the agent token; .*0640/]);
  t.match(warnings(0o660), [/agent\.yaml is writable by its group \(mode 0660\)/]);
  t.match(warnings(0o602), [/agent\.yaml is writable by other users \(mode 0602\)/]);
  t.same(warnings(0o640, 0o644), [], 'a CA certificate anyone may read: no warning');
  t.match(warnings(0o640, 0o664), [/ca\.pem \(ca_file\) is writable by its group \(mode 0664\)/]);
  for (const w of warnings(0o666, 0o666)) t.notMatch(w, TOKEN.slice(18), 'never the token');
});

t.test('the token file follows the same rule', async (t) => {
  const text = `server:\n  url: wss://collector.example.net:4443/v1/agent\n  auth_token_file: /etc/ximp/token\n`;
  const opts = (mode: number): AgentConfigOptions => ({ ...NO_FS, readTokenFile: () => TOKEN, fileMode: (f) => (f.endsWith('token') ? mode : 0o600) });
  t.same(parseAgentConfig(text, '/etc/ximp/agent.yaml', opts(0o640)).warnings, []);
  t.match(parseAgentConfig(text, '/etc/ximp/agent.yaml', opts(0o644)).warnings, [/token \(auth_token_file\) is readable by other users/]);
});

t.test('the yaml library is not kept loaded after the config is read, and a reload reads it again', async (t) => {
  const yamlModules = () => Object.keys(require.cache).filter((f) => f.includes(`${path.sep}node_modules${path.sep}yaml${path.sep}`));
  const dir = tempDir();
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, `server:\n  url: wss://c.example.net/v1/agent\n  auth_token: ${TOKEN}\ninterval: 5s\n`, { mode: 0o600 });
  t.equal(loadAgentConfig(file, { hostname: 'n1' }).intervalMs, 5000);
  t.same(yamlModules(), [], 'start-up read: unloaded');
  fs.writeFileSync(file, `server:\n  url: wss://c.example.net/v1/agent\n  auth_token: ${TOKEN}\ninterval: 7s\n`, { mode: 0o600 });
  t.equal(loadAgentConfig(file, { hostname: 'n1' }).intervalMs, 7000, 'the reload parses with a fresh copy');
  t.same(yamlModules(), [], 'reload: unloaded again');
  fs.writeFileSync(file, 'server: [\n', { mode: 0o600 });
  t.throws(() => loadAgentConfig(file, { hostname: 'n1' }), /agent\.yaml/, 'a broken file is still reported');
  t.same(yamlModules(), [], 'unloaded after a failed read too');
});
