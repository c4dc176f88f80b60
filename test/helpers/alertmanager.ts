/**
 * Runs Debian's real Prometheus Alertmanager (package `prometheus-alertmanager`) for one test: a
 * loopback port of its own, storage in a temporary directory, gossip off, and a web config that
 * serves TLS 1.3 only with a certificate of a CA made for the test (`caFile`, what a channel's
 * `ca_file` names). Every alert is routed to a receiver that sends nothing: the test reads what
 * arrived through Alertmanager's v2 API.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PeerProcess, binaryOnPath, skipWithoutPackage, type SkipOrFail, type Teardown } from './debian-peer';
import { CertificateAuthority } from '../../packages/collector/src/pki/certificate-authority';
import { httpsRequest, metricSum } from './prometheus';
import { freePort } from './system';


/** Debian installs Alertmanager as /usr/bin/prometheus-alertmanager. */
const BINARY = 'prometheus-alertmanager';

export function alertmanagerBinary(): string | null {
  return binaryOnPath(BINARY);
}

/**
 * What tests pass as `{ skip }`: false when Alertmanager is installed, otherwise a message naming
 * the Debian package. Under CI=true a missing binary is also a failure, so CI never skips silently.
 */
export function skipWithoutAlertmanager(t: SkipOrFail): string | false {
  return skipWithoutPackage(t, BINARY, 'prometheus-alertmanager');
}

/** One alert as GET /api/v2/alerts answers it (the fields the tests read). */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
  status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
}



/** A real Alertmanager for one test; stopped (and its directory removed) by the test's teardown. */
export class TestAlertmanager {
  readonly dir: string;
  /** The CA that issued Alertmanager's server certificate: a channel's `ca_file`. */
  readonly caFile: string;
  private readonly caPem: string;
  private readonly process: PeerProcess;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-alertmanager-'));
    const ca = CertificateAuthority.create({ commonName: 'Alertmanager test CA' });
    const server = ca.issue({ commonName: 'localhost', usage: 'server', sans: [{ type: 'ip', value: '127.0.0.1' }, { type: 'dns', value: 'localhost' }] });
    this.caPem = ca.certPem;
    this.caFile = path.join(this.dir, 'ca.pem');
    fs.writeFileSync(this.caFile, ca.certPem);
    fs.writeFileSync(path.join(this.dir, 'server.pem'), server.certPem);
    fs.writeFileSync(path.join(this.dir, 'server-key.pem'), server.keyPem, { mode: 0o600 });
    fs.writeFileSync(
      path.join(this.dir, 'web.yml'),
      ['tls_server_config:', `  cert_file: ${path.join(this.dir, 'server.pem')}`, `  key_file: ${path.join(this.dir, 'server-key.pem')}`, '  min_version: TLS13', ''].join('\n'),
    );
    // One receiver with no integrations: alerts are kept and shown, nothing is sent anywhere.
    fs.writeFileSync(path.join(this.dir, 'alertmanager.yml'), ['route:', '  receiver: keep', 'receivers:', '  - name: keep', ''].join('\n'));
    this.process = new PeerProcess({
      name: 'alertmanager',
      binary: alertmanagerBinary() ?? BINARY,
      cwd: this.dir,
      args: (port) => [
        `--config.file=${path.join(this.dir, 'alertmanager.yml')}`,
        `--web.config.file=${path.join(this.dir, 'web.yml')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--storage.path=${path.join(this.dir, 'data')}`,
        // No gossip: a single instance, nothing listening beyond the API port.
        '--cluster.listen-address=',
      ],
      ready: async (port) => (await httpsRequest(`https://127.0.0.1:${port}/-/ready`, { tls: { ca: this.caPem }, timeoutMs: 2000 })).status === 200,
      stopTimeoutMs: 10_000,
    });
  }

  get baseUrl(): string {
    return `https://127.0.0.1:${this.process.port}`;
  }

  /** Alertmanager's own log (the last 64 KiB), for failure messages. */
  logs(): string {
    return this.process.logs();
  }

  /** Starts it on a free loopback port (retrying on a clash) and waits for `/-/ready`. */
  async start(): Promise<void> {
    if (alertmanagerBinary() === null) throw new Error("prometheus-alertmanager is not installed (Debian's package `prometheus-alertmanager`)");
    await this.process.start(freePort);
  }

  /** A GET over TLS 1.3, verified against the test's CA; throws unless 200. */
  async get(pathAndQuery: string): Promise<string> {
    const res = await httpsRequest(`${this.baseUrl}${pathAndQuery}`, { tls: { ca: this.caPem } });
    if (res.status !== 200) throw new Error(`alertmanager answered ${res.status}: ${res.body.slice(0, 200)}`);
    return res.body;
  }

  /** GET /api/v2/alerts: the alerts it holds that have not ended (Alertmanager leaves out resolved ones). */
  async alerts(): Promise<AlertmanagerAlert[]> {
    return JSON.parse(await this.get('/api/v2/alerts')) as AlertmanagerAlert[];
  }

  /** The sum of Alertmanager's own metric `name` over the lines carrying `labels` (its /metrics). */
  async ownMetric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metricSum(await this.get('/metrics'), name, labels);
  }

  /** SIGTERM and wait; SIGKILL after 10 s. */
  stop(): Promise<void> {
    return this.process.stop();
  }

  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A running Alertmanager for this test, stopped by the test's teardown whatever happens. */
export async function startAlertmanager(t: Teardown): Promise<TestAlertmanager> {
  const am = new TestAlertmanager();
  t.teardown(() => am.dispose());
  await am.start();
  return am;
}
