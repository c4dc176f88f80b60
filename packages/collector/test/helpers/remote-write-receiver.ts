// A remote-write receiver for tests: HTTPS on 127.0.0.1:0, TLS 1.3, requiring a client certificate
// of its CA, decoding every body with the request schema and answering by script. Plus the test
// PKI on disk (the store's CA, its client pair, and a pair from another CA).
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { uncompress } from 'snappyjs';
import { serverTlsOptions } from '@ximp/shared';
import { CertificateAuthority } from '../../src/pki/certificate-authority';
import { WriteRequestType } from '../../src/store/remote-write/write-request';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface DecodedWriteRequest {
  timeseries: { labels: { name: string; value: string }[]; samples: { value: number; timestamp: number }[] }[];
  metadata: { type: number; metricFamilyName: string; help: string; unit: string }[];
}

/** protobuf + snappy body → plain object (int64 as numbers, defaults filled in). */
export function decodeBody(body: Uint8Array): DecodedWriteRequest {
  const message = WriteRequestType.decode(uncompress(body));
  return WriteRequestType.toObject(message, { longs: Number, enums: Number, defaults: true, arrays: true }) as DecodedWriteRequest;
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  decoded: DecodedWriteRequest;
  /** CN of the client certificate presented. */
  client: string;
}

export interface Reply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Answer only after this long (timeout tests). */
  delayMs?: number;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Resolves once `n` requests have been received. */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface RemoteWritePki {
  dir: string;
  /** The store's CA: signs the store's server certificate and the clients it accepts. */
  caFile: string;
  server: { cert: string; key: string };
  client: { certFile: string; keyFile: string };
  /** A client pair from a CA the store does not know. */
  otherClient: { certFile: string; keyFile: string };
  caPem: string;
}

let cachedMaterial: Omit<RemoteWritePki, 'dir' | 'caFile' | 'client' | 'otherClient'> & {
  client: { cert: string; key: string };
  other: { cert: string; key: string };
} | null = null;

/** The test PKI written into a temporary folder (keys made once per test process). */
export function remoteWritePki(t: Teardown): RemoteWritePki {
  if (cachedMaterial === null) {
    const ca = CertificateAuthority.create({ commonName: 'XIMP remote-write test CA' });
    const server = ca.issue({ commonName: 'localhost', usage: 'server', sans: [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }] });
    const client = ca.issue({ commonName: 'store-client', usage: 'client', sans: [{ type: 'dns', value: 'store-client' }] });
    const otherCa = CertificateAuthority.create({ commonName: 'Some other CA' });
    const other = otherCa.issue({ commonName: 'stranger', usage: 'client', sans: [{ type: 'dns', value: 'stranger' }] });
    cachedMaterial = {
      caPem: ca.certPem,
      server: { cert: server.certPem, key: server.keyPem },
      client: { cert: client.certPem, key: client.keyPem },
      other: { cert: other.certPem, key: other.keyPem },
    };
  }
  const m = cachedMaterial;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-rw-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text, { mode: 0o600 });
    return file;
  };
  return {
    dir,
    caPem: m.caPem,
    caFile: write('ca.pem', m.caPem),
    server: m.server,
    client: { certFile: write('client.pem', m.client.cert), keyFile: write('client-key.pem', m.client.key) },
    otherClient: { certFile: write('other.pem', m.other.cert), keyFile: write('other-key.pem', m.other.key) },
  };
}

/**
 * Starts the receiver; `script(request, index)` decides each answer (default 204). Requests that
 * fail the TLS handshake never reach the script.
 */
export async function startReceiver(t: Teardown, pki: RemoteWritePki, script: (req: ReceivedRequest, index: number) => Reply = () => ({ status: 204 })): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = https.createServer(serverTlsOptions({ cert: pki.server.cert, key: pki.server.key, ca: pki.caPem, requestCert: true }), (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let decoded: DecodedWriteRequest;
      try {
        decoded = decodeBody(body);
      } catch {
        res.writeHead(400).end('cannot decode body');
        return;
      }
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      const received: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, decoded, client: String(peer.subject?.CN ?? '') };
      requests.push(received);
      const reply = script(received, requests.length - 1);
      for (const w of waiters.filter((w) => requests.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      const answer = (): void => {
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      };
      if (reply.delayMs === undefined) answer();
      else {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!res.destroyed) answer();
        }, reply.delayMs);
        timers.add(timer);
      }
    });
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = async (): Promise<void> => {
    for (const timer of timers) clearTimeout(timer);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.teardown(close);
  return {
    url: `https://127.0.0.1:${port}/api/v1/write`,
    port,
    requests,
    waitForRequests(n, timeoutMs = 10_000) {
      if (requests.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`waited for ${n} requests, got ${requests.length}`)), timeoutMs);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    close,
  };
}

/**
 * Answers as Prometheus' receiver does with out-of-order ingestion off: a request holding a sample
 * older than its series' newest (or at the same time with another value) is refused whole with
 * 400 "out of order sample" and nothing of it is kept; otherwise all of it is kept (a repeat of a
 * series' newest sample is accepted silently). While `lostAnswers()` is true it keeps the request
 * but answers 500, as if the answer were lost.
 */
export function prometheusLike(lostAnswers: () => boolean = () => false): {
  script: (req: ReceivedRequest) => Reply;
  /** Series key (labels joined) → timestamps kept, in order. */
  stored: Map<string, number[]>;
} {
  const stored = new Map<string, number[]>();
  const newest = new Map<string, { ts: number; value: number }>();
  const script = (req: ReceivedRequest): Reply => {
    const pending = new Map<string, { ts: number; value: number }>();
    const keep: [string, number][] = [];
    for (const s of req.decoded.timeseries) {
      const key = s.labels.map((l) => `${l.name}=${l.value}`).join(',');
      for (const x of s.samples) {
        const last = pending.get(key) ?? newest.get(key);
        if (last !== undefined && (x.timestamp < last.ts || (x.timestamp === last.ts && x.value !== last.value))) {
          return { status: 400, body: 'out of order sample' };
        }
        if (last === undefined || x.timestamp > last.ts) keep.push([key, x.timestamp]);
        pending.set(key, { ts: x.timestamp, value: x.value });
      }
    }
    for (const [key, v] of pending) newest.set(key, v);
    for (const [key, ts] of keep) stored.set(key, [...(stored.get(key) ?? []), ts]);
    return lostAnswers() ? { status: 500, body: 'answer lost' } : { status: 204 };
  };
  return { script, stored };
}
