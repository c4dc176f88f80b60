/**
 * A CA switch that cannot write `pki/` (read-only) changes nothing: every file is the old one, both
 * listeners serve their old certificates, `ximp tls status` shows the reason on the `ca` row, and
 * the same step succeeds once the folder is writable again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import t from 'tap';
import { metricSum } from './helpers/prometheus';
import { mountReadOnly, skipWithoutReadOnlyBind } from './helpers/read-only-bind';
import { collectorMetrics } from './helpers/remote-write-e2e';
import { runCli, startCollector } from './helpers/system';

const skip = skipWithoutReadOnlyBind();

function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: 'TLSv1.3' }, () => {
      resolve(socket.getPeerX509Certificate()!.serialNumber);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) out[name] = fs.readFileSync(path.join(dir, name), 'utf8');
  return out;
}

t.test('a switch that cannot write pki/ keeps every old file and certificate; it succeeds once pki/ is writable', { skip }, async (t) => {
  const c = await startCollector(t);
  const pkiDir = path.join(c.dataDir, 'pki');
  const roll = (step: string): ReturnType<typeof runCli> => runCli(c.cliConfig, ['tls', 'renew', '--component', 'ca', '--step', step, '--output', 'json']);
  const bundle = await roll('bundle');
  t.equal(bundle.code, 0, bundle.stderr);
  const trust = fs.readFileSync(path.join(pkiDir, 'ca-bundle.pem'), 'utf8');
  const agentPort = c.collector.agentAddress().port;
  const served = async (): Promise<{ agents: string; api: string }> => ({ agents: await servedSerial(agentPort, trust), api: await servedSerial(c.apiPort, trust) });
  const before = { files: snapshot(pkiDir), served: await served() };

  const unmount = mountReadOnly(t, pkiDir);
  const failed = await roll('switch');
  t.equal(failed.code, 1, 'a failed step exits 1');
  t.match(failed.stderr, /HTTP 500 .*CA roll step switch failed: .*read-only file system.*the old CA and every old certificate are kept/i);
  t.same(snapshot(pkiDir), before.files, 'every file is the old one');
  t.same(await served(), before.served, 'both listeners serve the old certificates');
  const status = await runCli(c.cliConfig, ['tls', 'status', '--output', 'json']);
  const rows = JSON.parse(status.stdout) as { component: string; status: string }[];
  t.same(rows.map((r) => [r.component, r.status]), [['ca', 'error'], ['ca-next', 'ok'], ['collector', 'ok'], ['api', 'ok'], ['store-client', 'ok']]);
  t.match(status.stderr, /error: ca: CA roll step switch failed: .*read-only file system/i, 'the reason under the table');
  t.ok(c.logs.some((l) => l.includes('CA roll step failed') && l.includes('XIMP_ERR_PKI_RENEW_FAILED')), 'logged with its code');
  t.equal(metricSum(await collectorMetrics(c), 'ximp_tls_renewal_failures_total', { component: 'ca' }), 1, 'counted');
  // Repeating the step that is done needs no write: it still answers.
  const again = await roll('bundle');
  t.equal(again.code, 0, again.stderr);
  t.equal((JSON.parse(again.stdout) as { changed: boolean }).changed, false);

  unmount();
  const switched = await roll('switch');
  t.equal(switched.code, 0, switched.stderr);
  const after = await served();
  t.not(after.agents, before.served.agents, 'the agent listener serves a certificate of the new CA');
  t.not(after.api, before.served.api, 'and so does the API listener');
  const ok = JSON.parse((await runCli(c.cliConfig, ['tls', 'status', '--output', 'json'])).stdout) as { component: string; status: string }[];
  t.same(ok.map((r) => [r.component, r.status]), [['ca', 'ok'], ['ca-old', 'ok'], ['collector', 'ok'], ['api', 'ok'], ['store-client', 'ok']], 'the error is gone');
});
