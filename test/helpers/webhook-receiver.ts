/**
 * A webhook receiver for alerting tests: HTTPS (TLS 1.3) on loopback with a certificate of a CA
 * made for the test, keeping each body whose X-Ximp-Signature is the HMAC-SHA256 of the body
 * under `secret`, and counting those whose signature is wrong (answered 401).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { CertificateAuthority } from '../../packages/collector/src/pki/certificate-authority';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** One alert of Alertmanager's webhook payload (version 4), as the receiver got it. */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

export interface WebhookBody {
  version: string;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  alerts: WebhookAlert[];
}

export interface WebhookReceiver {
  url: string;
  /** The CA file a channel's `ca_file` names. */
  caFile: string;
  bodies: WebhookBody[];
  badSignatures: number;
}

export async function startWebhookReceiver(t: Teardown, o: { secret: string; dir: string }): Promise<WebhookReceiver> {
  const ca = CertificateAuthority.create({ commonName: 'webhook receiver test CA' });
  const leaf = ca.issue({ commonName: 'localhost', usage: 'server', sans: [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }] });
  const caFile = path.join(o.dir, 'webhook-ca.pem');
  fs.writeFileSync(caFile, ca.certPem);
  const state: WebhookReceiver = { url: '', caFile, bodies: [], badSignatures: 0 };
  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.3' }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const expected = `sha256=${crypto.createHmac('sha256', o.secret).update(body).digest('hex')}`;
      const given = String(req.headers['x-ximp-signature'] ?? '');
      if (given.length === expected.length && crypto.timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
        state.bodies.push(JSON.parse(body.toString()) as WebhookBody);
        res.writeHead(200).end();
      } else {
        state.badSignatures++;
        res.writeHead(401).end();
      }
    });
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  state.url = `https://localhost:${(server.address() as AddressInfo).port}/hook`;
  return state;
}
