import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ConfigError, ErrorCodes, type XimpError } from '@ximp/shared';
import {
  DEFAULT_COLLECTOR_CONFIG,
  DEFAULT_COLLECTOR_CONFIG_PATH,
  loadCollectorConfig,
  parseCollectorConfig,
} from '../src/config';

const DAY = 86_400_000;

function failure(fn: () => unknown): XimpError {
  try {
    fn();
  } catch (err) {
    return err as XimpError;
  }
  throw new Error('expected the config to be refused');
}

function issueLines(text: string): string[] {
  const err = failure(() => parseCollectorConfig(text, '/etc/ximp/collector.yaml'));
  if (!(err instanceof ConfigError)) throw err;
  return err.message.split('\n');
}

const DEFAULTS = {
  dataDir: '/var/lib/ximp-collector',
  listen: { agents: { host: '0.0.0.0', port: 4443 }, api: { host: '0.0.0.0', port: 4494 } },
  tls: { renewBeforeMs: 30 * DAY, leafValidityMs: 365 * DAY, hostnames: [], collector: null, api: null, fileCheckIntervalMs: 10_000 },
  limits: {
    authFailuresPerMinute: 30,
    maxFrameBytes: 1024 * 1024,
    maxSamplesPerBatch: 50_000,
    maxLabelsPerSeries: 32,
    helloTimeoutMs: 10_000,
    pingIntervalMs: 10_000,
    maxSessionsPerToken: 2,
    upgradesPerTokenPerMinute: 20,
    maxUnauthenticatedPerAddress: 64,
    handshakeTimeoutMs: 10_000,
    maxAgentConnections: 40_000,
    maxApiConnections: 10_000,
    maxSeriesPerNode: 100_000,
    maxNewSeriesPerMinute: 20_000,
    maxFutureSkewMs: 600_000,
  },
  store: { retentionMs: 15 * DAY, commitIntervalMs: 5, remoteWrite: [] },
  api: { allowCidrs: [], accessTokenTtlMs: 3_600_000, maxQueryRangeMs: 31 * 86_400_000, maxQueryPoints: 250_000, maxConcurrentQueries: 4 },
  log: { level: 'info' },
  alerting: { evaluationIntervalMs: 15_000, repeatIntervalMs: 4 * 3_600_000, historyRetentionMs: 90 * DAY },
  dashboard: { sessionIdleTimeoutMs: 30 * 60_000, sessionMaxAgeMs: 12 * 3_600_000, oidc: null },
};

t.test('loadCollectorConfig(null) is every default, frozen', async (t) => {
  const c = loadCollectorConfig(null);
  t.same(c, { file: null, ...DEFAULTS });
  t.same(DEFAULT_COLLECTOR_CONFIG, DEFAULTS);
  t.equal(DEFAULT_COLLECTOR_CONFIG_PATH, '/etc/ximp/collector.yaml');
  for (const part of [c, c.listen, c.listen.agents, c.limits, c.store, c.api, c.api.allowCidrs, c.log]) t.ok(Object.isFrozen(part));
  t.throws(() => {
    (c.api.allowCidrs as string[]).push('10.0.0.0/8');
  });
});

t.test('an empty file is every default', async (t) => {
  t.same(parseCollectorConfig('', '/etc/ximp/collector.yaml'), { file: '/etc/ximp/collector.yaml', ...DEFAULTS });
  t.same(parseCollectorConfig('# nothing\n', '/etc/ximp/collector.yaml').limits, DEFAULTS.limits);
});

t.test('every key, set', async (t) => {
  const text = `data_dir: /srv/ximp
listen:
  agents: "[::1]:0"
  api: 127.0.0.1:8443
tls:
  renew_before: 14d
  leaf_validity: 200d
  hostnames: [mon.example.net, "2001:DB8::1", 10.0.0.5]
  collector: { cert_file: /etc/ximp/agents.pem, key_file: /etc/ximp/agents-key.pem }
  api: { cert_file: certs/api.pem, key_file: certs/api-key.pem }
  file_check_interval: 2s
limits:
  auth_failures_per_minute: 5
  max_frame_bytes: 4MiB
  max_samples_per_batch: 100000
  max_labels_per_series: 64
  hello_timeout: 2s
  ping_interval: 500ms
  max_sessions_per_token: 3
  upgrades_per_token_per_minute: 10
  max_unauthenticated_per_address: 8
  handshake_timeout: 1500ms
  max_agent_connections: 1000
  max_api_connections: 100
  max_series_per_node: 5000
  max_new_series_per_minute: 6000
  max_future_skew: 30s
store:
  retention: 90d
  commit_interval: 0ms
api:
  allow_cidrs: [10.0.0.0/8, "fd00::/8", 127.0.0.1]
  access_token_ttl: 15m
  max_query_range: 7d
  max_query_points: 2000000
  max_concurrent_queries: 2
log:
  level: warn
alerting:
  evaluation_interval: 1s
  repeat_interval: 30m
  history_retention: 7d
dashboard:
  session_idle_timeout: 15m
  session_max_age: 8h
`;
  const c = parseCollectorConfig(text, '/etc/ximp/collector.yaml');
  t.same(c, {
    file: '/etc/ximp/collector.yaml',
    dataDir: '/srv/ximp',
    listen: { agents: { host: '::1', port: 0 }, api: { host: '127.0.0.1', port: 8443 } },
    tls: {
      renewBeforeMs: 14 * DAY,
      leafValidityMs: 200 * DAY,
      hostnames: ['mon.example.net', '2001:db8::1', '10.0.0.5'],
      collector: { certFile: '/etc/ximp/agents.pem', keyFile: '/etc/ximp/agents-key.pem' },
      api: { certFile: '/etc/ximp/certs/api.pem', keyFile: '/etc/ximp/certs/api-key.pem' },
      fileCheckIntervalMs: 2000,
    },
    limits: {
      authFailuresPerMinute: 5,
      maxFrameBytes: 4 * 1024 * 1024,
      maxSamplesPerBatch: 100_000,
      maxLabelsPerSeries: 64,
      helloTimeoutMs: 2000,
      pingIntervalMs: 500,
      maxSessionsPerToken: 3,
      upgradesPerTokenPerMinute: 10,
      maxUnauthenticatedPerAddress: 8,
      handshakeTimeoutMs: 1500,
      maxAgentConnections: 1000,
      maxApiConnections: 100,
      maxSeriesPerNode: 5000,
      maxNewSeriesPerMinute: 6000,
      maxFutureSkewMs: 30_000,
    },
    store: { retentionMs: 90 * DAY, commitIntervalMs: 0, remoteWrite: [] },
    api: {
      allowCidrs: ['10.0.0.0/8', 'fd00::/8', '127.0.0.1/32'],
      accessTokenTtlMs: 900_000,
      maxQueryRangeMs: 7 * DAY,
      maxQueryPoints: 2_000_000,
      maxConcurrentQueries: 2,
    },
    log: { level: 'warn' },
    alerting: { evaluationIntervalMs: 1000, repeatIntervalMs: 30 * 60_000, historyRetentionMs: 7 * DAY },
    dashboard: { sessionIdleTimeoutMs: 15 * 60_000, sessionMaxAgeMs: 8 * 3_600_000, oidc: null },
  });
  t.ok(Object.isFrozen(c.listen.agents));
});

t.test('series and skew limits: not below one agent batch, durations checked', async (t) => {
  const lines = issueLines('limits:\n  max_series_per_node: 100\n  max_new_series_per_minute: 0\n  max_future_skew: fast\n');
  t.equal(lines.length, 3, lines.join('\n'));
  t.match(lines[0], /limits\.max_series_per_node/);
  t.match(lines[1], /limits\.max_new_series_per_minute/);
  t.match(lines[2], /limits\.max_future_skew/);
});

t.test('a relative data_dir resolves against the config file folder', async (t) => {
  t.equal(parseCollectorConfig('data_dir: data\n', '/opt/ximp/collector.yaml').dataDir, '/opt/ximp/data');
  t.equal(parseCollectorConfig('data_dir: ../state\n', '/opt/ximp/conf/collector.yaml').dataDir, '/opt/ximp/state');
});

t.test('every problem of the file in one error, each at its line:col', async (t) => {
  const text = [
    'data_dir: 42', //                               1:11
    'listen:', //                                    2
    '  agents: 0.0.0.0:70000', //                    3:11
    '  api: localhost', //                           4:8
    'limits:', //                                    5
    '  max_frame_bytes: 1MB2', //                    6:20
    '  auth_failures_per_minute: "30"', //          7:29
    '  max_labels_per_series: 0', //                 8:26
    '  hello_timeout: 1x', //                        9:18
    'store: { retention: soon, commit_interval: 1m }', // 10:21, 10:44
    'api:', //                                       11
    '  allow_cidrs: [10.0.0.0/33, "::1/64", nope]', // 12:17, 12:40
    '  acces_token_ttl: 1h', //                      13:3
    'log: { level: chatty }', //                     14:15
    'tls: []', //                                    15:6
  ].join('\n');
  const err = failure(() => parseCollectorConfig(text, '/etc/ximp/collector.yaml')) as ConfigError;
  t.equal(err.code, ErrorCodes.CONFIG_INVALID);
  t.same(err.message.split('\n'), [
    'collector.yaml:1:11: data_dir: expected a string (actual: 42)',
    'collector.yaml:3:11: listen.agents: expected a listen address like "0.0.0.0:4443" or "[::1]:4443" (actual: "0.0.0.0:70000")',
    'collector.yaml:4:8: listen.api: expected a listen address like "0.0.0.0:4443" or "[::1]:4443" (actual: "localhost")',
    'collector.yaml:6:20: limits.max_frame_bytes: expected a size like "64MiB" (actual: "1MB2")',
    'collector.yaml:7:29: limits.auth_failures_per_minute: expected an integer (actual: "30")',
    'collector.yaml:8:26: limits.max_labels_per_series: expected an integer from 32 to 1000 (actual: 0)',
    'collector.yaml:9:18: limits.hello_timeout: expected a duration like "10s" (actual: "1x")',
    'collector.yaml:10:21: store.retention: expected a duration like "10s" (actual: "soon")',
    'collector.yaml:10:44: store.commit_interval: expected a duration from 0s to 10s (actual: "1m")',
    'collector.yaml:12:17: api.allow_cidrs[0]: expected an IPv4 or IPv6 CIDR like "10.0.0.0/8" or "fd00::/8" (actual: "10.0.0.0/33")',
    'collector.yaml:12:40: api.allow_cidrs[2]: expected an IPv4 or IPv6 CIDR like "10.0.0.0/8" or "fd00::/8" (actual: "nope")',
    'collector.yaml:13:3: api.acces_token_ttl: unknown key (expected one of: allow_cidrs, access_token_ttl, max_query_range, max_query_points, max_concurrent_queries)',
    'collector.yaml:14:15: log.level: expected one of trace, debug, info, warn, error, fatal, silent (actual: "chatty")',
    'collector.yaml:15:6: tls: expected a mapping (actual: a list)',
  ]);
  t.equal(err.issues.length, 14);
});

t.test('tls: leaf_validity leaves 90 days after a renewal; hostnames are DNS names or IP addresses', async (t) => {
  t.same(
    issueLines('tls:\n  leaf_validity: 90d\n  hostnames: [ok.example.net, "bad name", ok.example.net, under_score]\n'),
    [
      'collector.yaml:2:18: tls.leaf_validity: expected a duration from 91d to 3650d (actual: "90d")',
      'collector.yaml:3:31: tls.hostnames[1]: expected a DNS name or an IP address (actual: "bad name")',
      'collector.yaml:3:43: tls.hostnames[2]: duplicate entry (actual: "ok.example.net")',
      'collector.yaml:3:59: tls.hostnames[3]: expected a DNS name or an IP address (actual: "under_score")',
    ],
  );
  t.same(parseCollectorConfig('tls:\n  leaf_validity: 91d\n', '/x/c.yaml').tls.leafValidityMs, 91 * DAY);
});

t.test('tls.collector and tls.api: cert_file and key_file both or neither; file_check_interval at least 1s', async (t) => {
  t.same(
    issueLines('tls:\n  collector: { cert_file: a.pem }\n  api: { key_file: "" }\n  file_check_interval: 500ms\n'),
    [
      'collector.yaml:2:14: tls.collector.key_file: required with cert_file (both or neither)',
      'collector.yaml:3:8: tls.api.cert_file: required with key_file (both or neither)',
      'collector.yaml:3:20: tls.api.key_file: expected a file path (actual: "")',
      'collector.yaml:4:24: tls.file_check_interval: expected a duration from 1s to 1h (actual: "500ms")',
    ],
  );
  t.same(issueLines('tls:\n  api: { cert_file: a.pem, key_file: b.pem, ca_file: c.pem }\n'), [
    'collector.yaml:2:45: tls.api.ca_file: unknown key (expected one of: cert_file, key_file)',
  ]);
  const c = parseCollectorConfig('tls:\n  api: { cert_file: a.pem, key_file: /k/b.pem }\n', '/x/c.yaml');
  t.same(c.tls.api, { certFile: '/x/a.pem', keyFile: '/k/b.pem' }, 'relative to the config file');
  t.equal(c.tls.collector, null);
});

t.test('limits on sizes and durations', async (t) => {
  t.same(issueLines('limits: { max_frame_bytes: 512KiB }\n'), [
    'collector.yaml:1:28: limits.max_frame_bytes: expected a size from 1MiB to 64MiB (actual: "512KiB")',
  ]);
  // Below what one agent batch may hold, a spooled batch would be refused for good.
  t.same(issueLines('limits: { max_samples_per_batch: 4999, max_labels_per_series: 31 }\n'), [
    'collector.yaml:1:34: limits.max_samples_per_batch: expected an integer from 5000 to 10000000 (actual: 4999)',
    'collector.yaml:1:63: limits.max_labels_per_series: expected an integer from 32 to 1000 (actual: 31)',
  ]);
  t.same(issueLines('api: { access_token_ttl: 0s }\n'), [
    'collector.yaml:1:26: api.access_token_ttl: expected a duration from 1s to 30d (actual: "0s")',
  ]);
  t.same(issueLines('api: { max_query_range: 30s, max_query_points: 999, max_concurrent_queries: 0 }\n'), [
    'collector.yaml:1:25: api.max_query_range: expected a duration from 1m to 3650d (actual: "30s")',
    'collector.yaml:1:48: api.max_query_points: expected an integer from 1000 to 50000000 (actual: 999)',
    'collector.yaml:1:77: api.max_concurrent_queries: expected an integer from 1 to 64 (actual: 0)',
  ]);
  t.same(issueLines('listen: { agents: "::1:4443" }\n'), [
    'collector.yaml:1:19: listen.agents: expected a listen address like "0.0.0.0:4443" or "[::1]:4443" (actual: "::1:4443")',
  ]);
  t.same(issueLines('api: { allow_cidrs: [10.0.0.0/8, 10.0.0.0/8] }\n'), [
    'collector.yaml:1:34: api.allow_cidrs[1]: duplicate entry (actual: "10.0.0.0/8")',
  ]);
});

t.test('YAML syntax errors are reported in the same format, in our own words', async (t) => {
  const lines = issueLines('listen:\n  agents: 0.0.0.0:4443\n   api: 0.0.0.0:4494\n');
  t.ok(lines.length >= 1);
  for (const line of lines) t.match(line, /^collector\.yaml:\d+:\d+: invalid YAML: /);
});

t.test('loading from disk', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-collector-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'collector.yaml');
  fs.writeFileSync(file, 'data_dir: ./data\nlisten: { api: "127.0.0.1:0" }\n');
  const c = loadCollectorConfig(file);
  t.equal(c.file, file);
  t.equal(c.dataDir, path.join(dir, 'data'));
  t.same(c.listen.api, { host: '127.0.0.1', port: 0 });
  const err = failure(() => loadCollectorConfig(path.join(dir, 'missing.yaml')));
  t.equal(err.code, ErrorCodes.CONFIG_UNREADABLE);
  t.ok(err.message.includes(path.join(dir, 'missing.yaml')));
});

t.test('store.remote_write: defaults from data_dir and the managed store-client pair', async (t) => {
  const c = parseCollectorConfig(
    'data_dir: data\nstore:\n  remote_write:\n    - url: https://prom.example:9090/api/v1/write\n    - name: mimir\n      url: https://mimir:443/api/v1/push\n',
    '/opt/ximp/collector.yaml',
  );
  t.same(c.store.remoteWrite, [
    {
      name: 'store1',
      url: 'https://prom.example:9090/api/v1/write',
      caFile: '/opt/ximp/data/pki/ca.pem',
      certFile: '/opt/ximp/data/pki/store-client.pem',
      keyFile: '/opt/ximp/data/pki/store-client-key.pem',
      managedClientCert: true,
      maxBytes: 1024 ** 3,
      shards: 4,
      maxSamplesPerRequest: 2000,
      timeoutMs: 30_000,
      encodeInWorker: true,
    },
    {
      name: 'mimir',
      url: 'https://mimir:443/api/v1/push',
      caFile: '/opt/ximp/data/pki/ca.pem',
      certFile: '/opt/ximp/data/pki/store-client.pem',
      keyFile: '/opt/ximp/data/pki/store-client-key.pem',
      managedClientCert: true,
      maxBytes: 1024 ** 3,
      shards: 4,
      maxSamplesPerRequest: 2000,
      timeoutMs: 30_000,
      encodeInWorker: true,
    },
  ]);
  t.ok(Object.isFrozen(c.store.remoteWrite[0]));
});

t.test('store.remote_write: every key set; files resolve against the config folder', async (t) => {
  const text = `store:
  remote_write:
    - name: vm_1
      url: https://vm.example/api/v1/write
      ca_file: certs/store-ca.pem
      cert_file: /etc/ximp/client.pem
      key_file: client-key.pem
      max_bytes: 64MiB
      shards: 32
      max_samples_per_request: 500
      timeout: 5s
      encode_in_worker: false
`;
  t.same(parseCollectorConfig(text, '/etc/ximp/collector.yaml').store.remoteWrite, [
    {
      name: 'vm_1',
      url: 'https://vm.example/api/v1/write',
      caFile: '/etc/ximp/certs/store-ca.pem',
      certFile: '/etc/ximp/client.pem',
      keyFile: '/etc/ximp/client-key.pem',
      managedClientCert: false,
      maxBytes: 64 * 1024 * 1024,
      shards: 32,
      maxSamplesPerRequest: 500,
      timeoutMs: 5000,
      encodeInWorker: false,
    },
  ]);
});

t.test('store.remote_write: every problem with its key path, a password in a URL never echoed', async (t) => {
  const text = [
    'store:', //                                          1
    '  remote_write:', //                                 2
    '    - url: http://prom:9090/api/v1/write', //        3:12
    '      shards: 33', //                                4:15
    '      cert_file: c.pem', //                          5
    '    - name: Store One', //                           6:13
    '      url: https://user:hunter2@prom/api/v1/write', // 7:12
    '      encode_in_worker: "yes"', //                   8:25
    '      max_samples_per_request: 0', //                9:32
    '      timeout: 10m', //                              10:16
    '      max_bytes: 1KiB', //                           11:18
    '      bogus: 1', //                                  12:7
    '    - name: store1', //                              13: the name entry [0] has by default
    '      url: https://a/', //
    '    - name: store1', //                              15:13
    '      url: https://b/', //
    '    - 42', //                                        17:7
    '    - name: x', //                                   18:7 (url missing)
  ].join('\n');
  const lines = issueLines(text);
  t.same(lines, [
    'collector.yaml:3:7: store.remote_write[0].key_file: required with cert_file (both or neither)',
    'collector.yaml:3:12: store.remote_write[0].url: expected an https:// URL (remote write goes over TLS 1.3 only) (actual: "http://prom:9090/api/v1/write")',
    'collector.yaml:4:15: store.remote_write[0].shards: expected an integer from 1 to 32 (actual: 33)',
    'collector.yaml:6:13: store.remote_write[1].name: expected a store name of 1 to 32 characters a-z, 0-9, _ or - (actual: "Store One")',
    'collector.yaml:7:12: store.remote_write[1].url: expected an https:// URL without user:password (the store authenticates the client certificate)',
    'collector.yaml:8:25: store.remote_write[1].encode_in_worker: expected true or false (actual: "yes")',
    'collector.yaml:9:32: store.remote_write[1].max_samples_per_request: expected an integer from 1 to 100000 (actual: 0)',
    'collector.yaml:10:16: store.remote_write[1].timeout: expected a duration from 1s to 5m (actual: "10m")',
    'collector.yaml:11:18: store.remote_write[1].max_bytes: expected a size from 1MiB to 1TiB (actual: "1KiB")',
    'collector.yaml:12:7: store.remote_write[1].bogus: unknown key (expected one of: name, url, ca_file, cert_file, key_file, max_bytes, shards, max_samples_per_request, timeout, encode_in_worker)',
    'collector.yaml:13:13: store.remote_write[2].name: store name "store1" is already used by an earlier entry',
    'collector.yaml:15:13: store.remote_write[3].name: store name "store1" is already used by an earlier entry',
    'collector.yaml:17:7: store.remote_write[4]: expected a mapping (actual: 42)',
    'collector.yaml:18:7: store.remote_write[5].url: required key is missing',
  ]);
  t.notMatch(lines.join('\n'), /hunter2/);
  t.same(issueLines('store: { remote_write: https://prom/ }\n'), [
    'collector.yaml:1:24: store.remote_write: expected a list of mappings (actual: "https://prom/")',
  ]);
});

t.test('alerting: intervals and history retention are bounded, with the key path in each message', async (t) => {
  const text = 'alerting:\n  evaluation_interval: 500ms\n  repeat_interval: 10s\n  history_retention: 1h\n  rules: []\n';
  t.throws(() => parseCollectorConfig(text, 'collector.yaml'), {
    message: /collector\.yaml:2:24: alerting\.evaluation_interval: expected a duration from 1s to 1h[\s\S]*alerting\.repeat_interval: expected a duration from 1m to 30d[\s\S]*alerting\.history_retention: expected a duration from 1d to 3650d[\s\S]*alerting\.rules: unknown key/,
  });
});

t.test('dashboard: session timeouts are bounded, with the key path in each message', async (t) => {
  t.throws(() => parseCollectorConfig('dashboard:\n  session_idle_timeout: 10s\n  session_max_age: 40d\n  cookie: x\n', '/etc/ximp/collector.yaml'), {
    message: /collector\.yaml:2:25: dashboard\.session_idle_timeout: expected a duration from 1m to 1d[\s\S]*dashboard\.session_max_age: expected a duration from 5m to 30d[\s\S]*dashboard\.cookie: unknown key/,
  });
  t.throws(() => parseCollectorConfig('dashboard:\n  session_idle_timeout: 2h\n  session_max_age: 1h\n', '/etc/ximp/collector.yaml'), {
    message: /dashboard\.session_max_age: must be at least dashboard\.session_idle_timeout/,
  });
});
