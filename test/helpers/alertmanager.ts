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
import { spawn, type ChildProcess } from 'node:child_process';
import { PEER_LOG_KEEP, binaryOnPath, killOnExit, skipWithoutPackage, type SkipOrFail, type Teardown } from './debian-peer';
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
  private child: ChildProcess | null = null;
  private output = '';
  private portNumber = 0;

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
  }

  get baseUrl(): string {
    return `https://127.0.0.1:${this.portNumber}`;
  }

  /** Alertmanager's own log (the last 64 KiB), for failure messages. */
  logs(): string {
    return this.output;
  }

  /** Starts it on a free loopback port (retrying on a clash) and waits for `/-/ready`. */
  async start(): Promise<void> {
    if (this.child) throw new Error('alertmanager is already running');
    const bin = alertmanagerBinary();
    if (bin === null) throw new Error("prometheus-alertmanager is not installed (Debian's package `prometheus-alertmanager`)");
    let lastError: Error | null = null;
    for (let attempt = 0; attempt < 8; attempt++) {
      this.portNumber = await freePort();
      try {
        await this.spawnAndWait(bin);
        return;
      } catch (err) {
        lastError = err as Error;
        await this.stop();
        if (!/address already in use/i.test(this.output)) break;
      }
    }
    throw new Error(`alertmanager did not start: ${lastError?.message}\n${this.output.slice(-4000)}`);
  }

  private async spawnAndWait(bin: string): Promise<void> {
    this.output = '';
    const child = spawn(
      bin,
      [
        `--config.file=${path.join(this.dir, 'alertmanager.yml')}`,
        `--web.config.file=${path.join(this.dir, 'web.yml')}`,
        `--web.listen-address=127.0.0.1:${this.portNumber}`,
        `--storage.path=${path.join(this.dir, 'data')}`,
        // No gossip: a single instance, nothing listening beyond the API port.
        '--cluster.listen-address=',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.dir },
    );
    killOnExit(child);
    const append = (c: Buffer): void => {
      this.output = (this.output + c.toString('utf8')).slice(-PEER_LOG_KEEP);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    this.child = child;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`alertmanager exited (${child.exitCode ?? child.signalCode}) before it was ready`);
      try {
        const res = await httpsRequest(`${this.baseUrl}/-/ready`, { tls: { ca: this.caPem }, timeoutMs: 2000 });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('alertmanager was not ready within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
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
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    this.child = null;
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
