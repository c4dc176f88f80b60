'use strict';
/**
 * The pieces `npm run bench` needs for its end-to-end figure: Debian's Prometheus on a loopback
 * port with the same mTLS rules as the tests (TLS 1.3, a client certificate of the collector's
 * CA; see test/helpers/prometheus.ts, which the tests use), and readers of the collector's
 * /metrics and Prometheus' own counters.
 */
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const { CertificateAuthority } = require(path.join(root, 'packages/collector/dist/pki/certificate-authority.js'));

function prometheusBinary() {
  const found = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
  return found.status === 0 && found.stdout.trim() ? found.stdout.trim() : null;
}

/** One GET or POST over a fresh TLS 1.3 connection. */
function request(url, { method = 'GET', headers = {}, body, tls }) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, agent: false, minVersion: 'TLSv1.3', timeout: 10_000, ...tls }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Sum of a metric's lines whose labels include `labels`, from a text exposition. */
function metricSum(text, name, labels = {}) {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name} `))) continue;
    const labelText = line.startsWith(`${name}{`) ? line.slice(name.length + 1, line.lastIndexOf('}')) : '';
    if (!Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Starts Prometheus (remote-write receiver, mTLS) on `port` with its files under `dir`; waits for /-/ready. */
async function startPrometheus(dir, collectorDataDir, port) {
  const bin = prometheusBinary();
  if (bin === null) throw new Error("prometheus is not installed: install Debian's package `prometheus`");
  const pki = path.join(collectorDataDir, 'pki');
  const ca = CertificateAuthority.fromPem(fs.readFileSync(path.join(pki, 'ca.pem'), 'utf8'), fs.readFileSync(path.join(pki, 'ca-key.pem'), 'utf8'));
  fs.mkdirSync(dir, { recursive: true });
  const server = ca.issue({ commonName: '127.0.0.1', usage: 'server', sans: [{ type: 'ip', value: '127.0.0.1' }] });
  const client = ca.issue({ commonName: 'bench-query', usage: 'client', sans: [{ type: 'dns', value: 'bench-query' }] });
  const file = (name, text) => {
    fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
    return path.join(dir, name);
  };
  const web = file(
    'web.yml',
    ['tls_server_config:', `  cert_file: ${file('server.pem', server.certPem)}`, `  key_file: ${file('server-key.pem', server.keyPem)}`,
      '  client_auth_type: RequireAndVerifyClientCert', `  client_ca_file: ${path.join(pki, 'ca.pem')}`, '  min_version: TLS13', ''].join('\n'),
  );
  const config = file('prometheus.yml', 'global:\n  scrape_interval: 1m\nscrape_configs: []\n');
  const child = spawn(
    bin,
    [`--config.file=${config}`, `--web.config.file=${web}`, `--web.listen-address=127.0.0.1:${port}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`, '--web.enable-remote-write-receiver'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (c) => (log = (log + c.toString()).slice(-8000)));
  const kill = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
  process.on('exit', kill);
  const tls = { ca: ca.certPem, cert: client.certPem, key: client.keyPem };
  const base = `https://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited:\n${log}`);
    const ready = await request(`${base}/-/ready`, { tls }).catch(() => null);
    if (ready && ready.status === 200) break;
    if (Date.now() > deadline) {
      kill();
      throw new Error(`prometheus not ready within 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid,
    writeUrl: `${base}/api/v1/write`,
    /** Prometheus' own counter of samples appended to its head (here: only what the collector wrote). */
    async samplesAppended() {
      const res = await request(`${base}/metrics`, { tls });
      return metricSum(res.body, 'prometheus_tsdb_head_samples_appended_total');
    },
    async writes400() {
      const res = await request(`${base}/metrics`, { tls });
      return metricSum(res.body, 'prometheus_http_requests_total', { code: '400', handler: '/api/v1/write' });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      process.removeListener('exit', kill);
    },
  };
}

/** A reader of the collector's /metrics as the admin client that init wrote into `cli.yaml`. */
function collectorMetricsReader(cliConfigFile, apiPort, caPem) {
  const cli = fs.readFileSync(cliConfigFile, 'utf8');
  const id = /client_id: "?([^"\n]+)/.exec(cli)[1];
  const secret = /client_secret: "?([^"\n]+)/.exec(cli)[1];
  const tls = { ca: caPem, servername: 'localhost' };
  const base = `https://127.0.0.1:${apiPort}`;
  let token = null;
  return async () => {
    if (token === null) {
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }).toString();
      const grant = await request(`${base}/api/v1/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form, tls });
      token = JSON.parse(grant.body).access_token;
    }
    const res = await request(`${base}/metrics`, { headers: { Authorization: `Bearer ${token}` }, tls });
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
    return res.body;
  };
}

module.exports = { prometheusBinary, startPrometheus, collectorMetricsReader, metricSum };
