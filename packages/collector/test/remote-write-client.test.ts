import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import { COLLECTOR_VERSION } from '../src/version';
import { classifyNetworkError, cleanMessage, parseRetryAfter, RemoteWriteClient, RemoteWriteNetworkError } from '../src/store/remote-write/remote-write-client';
import { encodeBatches } from '../src/store/remote-write/write-request';
import { testBatch } from './helpers/memory-shard-queue';
import { remoteWritePki, startReceiver, type RemoteWritePki } from './helpers/remote-write-receiver';

function client(t: { teardown(fn: () => unknown): void }, pki: RemoteWritePki, url: string, pair = pki.client, timeoutMs = 5000): RemoteWriteClient {
  const c = new RemoteWriteClient({ url, caFile: pki.caFile, certFile: pair.certFile, keyFile: pair.keyFile, timeoutMs });
  t.teardown(() => c.close());
  return c;
}

async function networkError(p: Promise<unknown>): Promise<RemoteWriteNetworkError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RemoteWriteNetworkError) return err;
    throw err;
  }
  throw new Error('expected a network error');
}

t.test('POSTs the body with remote write 1.0 headers over mTLS; the answer carries status and message', async (t) => {
  const pki = remoteWritePki(t);
  const rx = await startReceiver(t, pki);
  const c = client(t, pki, rx.url);
  const body = encodeBatches([testBatch('web-1', 1000)]);
  const res = await c.send(body);
  t.same(res, { status: 204, message: '' });
  const [req] = rx.requests;
  t.equal(req.method, 'POST');
  t.equal(req.url, '/api/v1/write');
  t.equal(req.headers['content-type'], 'application/x-protobuf');
  t.equal(req.headers['content-encoding'], 'snappy');
  t.equal(req.headers['x-prometheus-remote-write-version'], '0.1.0');
  t.equal(req.headers['user-agent'], `ximp-collector/${COLLECTOR_VERSION}`);
  t.equal(req.client, 'store-client', 'the client certificate was presented');
  t.same(req.body, Buffer.from(body));
  // keep-alive: the second request reuses the connection
  await c.send(body);
  t.equal(rx.requests.length, 2);
});

t.test('requests on a kept-alive connection leave no listener behind on its socket', async (t) => {
  const pki = remoteWritePki(t);
  const rx = await startReceiver(t, pki);
  const c = client(t, pki, rx.url);
  const warnings: string[] = [];
  const onWarning = (w: Error): number => warnings.push(w.name);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const body = encodeBatches([testBatch('web-1', 1000)]);
  for (let i = 0; i < 15; i++) t.equal((await c.send(body)).status, 204);
  await new Promise((r) => setImmediate(r));
  t.equal(rx.requests.length, 15);
  t.same(warnings, [], 'no MaxListenersExceededWarning: one socket, listeners do not pile up per request');
});

t.test('the store\'s message: first 256 bytes, control characters stripped; Retry-After read', async (t) => {
  const pki = remoteWritePki(t);
  const rx = await startReceiver(t, pki, (_req, i) =>
    i === 0
      ? { status: 400, body: `out of order sample\n\u001b[31m${'x'.repeat(1000)}` }
      : { status: 429, body: 'slow down', headers: { 'Retry-After': '7' } },
  );
  const c = client(t, pki, rx.url);
  const body = encodeBatches([testBatch('n', 1)]);
  const first = await c.send(body);
  t.equal(first.status, 400);
  t.match(first.message, /^out of order sample \[31mx+$/);
  t.ok(first.message.length <= 256);
  t.same(await c.send(body), { status: 429, message: 'slow down', retryAfterMs: 7000 });
});

t.test('parseRetryAfter: seconds, an HTTP date, or nothing', async (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  t.equal(parseRetryAfter('120', now), 120_000);
  t.equal(parseRetryAfter(['3'], now), 3000);
  t.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  t.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:30 GMT', now), 0, 'a past date: now');
  t.equal(parseRetryAfter('soon', now), undefined);
  t.equal(parseRetryAfter(undefined, now), undefined);
  t.equal(cleanMessage(' a\r\n\tb\u0000c  '), 'a b c');
});

t.test('refused certificates are classified `tls`: no client certificate, one from another CA, an untrusted store', async (t) => {
  const pki = remoteWritePki(t);
  const rx = await startReceiver(t, pki);
  const body = encodeBatches([testBatch('n', 1)]);

  const stranger = client(t, pki, rx.url, pki.otherClient);
  const e1 = await networkError(stranger.send(body));
  t.equal(e1.kind, 'tls', e1.message);
  t.equal(e1.code, ErrorCodes.REMOTE_WRITE_NETWORK);

  // A store whose certificate does not chain to ca_file.
  const wrongCa = new RemoteWriteClient({ url: rx.url, caFile: pki.otherClient.certFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile, timeoutMs: 5000 });
  t.teardown(() => wrongCa.close());
  const e2 = await networkError(wrongCa.send(body));
  t.equal(e2.kind, 'tls', e2.message);
  // No client certificate at all (the store's TLS 1.3 alert arrives on the first read).
  const noCert = await new Promise<unknown>((resolve) => {
    const req = https.request(rx.url, { method: 'POST', ca: pki.caPem, minVersion: 'TLSv1.3' });
    req.on('error', resolve);
    req.on('response', () => resolve(null));
    req.end(body);
  });
  const e3 = classifyNetworkError(noCert, { timedOut: false, timeoutMs: 1000, handshakeDone: true, reusedSocket: false, host: 'store' });
  t.equal(e3.kind, 'tls', e3.message);
  t.equal(rx.requests.length, 0, 'nothing got through');
  t.notMatch(`${e1.message} ${e2.message}`, /PRIVATE KEY/);
});

t.test('connection refused is `connect`, no answer in time is `timeout`', async (t) => {
  const pki = remoteWritePki(t);
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const body = encodeBatches([testBatch('n', 1)]);
  const e1 = await networkError(client(t, pki, `https://127.0.0.1:${port}/api/v1/write`).send(body));
  t.equal(e1.kind, 'connect', e1.message);

  const rx = await startReceiver(t, pki, () => ({ status: 204, delayMs: 5000 }));
  const e2 = await networkError(client(t, pki, rx.url, pki.client, 300).send(body));
  t.equal(e2.kind, 'timeout', e2.message);
});

t.test('an abort signal ends a request under way with STORE_STOPPED', async (t) => {
  const pki = remoteWritePki(t);
  const rx = await startReceiver(t, pki, () => ({ status: 204, delayMs: 5000 }));
  const c = client(t, pki, rx.url);
  const ac = new AbortController();
  const p = c.send(encodeBatches([testBatch('n', 1)]), ac.signal);
  await rx.waitForRequests(1);
  ac.abort();
  await t.rejects(p, { code: ErrorCodes.STORE_STOPPED });
});

t.test('reloadTls: new connections use the files as they are now; unusable files keep the old pair', async (t) => {
  const pki = remoteWritePki(t);
  const rx = await startReceiver(t, pki);
  const body = encodeBatches([testBatch('n', 1)]);
  // Start with the wrong pair in the configured files.
  const certFile = `${pki.dir}/store-client.pem`;
  const keyFile = `${pki.dir}/store-client-key.pem`;
  fs.copyFileSync(pki.otherClient.certFile, certFile);
  fs.copyFileSync(pki.otherClient.keyFile, keyFile);
  const c = new RemoteWriteClient({ url: rx.url, caFile: pki.caFile, certFile, keyFile, timeoutMs: 5000 });
  t.teardown(() => c.close());
  t.equal((await networkError(c.send(body))).kind, 'tls');

  fs.writeFileSync(keyFile, 'not a key');
  const bad = c.reloadTls();
  t.equal(bad.ok, false);
  t.equal(!bad.ok && bad.error.code, ErrorCodes.PKI_INVALID);
  t.equal((await networkError(c.send(body))).kind, 'tls', 'still the old pair');

  fs.copyFileSync(pki.client.certFile, certFile);
  fs.copyFileSync(pki.client.keyFile, keyFile);
  t.same(c.reloadTls(), { ok: true });
  t.equal((await c.send(body)).status, 204);
  t.equal(rx.requests[0].client, 'store-client');
});

t.test('unreadable TLS files at construction: PKI_INVALID naming the file, no key material', async (t) => {
  const pki = remoteWritePki(t);
  t.throws(
    () => new RemoteWriteClient({ url: 'https://127.0.0.1:1/api/v1/write', caFile: pki.caFile, certFile: `${pki.dir}/missing.pem`, keyFile: pki.client.keyFile, timeoutMs: 1000 }),
    { code: ErrorCodes.PKI_INVALID, message: /missing\.pem/ },
  );
  t.throws(
    () => new RemoteWriteClient({ url: 'https://127.0.0.1:1/api/v1/write', caFile: pki.caFile, certFile: pki.client.certFile, keyFile: pki.otherClient.keyFile, timeoutMs: 1000 }),
    { code: ErrorCodes.PKI_INVALID },
  );
  const c = new RemoteWriteClient({ url: 'https://127.0.0.1:1/api/v1/write', caFile: pki.caFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile, timeoutMs: 1000 });
  c.close();
  await t.rejects(c.send(new Uint8Array(1)), { code: ErrorCodes.STORE_STOPPED });
});

t.test('the store client refuses a store that offers only TLS 1.2 (kind `tls`, nothing sent)', async (t) => {
  const pki = remoteWritePki(t);
  let requests = 0;
  const server = https.createServer({ cert: pki.server.cert, key: pki.server.key, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }, (_req, res) => {
    requests++;
    res.writeHead(204).end();
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as net.AddressInfo;
  const c = client(t, pki, `https://127.0.0.1:${port}/api/v1/write`);
  const err = await networkError(c.send(encodeBatches([testBatch('n', 1)])));
  t.equal(err.kind, 'tls', err.message);
  t.match(err.message, /protocol version|unsupported protocol/i);
  t.equal(requests, 0, 'nothing got through');
});
