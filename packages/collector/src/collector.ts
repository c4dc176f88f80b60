import { DEFAULT_LIMITS, ThrottledLog, type Logger } from '@ximp/shared';
import { Alerting } from './alerting/alerting';
import { ApiServer } from './api/api-server';
import { AccessTokenStore } from './auth/access-token-store';
import { AgentTokenStore } from './auth/agent-token-store';
import { ApiClientStore } from './auth/api-client-store';
import { AuditLog } from './audit/audit-log';
import type { CollectorConfig } from './config';
import { AgentServer } from './ingest/agent-server';
import { BackPressure } from './ingest/back-pressure';
import { CollectorMetrics } from './collector-metrics';
import { FaultReporter } from './fault-reporter';
import { checkCertificateFiles } from './pki/certificate-file-check';
import { CertificateManager } from './pki/certificate-manager';
import { PkiStore } from './pki/pki-store';
import type { RenewalSchedule } from './pki/renewal-timer';
import { AgentRegistry } from './registry/agent-registry';
import { DashboardStore } from './dashboards/dashboard-store';
import { AgentRecordStore } from './registry/agent-record-store';
import { openDatabase, type Database } from './store/database';
import { MetricStore, type MetricStoreOptions } from './store/metric-store';
import { SeriesQuery } from './store/series-query';
import { RemoteStores } from './store/remote-write/remote-stores';
import { RetentionSetting } from './store/retention-setting';
import { RetentionTimer } from './store/retention-timer';
import { SettingsStore } from './store/settings-store';
import { RelaxedSync } from './store/relaxed-sync';
import { UpSeriesWriter } from './store/up-series-writer';
import { LocalUserStore } from './web/local-user-store';
import { OidcSignIn } from './web/oidc-sign-in';
import { SignInLimiter } from './web/sign-in-limiter';
import { WebSessionStore } from './web/web-session-store';

export interface CollectorDeps {
  log: Logger;
  now?: () => number;
  /** Builds the metric store; tests pass one told to fail. */
  createMetricStore?: (db: Database, options: MetricStoreOptions) => MetricStore;
  /** The certificate manager's clock and renewal timer (default: `now`, hourly); tests move and shorten them. */
  certificates?: { now?: () => number; schedule?: Partial<RenewalSchedule>; random?: () => number };
  /** Retry delays of alert notifications (default 1 s doubling to 5 min, 10 attempts); tests shorten them. */
  alertRetry?: { initialMs?: number; maxMs?: number; attempts?: number };
}

const DEFAULT_TOKEN_EXPIRY_MS = 365 * 24 * 3600 * 1000;

/**
 * The collector process: the embedded database, the agent listener, the agent registry and the
 * admin API, started in dependency order and stopped in reverse (stop accepting, drain, close).
 */
export class Collector {
  private db: Database | undefined;
  private metricStore: MetricStore | undefined;
  private registry: AgentRegistry | undefined;
  private agentServer: AgentServer | undefined;
  private apiServer: ApiServer | undefined;
  private upWriter: UpSeriesWriter | undefined;
  private retention: RetentionTimer | undefined;
  private remote: RemoteStores | undefined;
  private backPressure: BackPressure | undefined;
  private manager: CertificateManager | undefined;
  private alerting: Alerting | undefined;
  private oidc: OidcSignIn | undefined;
  private readonly now: () => number;

  constructor(
    private readonly config: CollectorConfig,
    private readonly deps: CollectorDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  async start(): Promise<void> {
    if (this.db) return;
    const { config, deps } = this;
    const log = deps.log;
    const now = this.now;
    const pki = new PkiStore(config.dataDir);
    // Read the certificates first: without `init` (or usable operator files) there is nothing to
    // serve, and nothing is opened.
    const certNow = deps.certificates?.now ?? now;
    const serverPair = (component: 'collector' | 'api'): { certPem: string; keyPem: string } => {
      const files = config.tls[component];
      if (files === null) return pki.load(component);
      const checked = checkCertificateFiles(files, 'server', certNow());
      return { certPem: checked.cert, keyPem: checked.key };
    };
    const agentTls = serverPair('collector');
    const apiTls = serverPair('api');
    // The client secret and CA files are read now, before anything opens; the provider itself may
    // be down: discovery retries in the background and OIDC is offered once it succeeds.
    if (config.dashboard.oidc !== null) {
      this.oidc = new OidcSignIn({ config: config.dashboard.oidc, log, now });
      await this.oidc.start();
    }

    const db = openDatabase(config.dataDir);
    this.db = db;
    const tokens = new AgentTokenStore(db);
    const clients = new ApiClientStore(db);
    const accessTokens = new AccessTokenStore(db);
    const audit = new AuditLog(db);
    const users = new LocalUserStore(db);
    const webSessions = new WebSessionStore(db, {
      idleTimeoutMs: config.dashboard.sessionIdleTimeoutMs,
      maxAgeMs: config.dashboard.sessionMaxAgeMs,
    });
    const records = new AgentRecordStore(db);
    const settings = new SettingsStore(db);
    const retention = new RetentionSetting(settings, config.store.retentionMs);
    const faults = new FaultReporter({ log, now });
    const refusals = new ThrottledLog({ log, now });
    const queryRefusals = new ThrottledLog({ log, now });
    // Every remote store's queue opens with the database: batches left from before a crash go out first.
    const remote = new RemoteStores({
      configs: config.store.remoteWrite,
      dataDir: config.dataDir,
      log,
      now,
      onRequest: (store, seconds, outcome) => metrics.observeRemoteWrite(store, seconds, outcome),
    });
    this.remote = remote;
    const backPressure = new BackPressure({ targets: remote.targets, log: refusals });
    this.backPressure = backPressure;
    const storeOptions: MetricStoreOptions = {
      forwardTargets: remote.targets,
      commitIntervalMs: config.store.commitIntervalMs,
      seriesLimits: { maxSeriesPerNode: config.limits.maxSeriesPerNode, maxNewSeriesPerMinute: config.limits.maxNewSeriesPerMinute },
      // Series expiry allows for the widest skew ever accepted, not just today's setting.
      maxFutureSkewMs: settings.widestFutureSkewMs(config.limits.maxFutureSkewMs, now()),
      onError: (err, context) => faults.report('store_timer', err, { context }),
      now,
    };
    const metricStore = deps.createMetricStore?.(db, storeOptions) ?? new MetricStore(db, storeOptions);
    this.metricStore = metricStore;
    await metricStore.start();

    // Agent records (connects, disconnects, last seen) restate what agents tell again at their
    // next connection: written relaxed, so 10,000 connecting agents cost no fsync on the event loop each.
    const recordWrites = new RelaxedSync(db);
    const registry = new AgentRegistry({ records, tokens, transaction: (fn) => recordWrites.transaction(fn), log, now });
    this.registry = registry;
    registry.start();

    const limits = {
      maxFrameBytes: config.limits.maxFrameBytes,
      maxSamplesPerBatch: config.limits.maxSamplesPerBatch,
      maxLabelsPerSeries: config.limits.maxLabelsPerSeries,
      maxSeriesPerSession: DEFAULT_LIMITS.maxSeriesPerSession,
      helloTimeoutMs: config.limits.helloTimeoutMs,
      pingIntervalMs: config.limits.pingIntervalMs,
      maxFutureSkewMs: config.limits.maxFutureSkewMs,
    };
    const agentServer = new AgentServer({
      host: config.listen.agents.host,
      port: config.listen.agents.port,
      tls: { cert: agentTls.certPem, key: agentTls.keyPem },
      authFailuresPerMinute: config.limits.authFailuresPerMinute,
      maxSessionsPerToken: config.limits.maxSessionsPerToken,
      upgradesPerTokenPerMinute: config.limits.upgradesPerTokenPerMinute,
      maxUnauthenticatedPerAddress: config.limits.maxUnauthenticatedPerAddress,
      handshakeTimeoutMs: config.limits.handshakeTimeoutMs,
      maxConnections: config.limits.maxAgentConnections,
      tokens,
      faults,
      // Sessions open only after start(), when `metrics` below exists.
      session: { registry, metrics: metricStore, limits, log, now, faults, refusals, backPressure, observeAck: (seconds) => metrics.observeAck(seconds) },
    });
    this.agentServer = agentServer;
    // The one path by which certificates reach the listeners and the store client: renewals
    // (timer, API) and SIGHUP all swap both listeners or neither.
    const certificates = new CertificateManager({
      pki,
      renewBeforeMs: config.tls.renewBeforeMs,
      leafValidityMs: config.tls.leafValidityMs,
      hostnames: config.tls.hostnames,
      targets: {
        collector: (pair) => agentServer.setSecureContext(pair),
        api: (pair) => {
          if (!this.apiServer) throw new Error('the API listener is not running');
          this.apiServer.reload(pair);
        },
        storeClient: () => remote.reloadTls(),
      },
      serving: { collector: { cert: agentTls.certPem, key: agentTls.keyPem }, api: { cert: apiTls.certPem, key: apiTls.keyPem } },
      fromFiles: {
        servers: {
          ...(config.tls.collector ? { collector: config.tls.collector } : {}),
          ...(config.tls.api ? { api: config.tls.api } : {}),
        },
        stores: config.store.remoteWrite
          .filter((store) => !store.managedClientCert)
          .map((store) => ({ name: store.name, files: { certFile: store.certFile, keyFile: store.keyFile }, reload: () => remote.reloadTlsOf(store.name) })),
        intervalMs: config.tls.fileCheckIntervalMs,
      },
      log,
      now: certNow,
      random: deps.certificates?.random,
      schedule: deps.certificates?.schedule,
    });
    this.manager = certificates;
    const metrics = new CollectorMetrics({
      agentServer,
      metricStore,
      registry,
      faults,
      refusals,
      stores: () => remote.stats(),
      certificates: () => certificates.metrics(),
      apiRefusals: (): ReadonlyMap<string, number> => new Map([...apiServer.refusalTotals(), ...queryRefusals.totalsByKey(), ...(this.oidc?.failureTotals() ?? [])]),
    });

    const querySeries = new SeriesQuery(db, {
      maxRangeMs: config.api.maxQueryRangeMs,
      maxPoints: config.api.maxQueryPoints,
      maxConcurrent: config.api.maxConcurrentQueries,
      refusals: queryRefusals,
    });
    const alerting = new Alerting({
      db,
      dataDir: config.dataDir,
      ...config.alerting,
      agents: registry,
      tokens,
      certificates,
      series: querySeries,
      externalUrl: () => `https://${formatAddress(apiServer.address())}`,
      log,
      now,
      onError: (err, context) => faults.report('alerting', err, { context }),
      retry: deps.alertRetry,
    });
    this.alerting = alerting;

    const dashboards = new DashboardStore(db);
    dashboards.ensureBuiltIns(now());
    const apiServer: ApiServer = new ApiServer(
      {
        tokens,
        clients,
        accessTokens,
        audit,
        agents: registry,
        sessions: agentServer,
        retention,
        series: querySeries,
        alerting: alerting.api(),
        dashboards,
        metrics,
        heldBackNodes: () => backPressure.heldNodes(),
        certificates,
        users,
        webSessions,
        signInLimiter: new SignInLimiter(),
        oidc: this.oidc,
        config: {
          accessTokenTtlMs: config.api.accessTokenTtlMs,
          allowCidrs: config.api.allowCidrs,
          defaultTokenExpiryMs: DEFAULT_TOKEN_EXPIRY_MS,
        },
        tls: { cert: apiTls.certPem, key: apiTls.keyPem },
        log,
        now,
      },
      config.listen.api,
      undefined,
      {
        faults,
        authFailuresPerMinute: config.limits.authFailuresPerMinute,
        maxUnauthenticatedPerAddress: config.limits.maxUnauthenticatedPerAddress,
        handshakeTimeoutMs: config.limits.handshakeTimeoutMs,
        maxConnections: config.limits.maxApiConnections,
      },
    );
    this.apiServer = apiServer;

    await remote.start();
    await agentServer.start();
    await apiServer.start();
    certificates.start();
    this.upWriter = new UpSeriesWriter({ registry, metrics: metricStore, log, faults, now });
    this.upWriter.start();
    this.retention = new RetentionTimer({ metrics: metricStore, retentionMs: () => retention.current().ms, log, faults, now });
    this.retention.start();
    alerting.start();
    log.info(
      { agents: formatAddress(agentServer.address()), api: formatAddress(apiServer.address()), data_dir: config.dataDir },
      'collector listening',
    );
  }

  agentAddress(): { host: string; port: number } {
    if (!this.agentServer) throw new Error('collector is not running');
    return this.agentServer.address();
  }

  apiAddress(): { host: string; port: number } {
    if (!this.apiServer) throw new Error('collector is not running');
    return this.apiServer.address();
  }

  /** Alert rules, channels, evaluation and notifications; undefined while the collector is not running. */
  get alerts(): Alerting | undefined {
    return this.alerting;
  }

  /** The certificate manager (status, renewal, reload); undefined while the collector is not running. */
  get certificates(): CertificateManager | undefined {
    return this.manager;
  }

  /**
   * SIGHUP: re-reads the certificates under data_dir/pki and swaps them into both listeners (or,
   * when one does not load, into neither) without dropping a connection, and each remote store's
   * CA and client pair.
   */
  reloadCertificates(): void {
    this.manager?.reload();
  }

  async stop(): Promise<void> {
    this.oidc?.stop();
    this.oidc = undefined;
    await this.alerting?.stop();
    this.manager?.stop();
    this.retention?.stop();
    this.upWriter?.stop();
    await this.agentServer?.stop();
    await this.apiServer?.stop();
    this.registry?.stop();
    await this.metricStore?.stop();
    // After the store's last commit, which may still append to the queues.
    this.backPressure?.stop();
    await this.remote?.stop();
    this.db?.close();
    this.db = this.metricStore = this.registry = this.agentServer = this.apiServer = this.upWriter = this.retention = undefined;
    this.remote = this.backPressure = undefined;
    this.manager = undefined;
    this.alerting = undefined;
  }
}

function formatAddress(a: { host: string; port: number }): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
