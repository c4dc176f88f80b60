/**
 * Both listeners refuse TLS 1.2 at the handshake and accept TLS 1.3 (checked with openssl
 * s_client), and take renewed certificates without dropping live connections.
 */
import t from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { PkiStore } from '../packages/collector/src/pki/pki-store';
import { agentList, createToken, startAgent, startCollector, waitFor } from './helpers/system';

/** Runs openssl in a child process: the collector under test lives in this one and must keep answering. */
function sClient(port: number, caFile: string, version: '-tls1_2' | '-tls1_3'): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, version, '-CAfile', caFile, '-servername', 'localhost', '-brief'],
      { timeout: 10_000 },
      (err, stdout, stderr) => {
        const out = `${stdout}${stderr}`;
        resolve({ ok: !err && /Protocol version: TLSv1\.3/.test(out), out });
      },
    );
    child.stdin?.end();
  });
}

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

t.test('openssl s_client -tls1_2 is refused by both listeners', { skip: hasOpenssl ? false : 'openssl is not installed' }, async (t) => {
  const c = await startCollector(t);
  const ports = { agents: c.collector.agentAddress().port, api: c.apiPort };
  for (const [name, port] of Object.entries(ports)) {
    const tls12 = await sClient(port, c.caFile, '-tls1_2');
    t.notOk(tls12.ok, `${name} listener refuses TLS 1.2`);
    t.match(tls12.out, /alert|error|no protocols available|unsupported protocol/i, `${name}: the handshake fails`);
    const tls13 = await sClient(port, c.caFile, '-tls1_3');
    t.ok(tls13.ok, `${name} listener accepts TLS 1.3 with the managed certificate`);
  }
});

/** The certificate a fresh TLS 1.3 connection to `port` is served. */
function servedSerial(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: 'TLSv1.3' }, () => {
      resolve(socket.getPeerX509Certificate()!.serialNumber);
      socket.end();
    });
    socket.on('error', reject);
  });
}

t.test('reloading certificates (SIGHUP) swaps them without dropping a live agent', async (t) => {
  const c = await startCollector(t);
  const ca = fs.readFileSync(c.caFile);
  const node = 'steady-node';
  const { token } = await createToken(c.cliConfig, node);
  const a = await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node, intervalMs: 200 });
  await waitFor('ACTIVE', async () => (await agentList(c.cliConfig)).find((x) => x.node === node && x.state === 'ACTIVE'));
  const agentPort = c.collector.agentAddress().port;
  const before = { agents: await servedSerial(agentPort, ca), api: await servedSerial(c.apiPort, ca) };

  const pki = new PkiStore(c.dataDir);
  pki.issue('collector');
  pki.issue('api');
  c.collector.reloadCertificates();
  const after = { agents: await servedSerial(agentPort, ca), api: await servedSerial(c.apiPort, ca) };
  t.not(after.agents, before.agents, 'the agent listener serves the new certificate');
  t.not(after.api, before.api, 'the API serves the new certificate');
  t.notOk(a.logs.some((l) => l.includes('disconnected from collector')), 'the live agent session was not dropped');
  t.ok(c.logs.some((l) => l.includes('certificates reloaded')));
});

t.test('the agent refuses a collector its ca_file does not vouch for', async (t) => {
  const real = await startCollector(t);
  const impostor = await startCollector(t);
  const node = 'careful-node';
  const { token } = await createToken(real.cliConfig, node);
  // The impostor listens with certificates of its own CA; the agent trusts only the real CA.
  const a = await startAgent(t, { url: impostor.agentUrl, token, caFile: real.caFile, node, intervalMs: 200 });
  await waitFor('a certificate error', () => a.logs.some((l) => l.includes('collector connection error')), 10_000);
  t.match(a.logs.find((l) => l.includes('collector connection error')) ?? '', /self.signed|unable to verify|certificate/i);
  t.notOk(impostor.logs.some((l) => l.includes('agent connected')), 'no session was established with the impostor');
  t.notOk(impostor.logs.some((l) => l.includes(token.split('_')[2])), 'the impostor never saw the token in a log');
});
