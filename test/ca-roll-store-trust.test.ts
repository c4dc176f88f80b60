/**
 * During a CA roll the collector's remote-write client trusts the bundle wherever it trusts the
 * XIMP CA by default (no `ca_file` in the store entry): a store whose server certificate the next
 * CA signed is written to from the `bundle` step on, and stays so across `switch` (when the
 * collector's own client certificate comes from the new CA) and `drop-old`.
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import t from 'tap';
import { uncompress } from 'snappyjs';
import { CertificateAuthority } from '../packages/collector/src/pki/certificate-authority';
import { WriteRequestType } from '../packages/collector/src/store/remote-write/write-request';
import { remoteWriteYaml } from './helpers/remote-write-e2e';
import { createToken, prepareCollector, runCli, startAgent, startPreparedCollector, waitFor, writeCollectorConfig } from './helpers/system';

const LOOPBACK = [{ type: 'ip' as const, value: '127.0.0.1' }];

t.test('the remote-write client trusts the CA bundle while it exists', async (t) => {
  const paths = prepareCollector(t);
  const pkiDir = path.join(paths.dataDir, 'pki');
  // A receiving store with mTLS, as Prometheus is set up: until the roll, a certificate of a CA
  // the collector does not know.
  const stranger = CertificateAuthority.create({ commonName: 'not the XIMP CA' }).issue({ commonName: '127.0.0.1', sans: LOOPBACK, usage: 'server' });
  const received = { requests: 0, series: 0 };
  const store = https.createServer(
    { cert: stranger.certPem, key: stranger.keyPem, ca: fs.readFileSync(paths.caFile), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const decoded = WriteRequestType.toObject(WriteRequestType.decode(uncompress(Buffer.concat(chunks))), { longs: Number }) as { timeseries?: unknown[] };
        received.requests++;
        received.series += decoded.timeseries?.length ?? 0;
        res.writeHead(204).end();
      });
    },
  );
  await new Promise<void>((resolve) => store.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        store.closeAllConnections();
        store.close(() => resolve());
      }),
  );
  const url = `https://127.0.0.1:${(store.address() as AddressInfo).port}/api/v1/write`;
  writeCollectorConfig(paths.configFile, { agents: 0, api: 0 }, remoteWriteYaml(url));
  const c = await startPreparedCollector(t, paths);

  const bundle = await runCli(c.cliConfig, ['tls', 'renew', '--component', 'ca', '--step', 'bundle', '--output', 'json']);
  t.equal(bundle.code, 0, bundle.stderr);
  // The operator gives the store a certificate of the next CA, and the bundle as its client CA.
  const next = CertificateAuthority.fromPem(fs.readFileSync(path.join(pkiDir, 'ca-next.pem'), 'utf8'), fs.readFileSync(path.join(pkiDir, 'ca-next-key.pem'), 'utf8'));
  const storeCert = next.issue({ commonName: '127.0.0.1', sans: LOOPBACK, usage: 'server' });
  store.setSecureContext({ cert: storeCert.certPem, key: storeCert.keyPem, ca: fs.readFileSync(path.join(pkiDir, 'ca-bundle.pem')), minVersion: 'TLSv1.3' });

  const node = 'store-trust';
  await startAgent(t, { url: c.agentUrl, token: (await createToken(c.cliConfig, node)).token, caFile: c.caFile, node, intervalMs: 200 });
  await waitFor('writes accepted by the store with the next CA’s certificate', () => received.requests >= 2, 20_000);
  t.ok(received.series > 0, `${received.series} series written`);
  t.notOk(c.logs.some((l) => /TLS with 127\.0\.0\.1 failed/.test(l)), 'no TLS failure towards the store');
  t.ok(c.logs.some((l) => l.includes('remote-write TLS files reloaded')), 'the bundle step made the store client re-read its trust');

  for (const step of ['switch', 'drop-old']) {
    const res = await runCli(c.cliConfig, ['tls', 'renew', '--component', 'ca', '--step', step, '--output', 'json']);
    t.equal(res.code, 0, res.stderr);
    const count = received.requests;
    await waitFor(`writes after ${step}`, () => received.requests >= count + 2, 20_000);
    t.pass(`the store is still written to after ${step}`);
  }
});
