import * as path from 'node:path';
import {
  AGENT_BATCH_BOUNDS,
  ConfigReader,
  DEFAULT_LIMITS,
  deepFreeze,
  formatCidr,
  httpsUrlProblem,
  LOG_LEVELS,
  parseCidr,
  parseConfigYaml,
  readConfigFile,
  resolveRelativeTo,
  urlMayHoldSecret,
  type ListenAddress,
  type LogLevel,
} from '@ximp/shared';
import { parseSubjectAltName } from './pki/subject-alt-names';
import { MIN_RETENTION_MS } from './store/retention-setting';
import {
  DASHBOARD_SESSION_DEFAULTS,
  DASHBOARD_SESSION_KEYS,
  parseDashboardSessionConfig,
  type DashboardSessionConfig,
} from './web/dashboard-session-config';

export const DEFAULT_COLLECTOR_CONFIG_PATH = '/etc/ximp/collector.yaml';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const KIB = 1024;
const MIB = 1024 * KIB;

/** The collector's configuration, deeply frozen. */
export interface CollectorConfig {
  /** Absolute path it was read from; null when running on defaults. */
  file: string | null;
  dataDir: string;
  listen: { agents: ListenAddress; api: ListenAddress };
  /**
   * `hostnames`: canonical DNS names and IP addresses added to the managed leaves' names at renewal.
   * `collector`/`api`: the operator's pair for that listener (absolute paths), null for the managed one.
   */
  tls: {
    renewBeforeMs: number;
    leafValidityMs: number;
    hostnames: string[];
    collector: CertificateFiles | null;
    api: CertificateFiles | null;
    /** How often operator-supplied certificate files are checked for a change. */
    fileCheckIntervalMs: number;
  };
  limits: {
    authFailuresPerMinute: number;
    maxFrameBytes: number;
    maxSamplesPerBatch: number;
    maxLabelsPerSeries: number;
    helloTimeoutMs: number;
    pingIntervalMs: number;
    maxSessionsPerToken: number;
    upgradesPerTokenPerMinute: number;
    maxUnauthenticatedPerAddress: number;
    handshakeTimeoutMs: number;
    maxAgentConnections: number;
    maxApiConnections: number;
    maxSeriesPerNode: number;
    maxNewSeriesPerMinute: number;
    maxFutureSkewMs: number;
  };
  store: { retentionMs: number; commitIntervalMs: number; remoteWrite: RemoteWriteConfig[] };
  /** `allowCidrs` is normalized to `address/prefix`; empty = every address. */
  api: { allowCidrs: string[]; accessTokenTtlMs: number; maxQueryRangeMs: number; maxQueryPoints: number; maxConcurrentQueries: number };
  log: { level: LogLevel };
  /** SPEC §14: how often rules are evaluated, how often a firing group is repeated, how long history is kept. */
  alerting: { evaluationIntervalMs: number; repeatIntervalMs: number; historyRetentionMs: number };
  /** SPEC §15: the web dashboard (sessions; sign-in). */
  dashboard: DashboardConfig;
}

/** `dashboard:`: session timeouts (web/dashboard-session-config.ts); OIDC sign-in goes beside them. */
export type DashboardConfig = DashboardSessionConfig;

/** An operator-supplied certificate and key (`cert_file`, `key_file`), absolute paths. */
export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

/** One `store.remote_write` entry: a Prometheus remote-write receiver with its own queue. */
export interface RemoteWriteConfig {
  /** Unique; names the queue folder `<data_dir>/queue/<name>` and the `store` label in /metrics. */
  name: string;
  /** An https:// URL, e.g. `https://prometheus:9090/api/v1/write`. */
  url: string;
  /** CA the store's certificate must chain to. */
  caFile: string;
  /** Client certificate and key presented to the store. */
  certFile: string;
  keyFile: string;
  /** True when certFile/keyFile are the managed `store-client` pair (renewed by the collector). */
  managedClientCert: boolean;
  /** Bound of the on-disk queue; when reached the collector stops acknowledging agents. */
  maxBytes: number;
  shards: number;
  maxSamplesPerRequest: number;
  timeoutMs: number;
  /** Encode and compress requests in a worker thread, off the event loop that serves agents. */
  encodeInWorker: boolean;
}

/** Defaults of a `store.remote_write` entry (its name, url and files depend on the entry and data_dir). */
export const REMOTE_WRITE_DEFAULTS = deepFreeze({
  maxBytes: 1024 * MIB,
  shards: 4,
  maxSamplesPerRequest: 2000,
  timeoutMs: 30 * SECOND,
  encodeInWorker: true,
});

const REMOTE_WRITE_KEYS = [
  'name',
  'url',
  'ca_file',
  'cert_file',
  'key_file',
  'max_bytes',
  'shards',
  'max_samples_per_request',
  'timeout',
  'encode_in_worker',
] as const;

const STORE_NAME = /^[a-z0-9_-]{1,32}$/;

/** Null for an https:// URL a remote-write request can go to; else what was expected. */
function checkRemoteWriteUrl(value: string): string | null {
  return httpsUrlProblem(value, { http: 'remote write goes over TLS 1.3 only', userinfo: 'the store authenticates the client certificate' });
}

/** Defaults (SPEC §2, §7, §9, §10, §11); a config file overrides single keys. */
export const DEFAULT_COLLECTOR_CONFIG: Readonly<Omit<CollectorConfig, 'file'>> = deepFreeze({
  dataDir: '/var/lib/ximp-collector',
  listen: { agents: { host: '0.0.0.0', port: 4443 }, api: { host: '0.0.0.0', port: 4494 } },
  tls: { renewBeforeMs: 30 * DAY, leafValidityMs: 365 * DAY, hostnames: [], collector: null, api: null, fileCheckIntervalMs: 10 * SECOND },
  limits: {
    authFailuresPerMinute: 30,
    maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes,
    maxSamplesPerBatch: DEFAULT_LIMITS.maxSamplesPerBatch,
    maxLabelsPerSeries: DEFAULT_LIMITS.maxLabelsPerSeries,
    helloTimeoutMs: 10 * SECOND,
    pingIntervalMs: 10 * SECOND,
    maxSessionsPerToken: 2,
    // A normal agent opens one session per reconnect and waits >= 1 s between failed attempts;
    // 20 a minute leaves room for a collector restart and a replaced session many times over.
    upgradesPerTokenPerMinute: 20,
    maxUnauthenticatedPerAddress: 64,
    handshakeTimeoutMs: 10 * SECOND,
    // Below the unit's LimitNOFILE=65536 with room for the database, logs and outgoing connections.
    maxAgentConnections: 40_000,
    maxApiConnections: 10_000,
    maxSeriesPerNode: 100_000,
    maxNewSeriesPerMinute: 20_000,
    maxFutureSkewMs: 10 * MINUTE,
  },
  store: { retentionMs: 15 * DAY, commitIntervalMs: 5, remoteWrite: [] },
  api: { allowCidrs: [], accessTokenTtlMs: 1 * HOUR, maxQueryRangeMs: 31 * DAY, maxQueryPoints: 250_000, maxConcurrentQueries: 4 },
  log: { level: 'info' },
  alerting: { evaluationIntervalMs: 15 * SECOND, repeatIntervalMs: 4 * HOUR, historyRetentionMs: 90 * DAY },
  dashboard: { ...DASHBOARD_SESSION_DEFAULTS },
});

/**
 * Reads and parses collector.yaml; `null` means no file: every default. Throws ConfigError
 * (all issues at once) or XIMP_ERR_CONFIG_UNREADABLE.
 */
export function loadCollectorConfig(file: string | null): CollectorConfig {
  if (file === null) return defaultsFor(null);
  return parseCollectorConfig(readConfigFile(file), file);
}

/**
 * Parses collector.yaml text. `fileName` is the path the text came from: its base name appears
 * in messages and a relative data_dir resolves against its folder.
 */
export function parseCollectorConfig(text: string, fileName: string): CollectorConfig {
  const d = DEFAULT_COLLECTOR_CONFIG;
  const file = path.resolve(fileName);
  const root = ConfigReader.root(parseConfigYaml(text, fileName), ['data_dir', 'listen', 'tls', 'limits', 'store', 'api', 'log', 'alerting', 'dashboard']);

  const dataDir = root.string('data_dir', { check: (v) => (v.trim() === '' ? 'a folder path' : null) });

  const listen = root.section('listen', ['agents', 'api']);
  const agents = listen.listenAddress('agents') ?? d.listen.agents;
  const api = listen.listenAddress('api') ?? d.listen.api;

  const tls = root.section('tls', ['renew_before', 'leaf_validity', 'hostnames', 'collector', 'api', 'file_check_interval']);
  const renewBeforeMs = tls.duration('renew_before', { min: MINUTE }) ?? d.tls.renewBeforeMs;
  // At least 91 days, so that a renewal always leaves NOT-AFTER 90 days or more ahead.
  const leafValidityMs = tls.duration('leaf_validity', { min: 91 * DAY, max: 3650 * DAY }) ?? d.tls.leafValidityMs;
  const hostnames =
    tls.stringList('hostnames', {
      expected: 'a DNS name or an IP address',
      parse: (v) => parseSubjectAltName(v)?.value ?? null,
      unique: true,
    }) ?? [...d.tls.hostnames];
  const collectorFiles = certificateFiles(tls.section('collector', ['cert_file', 'key_file']), file);
  const apiFiles = certificateFiles(tls.section('api', ['cert_file', 'key_file']), file);
  const fileCheckIntervalMs = tls.duration('file_check_interval', { min: SECOND, max: HOUR }) ?? d.tls.fileCheckIntervalMs;

  const limits = root.section('limits', [
    'auth_failures_per_minute',
    'max_frame_bytes',
    'max_samples_per_batch',
    'max_labels_per_series',
    'hello_timeout',
    'ping_interval',
    'max_sessions_per_token',
    'upgrades_per_token_per_minute',
    'max_unauthenticated_per_address',
    'handshake_timeout',
    'max_agent_connections',
    'max_api_connections',
    'max_series_per_node',
    'max_new_series_per_minute',
    'max_future_skew',
  ]);
  // The frame, sample and label limits may be raised, not set below what an agent's batch may hold:
  // a spooled batch the collector refuses would block its agent's stream for good.
  const l = {
    authFailuresPerMinute:
      limits.integer('auth_failures_per_minute', { min: 1, max: 1_000_000 }) ?? d.limits.authFailuresPerMinute,
    maxFrameBytes: limits.size('max_frame_bytes', { min: AGENT_BATCH_BOUNDS.frameBytes, max: 64 * MIB }) ?? d.limits.maxFrameBytes,
    maxSamplesPerBatch: limits.integer('max_samples_per_batch', { min: AGENT_BATCH_BOUNDS.samples, max: 10_000_000 }) ?? d.limits.maxSamplesPerBatch,
    maxLabelsPerSeries: limits.integer('max_labels_per_series', { min: AGENT_BATCH_BOUNDS.labelsPerSeries, max: 1000 }) ?? d.limits.maxLabelsPerSeries,
    helloTimeoutMs: limits.duration('hello_timeout', { min: 10, max: 5 * MINUTE }) ?? d.limits.helloTimeoutMs,
    pingIntervalMs: limits.duration('ping_interval', { min: 10, max: 10 * MINUTE }) ?? d.limits.pingIntervalMs,
    maxSessionsPerToken: limits.integer('max_sessions_per_token', { min: 1, max: 1000 }) ?? d.limits.maxSessionsPerToken,
    upgradesPerTokenPerMinute:
      limits.integer('upgrades_per_token_per_minute', { min: 2, max: 1_000_000 }) ?? d.limits.upgradesPerTokenPerMinute,
    maxUnauthenticatedPerAddress:
      limits.integer('max_unauthenticated_per_address', { min: 1, max: 1_000_000 }) ?? d.limits.maxUnauthenticatedPerAddress,
    handshakeTimeoutMs: limits.duration('handshake_timeout', { min: 10, max: 5 * MINUTE }) ?? d.limits.handshakeTimeoutMs,
    maxAgentConnections: limits.integer('max_agent_connections', { min: 1, max: 1_000_000 }) ?? d.limits.maxAgentConnections,
    maxApiConnections: limits.integer('max_api_connections', { min: 1, max: 1_000_000 }) ?? d.limits.maxApiConnections,
    // Not below one agent batch's worth: a first connection defines a whole batch's series at once.
    maxSeriesPerNode: limits.integer('max_series_per_node', { min: AGENT_BATCH_BOUNDS.samples, max: 100_000_000 }) ?? d.limits.maxSeriesPerNode,
    maxNewSeriesPerMinute:
      limits.integer('max_new_series_per_minute', { min: AGENT_BATCH_BOUNDS.samples, max: 100_000_000 }) ?? d.limits.maxNewSeriesPerMinute,
    maxFutureSkewMs: limits.duration('max_future_skew', { min: SECOND, max: 7 * DAY }) ?? d.limits.maxFutureSkewMs,
  };

  const store = root.section('store', ['retention', 'commit_interval', 'remote_write']);
  const retentionMs = store.duration('retention', { min: MIN_RETENTION_MS }) ?? d.store.retentionMs;
  const commitIntervalMs = store.duration('commit_interval', { min: 0, max: 10 * SECOND }) ?? d.store.commitIntervalMs;
  const remoteWriteReaders = store.sectionList('remote_write', REMOTE_WRITE_KEYS);

  const apiSection = root.section('api', ['allow_cidrs', 'access_token_ttl', 'max_query_range', 'max_query_points', 'max_concurrent_queries']);
  const allowCidrs =
    apiSection.stringList('allow_cidrs', {
      expected: 'an IPv4 or IPv6 CIDR like "10.0.0.0/8" or "fd00::/8"',
      parse: (v) => {
        const cidr = parseCidr(v);
        return cidr === null ? null : formatCidr(cidr);
      },
      unique: true,
    }) ?? [...d.api.allowCidrs];
  const accessTokenTtlMs = apiSection.duration('access_token_ttl', { min: SECOND, max: 30 * DAY }) ?? d.api.accessTokenTtlMs;
  const maxQueryRangeMs = apiSection.duration('max_query_range', { min: MINUTE, max: 3650 * DAY }) ?? d.api.maxQueryRangeMs;
  const maxQueryPoints = apiSection.integer('max_query_points', { min: 1000, max: 50_000_000 }) ?? d.api.maxQueryPoints;
  const maxConcurrentQueries = apiSection.integer('max_concurrent_queries', { min: 1, max: 64 }) ?? d.api.maxConcurrentQueries;

  const log = root.section('log', ['level']);
  const level = log.oneOf('level', LOG_LEVELS) ?? d.log.level;

  const alertingSection = root.section('alerting', ['evaluation_interval', 'repeat_interval', 'history_retention']);
  const alerting = {
    evaluationIntervalMs: alertingSection.duration('evaluation_interval', { min: SECOND, max: HOUR }) ?? d.alerting.evaluationIntervalMs,
    repeatIntervalMs: alertingSection.duration('repeat_interval', { min: MINUTE, max: 30 * DAY }) ?? d.alerting.repeatIntervalMs,
    historyRetentionMs: alertingSection.duration('history_retention', { min: DAY, max: 3650 * DAY }) ?? d.alerting.historyRetentionMs,
  };

  // dashboard: the session keys here; OIDC sign-in (`dashboard.oidc`) adds its key and its parse beside them.
  const dashboardSection = root.section('dashboard', [...DASHBOARD_SESSION_KEYS]);
  const dashboard: DashboardConfig = { ...parseDashboardSessionConfig(dashboardSection) };

  const resolvedDataDir = dataDir === undefined ? d.dataDir : resolveRelativeTo(file, dataDir);
  const remoteWrite = parseRemoteWrite(remoteWriteReaders, file, resolvedDataDir);

  root.throwIfIssues();

  return deepFreeze({
    file,
    dataDir: resolvedDataDir,
    listen: { agents: { ...agents }, api: { ...api } },
    tls: { renewBeforeMs, leafValidityMs, hostnames, collector: collectorFiles, api: apiFiles, fileCheckIntervalMs },
    limits: l,
    store: { retentionMs, commitIntervalMs, remoteWrite },
    api: { allowCidrs, accessTokenTtlMs, maxQueryRangeMs, maxQueryPoints, maxConcurrentQueries },
    log: { level },
    alerting,
    dashboard,
  });
}

function defaultsFor(file: string | null): CollectorConfig {
  const d = DEFAULT_COLLECTOR_CONFIG;
  return deepFreeze({
    file,
    dataDir: d.dataDir,
    listen: { agents: { ...d.listen.agents }, api: { ...d.listen.api } },
    tls: { ...d.tls, hostnames: [...d.tls.hostnames] },
    limits: { ...d.limits },
    store: { ...d.store, remoteWrite: [] },
    api: { ...d.api, allowCidrs: [...d.api.allowCidrs] },
    log: { ...d.log },
    alerting: { ...d.alerting },
    dashboard: { ...d.dashboard },
  });
}

/** A `cert_file` + `key_file` pair (both or neither); null when neither is given. */
function certificateFiles(r: ConfigReader, file: string): CertificateFiles | null {
  const nonEmptyPath = (v: string): string | null => (v.trim() === '' ? 'a file path' : null);
  const certFile = r.string('cert_file', { check: nonEmptyPath });
  const keyFile = r.string('key_file', { check: nonEmptyPath });
  if (r.has('cert_file') !== r.has('key_file')) {
    if (r.has('cert_file')) r.reportMissing('key_file', 'required with cert_file (both or neither)');
    else r.reportMissing('cert_file', 'required with key_file (both or neither)');
  }
  if (certFile === undefined || keyFile === undefined) return null;
  return { certFile: resolveRelativeTo(file, certFile), keyFile: resolveRelativeTo(file, keyFile) };
}

/** `store.remote_write` entries; issues go to the readers (thrown with the rest of the file's). */
function parseRemoteWrite(readers: readonly ConfigReader[], file: string, dataDir: string): RemoteWriteConfig[] {
  const d = REMOTE_WRITE_DEFAULTS;
  const pkiDir = path.join(dataDir, 'pki');
  const names = new Set<string>();
  const out: RemoteWriteConfig[] = [];
  readers.forEach((r, i) => {
    const explicitName = r.string('name', { check: (v) => (STORE_NAME.test(v) ? null : 'a store name of 1 to 32 characters a-z, 0-9, _ or -') });
    const name = explicitName ?? `store${i + 1}`;
    if (names.has(name)) r.report(r.has('name') ? 'name' : 'url', `store name ${JSON.stringify(name)} is already used by an earlier entry`);
    names.add(name);
    const url = r.string('url', { required: true, check: checkRemoteWriteUrl, secret: urlMayHoldSecret });
    const nonEmptyPath = (v: string): string | null => (v.trim() === '' ? 'a file path' : null);
    const caFile = r.string('ca_file', { check: nonEmptyPath });
    const certFile = r.string('cert_file', { check: nonEmptyPath });
    const keyFile = r.string('key_file', { check: nonEmptyPath });
    if (r.has('cert_file') !== r.has('key_file')) {
      if (r.has('cert_file')) r.reportMissing('key_file', 'required with cert_file (both or neither)');
      else r.reportMissing('cert_file', 'required with key_file (both or neither)');
    }
    const maxBytes = r.size('max_bytes', { min: MIB, max: 1024 ** 4 }) ?? d.maxBytes;
    const shards = r.integer('shards', { min: 1, max: 32 }) ?? d.shards;
    const maxSamplesPerRequest = r.integer('max_samples_per_request', { min: 1, max: 100_000 }) ?? d.maxSamplesPerRequest;
    const timeoutMs = r.duration('timeout', { min: SECOND, max: 5 * MINUTE }) ?? d.timeoutMs;
    const encodeInWorker = r.boolean('encode_in_worker') ?? d.encodeInWorker;
    if (url === undefined) return;
    const managed = certFile === undefined || keyFile === undefined;
    out.push({
      name,
      url,
      caFile: caFile === undefined ? path.join(pkiDir, 'ca.pem') : resolveRelativeTo(file, caFile),
      certFile: managed ? path.join(pkiDir, 'store-client.pem') : resolveRelativeTo(file, certFile),
      keyFile: managed ? path.join(pkiDir, 'store-client-key.pem') : resolveRelativeTo(file, keyFile),
      managedClientCert: managed,
      maxBytes,
      shards,
      maxSamplesPerRequest,
      timeoutMs,
      encodeInWorker,
    });
  });
  return out;
}
