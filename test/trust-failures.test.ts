/**
 * The agent and the CLI name each kind of trust failure (unknown CA, wrong host name, expired
 * certificate, a certificate for another component, a server below TLS 1.3) with what to check.
 */
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { CertificateAuthority } from '../packages/collector/src/pki/certificate-authority';
import type { SubjectAltName } from '../packages/collector/src/pki/subject-alt-names';
import { runCli, startAgent, startCollector, tempDir, waitFor } from './helpers/system';

const DAY_MS = 86_400_000;
const LOOPBACK: SubjectAltName[] = [
  { type: 'dns', value: 'localhost' },
  { type: 'ip', value: '127.0.0.1' },
];
const TOKEN = `ximp_trust0000000_${'s'.repeat(52)}`;

const ca = CertificateAuthority.create({ commonName: 'XIMP CA (trust test)' });

interface Served {
  url(scheme: 'wss' | 'https'): string;
  caFile: string;
  handshakes(): number;
}

/** An HTTPS server on loopback serving `cert`; counts requests that got past the handshake and hangs up on them. */
async function serve(
  t: Test,
  pair: { certPem: string; keyPem: string },
  trusted: CertificateAuthority = ca,
  tlsVersions: { minVersion: 'TLSv1.2' | 'TLSv1.3'; maxVersion: 'TLSv1.2' | 'TLSv1.3' } = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' },
): Promise<Served> {
  let requests = 0;
  const server = https.createServer({ cert: pair.certPem, key: pair.keyPem, ...tlsVersions }, (req) => {
    requests++;
    // Hang up without an answer: the agent then retries at its normal pace, not the slow one.
    req.socket.destroy();
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.unref();
  const dir = tempDir(t, 'ximp-trust-');
  const caFile = path.join(dir, 'ca.crt');
  fs.writeFileSync(caFile, trusted.certPem);
  const { port } = server.address() as AddressInfo;
  return {
    url: (scheme) => (scheme === 'wss' ? `wss://127.0.0.1:${port}/v1/agent` : `https://127.0.0.1:${port}`),
    caFile,
    handshakes: () => requests,
  };
}

/** Runs `ximp agent list` against `server` trusting `caFile`. */
async function cli(t: Test, server: string, caFile: string): Promise<{ code: number; stderr: string }> {
  const dir = tempDir(t, 'ximp-trust-cli-');
  const file = path.join(dir, 'cli.yaml');
  fs.writeFileSync(file, `server: ${server}\nca_file: ${caFile}\nclient_id: admin\nclient_secret: not-a-real-secret\n`, { mode: 0o600 });
  return runCli(file, ['agent', 'list']);
}

async function agentLine(t: Test, url: string, caFile: string, pattern: RegExp): Promise<string> {
  const a = await startAgent(t, { url, token: TOKEN, caFile, node: 'trust-node', intervalMs: 200 });
  const line = await waitFor(`a log line matching ${pattern}`, () => a.logs.find((l) => pattern.test(l)), 10_000).catch((err: Error) => {
    throw new Error(`${err.message}; agent log: ${a.logs.join(" | ")}`);
  });
  await a.stop();
  return line;
}

t.test('an agent refuses the api certificate presented on the agent port, naming it', async (t) => {
  const c = await startCollector(t);
  // The API listener serves the `api` certificate from the same CA, valid for 127.0.0.1.
  const url = `wss://127.0.0.1:${c.apiPort}/v1/agent`;
  const line = await agentLine(t, url, c.caFile, /component api/);
  t.match(line, /the collector presented a certificate for component api, not collector: check that server\.url in agent\.yaml points at the agent port/);
  t.match(line, /XIMP_ERR_TLS_UNTRUSTED/);
  t.notOk(c.logs.some((l) => l.includes('agent connected')), 'no session was established');
});

t.test('the CLI pointed at the agent port refuses the collector certificate, naming it', async (t) => {
  const c = await startCollector(t);
  const res = await cli(t, `https://127.0.0.1:${c.collector.agentAddress().port}`, c.caFile);
  t.equal(res.code, 1);
  t.match(res.stderr, /presented a certificate for component collector, not api: check that the server URL .* points at the API port, not the agent port/);
  t.match(res.stderr, /cannot trust https:\/\/127\.0\.0\.1:\d+/);
});

t.test('an agent and the CLI name an unknown CA', async (t) => {
  const other = CertificateAuthority.create({ commonName: 'some other CA' });
  const s = await serve(t, other.issue({ commonName: 'collector (x)', sans: LOOPBACK, usage: 'server' }));
  const line = await agentLine(t, s.url('wss'), s.caFile, /not signed by a CA/);
  t.match(line, /check server\.ca_file in agent\.yaml holds the collector's CA/);
  const res = await cli(t, s.url('https'), s.caFile);
  t.equal(res.code, 1);
  t.match(res.stderr, /not signed by a CA this side trusts \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): check ca_file/);
  t.equal(s.handshakes(), 0, 'nothing was sent to the untrusted server');
});

t.test('an agent and the CLI name a wrong host name with the certificate SANs', async (t) => {
  const s = await serve(t, ca.issue({ commonName: 'collector (elsewhere)', sans: [{ type: 'dns', value: 'mon.example.net' }], usage: 'server' }));
  const line = await agentLine(t, s.url('wss'), s.caFile, /does not name host/);
  t.match(line, /does not name host 127\.0\.0\.1 \(its SANs: DNS:mon\.example\.net\): check the host in server\.url in agent\.yaml/);
  const res = await cli(t, s.url('https'), s.caFile);
  t.equal(res.code, 1);
  t.match(res.stderr, /does not name host 127\.0\.0\.1 \(its SANs: DNS:mon\.example\.net\): check the host in the server URL/);
});

t.test('an agent and the CLI name an expired certificate with its NOT-AFTER', async (t) => {
  const issuedAt = Date.now() - 400 * DAY_MS;
  const pair = ca.issue({ commonName: 'collector (x)', sans: LOOPBACK, usage: 'server', now: issuedAt, validityDays: 30 });
  const notAfter = new Date(issuedAt + 30 * DAY_MS).toISOString().slice(0, 16); // to the minute
  const s = await serve(t, pair);
  const line = await agentLine(t, s.url('wss'), s.caFile, /has expired/);
  t.match(line, new RegExp(`has expired \\(NOT-AFTER ${notAfter}`));
  t.match(line, /check ximp tls status/);
  const res = await cli(t, s.url('https'), s.caFile);
  t.equal(res.code, 1);
  t.match(res.stderr, new RegExp(`has expired \\(NOT-AFTER ${notAfter}`));
});

t.test('an agent and the CLI refuse a server that offers only TLS 1.2', async (t) => {
  const s = await serve(t, ca.issue({ commonName: 'collector (x)', sans: LOOPBACK, usage: 'server' }), ca, {
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
  });
  const line = await agentLine(t, s.url('wss'), s.caFile, /below 1\.3/);
  t.match(line, /the collector offers only a TLS version below 1\.3 \(alert protocol version\): check that server\.url in agent\.yaml points at a XIMP collector/);
  const res = await cli(t, s.url('https'), s.caFile);
  t.equal(res.code, 1);
  t.match(res.stderr, /offers only a TLS version below 1\.3/);
  t.equal(s.handshakes(), 0);
});

t.test('a collector certificate without any component marker is accepted, with one warning', async (t) => {
  // Issued the way certificates were before markers existed: no OU=ximp-component=... at all.
  const s = await serve(t, ca.issue({ commonName: 'localhost', sans: LOOPBACK, usage: 'server' }));
  const a = await startAgent(t, { url: s.url('wss'), token: TOKEN, caFile: s.caFile, node: 'trust-node', intervalMs: 200 });
  // The handshake succeeds: the server sees the upgrade request of each attempt.
  await waitFor('two upgrade requests past the handshake', () => s.handshakes() >= 2, 15_000);
  await a.stop();
  const warnings = a.logs.filter((l) => l.includes('without a component marker'));
  t.equal(warnings.length, 1, 'warned once, not per connection');
  t.match(warnings[0], /accepted for now: renew it \(ximp tls renew --component collector\)/);
  t.notOk(a.logs.some((l) => l.includes('XIMP_ERR_TLS_UNTRUSTED')), 'no trust failure');
});
