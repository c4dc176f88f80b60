/**
 * Runs Debian's real Prometheus for the remote-write tests: a loopback port of its own, storage in
 * a temporary directory, the remote-write receiver on, and a web config that accepts TLS 1.3 only
 * from a client holding a certificate of the collector's CA (`<data_dir>/pki/ca.pem`, the CA the
 * collector verifies the store against by default). Out-of-order ingestion stays off (the
 * default), so a sample sent out of order shows as a 400.
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { PeerProcess, binaryOnPath, skipWithoutPackage, type SkipOrFail, type Teardown } from './debian-peer';
import { freePort } from './system';
import { CertificateAuthority, type CertificateAndKey } from '../../packages/collector/src/pki/certificate-authority';


/** The Prometheus binary on PATH (Debian's package `prometheus` puts it in /usr/bin), or null. */
export function prometheusBinary(): string | null {
  return binaryOnPath('prometheus');
}

/**
 * What tests pass as `{ skip }`: false when Prometheus is installed, otherwise a message naming the
 * Debian package. Under CI=true a missing binary is also a failure, so CI never skips silently.
 */
export function skipWithoutPrometheus(t: SkipOrFail): string | false {
  return skipWithoutPackage(t, 'prometheus', 'prometheus');
}

/** Certificate, key and CA file paths of one TLS identity. */
export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** The PEMs as Node's TLS options want them. */
export interface TlsPair {
  ca: string;
  cert: string;
  key: string;
}

function writePair(dir: string, name: string, caPem: string, pair: CertificateAndKey): TlsFiles {
  fs.mkdirSync(dir, { recursive: true });
  const files = {
    caFile: path.join(dir, `${name}-ca.pem`),
    certFile: path.join(dir, `${name}.pem`),
    keyFile: path.join(dir, `${name}-key.pem`),
  };
  fs.writeFileSync(files.caFile, caPem);
  fs.writeFileSync(files.certFile, pair.certPem);
  fs.writeFileSync(files.keyFile, pair.keyPem, { mode: 0o600 });
  return files;
}

export function readPair(files: TlsFiles): TlsPair {
  return { ca: fs.readFileSync(files.caFile, 'utf8'), cert: fs.readFileSync(files.certFile, 'utf8'), key: fs.readFileSync(files.keyFile, 'utf8') };
}

const LOOPBACK_SANS = [
  { type: 'ip', value: '127.0.0.1' },
  { type: 'dns', value: 'localhost' },
] as const;

/** The collector's CA, loaded from `<data_dir>/pki` (after init). */
export function collectorCa(collectorDataDir: string): CertificateAuthority {
  const pki = path.join(collectorDataDir, 'pki');
  return CertificateAuthority.fromPem(fs.readFileSync(path.join(pki, 'ca.pem'), 'utf8'), fs.readFileSync(path.join(pki, 'ca-key.pem'), 'utf8'));
}

/** A client certificate from the collector's CA, written under `dir` (Prometheus accepts it). */
export function issueClientPair(collectorDataDir: string, dir: string, name = 'client'): TlsFiles {
  const ca = collectorCa(collectorDataDir);
  return writePair(dir, name, ca.certPem, ca.issue({ commonName: name, usage: 'client', sans: [{ type: 'dns', value: name }] }));
}

/**
 * A CA that has nothing to do with the collector's, and a client certificate from it (CA file
 * included): what Prometheus must refuse.
 */
export function foreignClientPair(dir: string, name = 'foreign-client'): TlsFiles {
  const ca = CertificateAuthority.create({ commonName: 'Some other CA' });
  return writePair(dir, name, ca.certPem, ca.issue({ commonName: name, usage: 'client', sans: [{ type: 'dns', value: name }] }));
}

export interface HttpsAnswer {
  status: number;
  body: string;
}

export interface RequestOptions {
  method?: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
  /** The client identity; omit cert/key to connect without a client certificate. */
  tls: Partial<TlsPair> & { ca: string };
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  timeoutMs?: number;
}

/** One HTTPS request on a fresh connection (no agent), answering status and body. */
export function httpsRequest(url: string, o: RequestOptions): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: o.method ?? 'GET',
        headers: o.headers,
        agent: false,
        ca: o.tls.ca,
        cert: o.tls.cert,
        key: o.tls.key,
        minVersion: o.minVersion ?? 'TLSv1.3',
        maxVersion: o.maxVersion,
        timeout: o.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface MatrixSeries {
  metric: Record<string, string>;
  values: [number, string][];
}


/** The sum of every line of metric `name` whose labels include `labels` in a Prometheus text exposition. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name} `))) continue;
    const labelText = line.startsWith(`${name}{`) ? line.slice(name.length + 1, line.lastIndexOf('}')) : '';
    if (!Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}


export interface StartPrometheusOptions {
  /** The collector's data_dir after init: its `pki/ca.pem` issues the server and client certificates. */
  collectorDataDir: string;
  /** Start it at once (default true); otherwise call start(). */
  start?: boolean;
  extraArgs?: string[];
}

/** A real Prometheus for one test; stopped (and its directory removed) by the test's teardown. */
export class TestPrometheus {
  readonly dir: string;
  readonly storageDir: string;
  /** The test's own query client: a certificate of the collector's CA. */
  readonly client: TlsPair;
  readonly clientFiles: TlsFiles;
  /** CA file that verifies Prometheus' server certificate (the collector's ca.pem). */
  readonly caFile: string;
  private readonly process: PeerProcess;

  constructor(private readonly options: StartPrometheusOptions) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-prometheus-'));
    this.storageDir = path.join(this.dir, 'tsdb');
    const ca = collectorCa(options.collectorDataDir);
    const tlsDir = path.join(this.dir, 'tls');
    const server = writePair(tlsDir, 'server', ca.certPem, ca.issue({ commonName: '127.0.0.1', usage: 'server', sans: [...LOOPBACK_SANS] }));
    this.caFile = server.caFile;
    this.clientFiles = writePair(tlsDir, 'query-client', ca.certPem, ca.issue({ commonName: 'query-client', usage: 'client', sans: [{ type: 'dns', value: 'query-client' }] }));
    this.client = readPair(this.clientFiles);
    fs.writeFileSync(
      path.join(this.dir, 'web.yml'),
      [
        'tls_server_config:',
        `  cert_file: ${server.certFile}`,
        `  key_file: ${server.keyFile}`,
        '  client_auth_type: RequireAndVerifyClientCert',
        `  client_ca_file: ${server.caFile}`,
        '  min_version: TLS13',
        '',
      ].join('\n'),
    );
    // Nothing to scrape: the only samples are those the collector writes.
    fs.writeFileSync(path.join(this.dir, 'prometheus.yml'), ['global:', '  scrape_interval: 1m', '  evaluation_interval: 1m', 'scrape_configs: []', ''].join('\n'));
    this.process = new PeerProcess({
      name: 'prometheus',
      binary: prometheusBinary() ?? 'prometheus',
      cwd: this.dir,
      args: (port) => [
        `--config.file=${path.join(this.dir, 'prometheus.yml')}`,
        `--web.config.file=${path.join(this.dir, 'web.yml')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--storage.tsdb.path=${this.storageDir}`,
        '--web.enable-remote-write-receiver',
        ...(options.extraArgs ?? []),
      ],
      ready: async (port) => (await httpsRequest(`https://127.0.0.1:${port}/-/ready`, { tls: this.client, timeoutMs: 2000 })).status === 200,
      // Prometheus closes its TSDB cleanly on SIGTERM; give it time.
      stopTimeoutMs: 30_000,
    });
  }

  get port(): number {
    return this.process.port;
  }

  get baseUrl(): string {
    return `https://127.0.0.1:${this.process.port}`;
  }

  /** Where the collector remote-writes. */
  get writeUrl(): string {
    return `${this.baseUrl}/api/v1/write`;
  }

  get running(): boolean {
    return this.process.running;
  }

  /** Prometheus' own log (the last 64 KiB), for failure messages. */
  logs(): string {
    return this.process.logs();
  }

  /**
   * Starts Prometheus and waits for `/-/ready`. The first start picks a free port (retrying on a
   * clash); later starts reuse it, since the collector's configuration names it.
   */
  async start(): Promise<void> {
    if (prometheusBinary() === null) throw new Error("prometheus is not installed (Debian's package `prometheus`)");
    await this.process.start(freePort);
  }

  /** SIGTERM and wait (Prometheus closes its TSDB cleanly); SIGKILL after 30 s. */
  stop(): Promise<void> {
    return this.process.stop();
  }

  /** SIGKILL and wait: the store vanishes mid-request. */
  kill(): Promise<void> {
    return this.process.kill();
  }

  /** Stop, then start again on the same port and storage. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** A GET to the HTTP API with the test's client certificate; throws unless status is "success". */
  async api<T>(pathAndQuery: string): Promise<T> {
    const res = await httpsRequest(`${this.baseUrl}${pathAndQuery}`, { tls: this.client });
    let parsed: { status?: string; data?: T; error?: string };
    try {
      parsed = JSON.parse(res.body);
    } catch {
      throw new Error(`prometheus answered ${res.status}: ${res.body.slice(0, 200)}`);
    }
    if (res.status !== 200 || parsed.status !== 'success') throw new Error(`prometheus answered ${res.status}: ${parsed.error ?? res.body.slice(0, 200)}`);
    return parsed.data as T;
  }

  /** An instant query (at `timeSeconds`, default now): the vector's samples. */
  async query(promql: string, timeSeconds?: number): Promise<VectorSample[]> {
    const params = new URLSearchParams({ query: promql });
    if (timeSeconds !== undefined) params.set('time', String(timeSeconds));
    const data = await this.api<{ resultType: string; result: VectorSample[] }>(`/api/v1/query?${params.toString()}`);
    if (data.resultType !== 'vector') throw new Error(`expected a vector, got ${data.resultType}`);
    return data.result;
  }

  /** A range query: each series' points. */
  async queryRange(promql: string, startSeconds: number, endSeconds: number, stepSeconds: number): Promise<MatrixSeries[]> {
    const params = new URLSearchParams({ query: promql, start: String(startSeconds), end: String(endSeconds), step: String(stepSeconds) });
    const data = await this.api<{ resultType: string; result: MatrixSeries[] }>(`/api/v1/query_range?${params.toString()}`);
    return data.result;
  }

  /** Every raw sample of the series a selector matches within the last `window` (e.g. "1h"). */
  async rawSamples(selector: string, window = '1h'): Promise<MatrixSeries[]> {
    const params = new URLSearchParams({ query: `${selector}[${window}]` });
    const data = await this.api<{ resultType: string; result: MatrixSeries[] }>(`/api/v1/query?${params.toString()}`);
    if (data.resultType !== 'matrix') throw new Error(`expected a matrix, got ${data.resultType}`);
    return data.result;
  }

  /** The sum of Prometheus' own metric `name` over the lines that carry `labels` (from its /metrics). */
  async ownMetric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const res = await httpsRequest(`${this.baseUrl}/metrics`, { tls: this.client });
    return metricSum(res.body, name, labels);
  }

  /** Stops it if running and removes its directory. */
  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A Prometheus for this test, trusting the collector's CA, running (unless `start: false`) and
 * stopped by the test's teardown whatever happens.
 */
export async function startPrometheus(t: Teardown, options: StartPrometheusOptions): Promise<TestPrometheus> {
  const prometheus = new TestPrometheus(options);
  t.teardown(() => prometheus.dispose());
  if (options.start !== false) await prometheus.start();
  return prometheus;
}
