import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import { CertificateAuthority } from '../../packages/collector/src/pki/certificate-authority';

/** A CA of this test run and a server certificate for localhost and 127.0.0.1 that it signed. */
export const receiverCa = CertificateAuthority.create({ commonName: 'XIMP receiver test CA' });
const leaf = receiverCa.issue({ commonName: 'localhost', usage: 'server', sans: [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }] });

/** A real HTTPS receiver (TLS 1.3) answering `status` to every POST; counts what it received. */
export async function httpsReceiver(t: Test, status = 200): Promise<{ url: string; received: string[] }> {
  const received: string[] = [];
  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.3' }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(Buffer.concat(chunks).toString());
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status === 200 ? 'ok' : 'receiver is in maintenance');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `https://localhost:${(server.address() as AddressInfo).port}/hook`, received };
}

