import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import t from 'tap';
import { clientTlsOptions, serverTlsOptions } from '../src/tls/tls-options';
import { FixtureCa } from './tls-fixture-pki';

const ca = new FixtureCa('options ca');
const server = ca.issue({ commonName: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
const client = ca.issue({ commonName: 'client', client: true });
const otherCa = new FixtureCa('other ca');

/** An echo server on 127.0.0.1:0, closed when the test ends. */
async function echoServer(t: Tap, options: tls.TlsOptions): Promise<number> {
  const srv = tls.createServer(options, (socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  srv.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => srv.close(() => resolve())));
  return (srv.address() as AddressInfo).port;
}

type Tap = Pick<typeof t, 'teardown'>;

/** Connects, sends one line and resolves with the echo and the negotiated protocol, or rejects. */
function roundTrip(port: number, options: tls.ConnectionOptions): Promise<{ echo: string; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...options }, () => {
      socket.write('ping\n');
    });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (data.includes('\n')) {
        const protocol = socket.getProtocol();
        socket.end();
        resolve({ echo: data.trim(), protocol });
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('closed before the echo')));
    socket.setTimeout(3000, () => socket.destroy(new Error('timeout')));
  });
}

t.test('both sides demand TLS 1.3', async (t) => {
  const s = serverTlsOptions({ cert: server.certPem, key: server.keyPem });
  t.equal(s.minVersion, 'TLSv1.3');
  t.notOk(s.requestCert);
  const c = clientTlsOptions({ ca: ca.certPem });
  t.equal(c.minVersion, 'TLSv1.3');
  t.equal(c.rejectUnauthorized, true);
  const m = serverTlsOptions({ cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true });
  t.equal(m.requestCert, true);
  t.equal(m.rejectUnauthorized, true);
});

t.test('a TLS 1.3 client trusting the CA gets through; TLS 1.2 and strangers do not', async (t) => {
  const port = await echoServer(t, serverTlsOptions({ cert: server.certPem, key: server.keyPem }));
  const ok = await roundTrip(port, clientTlsOptions({ ca: ca.certPem, servername: 'localhost' }));
  t.same(ok, { echo: 'ping', protocol: 'TLSv1.3' });

  await t.rejects(
    roundTrip(port, { ca: ca.certPem, servername: 'localhost', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }),
    { code: /ERR_SSL/ },
    'a TLS 1.2 client is refused at the handshake',
  );
  await t.rejects(
    roundTrip(port, clientTlsOptions({ ca: otherCa.certPem, servername: 'localhost' })),
    { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
    'a server from another CA is not trusted',
  );
  await t.rejects(
    roundTrip(port, clientTlsOptions({ ca: ca.certPem, servername: 'elsewhere.example' })),
    { code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
    'the name is checked',
  );
});

t.test('the client refuses a server that only speaks TLS 1.2', async (t) => {
  const port = await echoServer(t, { cert: server.certPem, key: server.keyPem, maxVersion: 'TLSv1.2' });
  await t.rejects(roundTrip(port, clientTlsOptions({ ca: ca.certPem })), { code: /ERR_SSL/ });
});

t.test('an IP servername is checked against the IP SAN without being sent as SNI', async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.message);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  let sni: string | false | undefined;
  const port = await echoServer(t, {
    ...serverTlsOptions({ cert: server.certPem, key: server.keyPem }),
    SNICallback: (name, cb) => {
      sni = name;
      cb(null);
    },
  });
  const ok = await roundTrip(port, clientTlsOptions({ ca: ca.certPem, servername: '127.0.0.1' }));
  t.equal(ok.echo, 'ping');
  t.equal(sni, undefined, 'no SNI sent for an IP');
  await t.rejects(roundTrip(port, clientTlsOptions({ ca: ca.certPem, servername: '10.9.9.9' })), {
    code: 'ERR_TLS_CERT_ALTNAME_INVALID',
  });
  t.same(warnings, [], 'no RFC 6066 deprecation warning');
});

t.test('with requestCert only clients holding a certificate of the CA are served', async (t) => {
  const port = await echoServer(
    t,
    serverTlsOptions({ cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true }),
  );
  const ok = await roundTrip(
    port,
    clientTlsOptions({ ca: ca.certPem, cert: client.certPem, key: client.keyPem, servername: 'localhost' }),
  );
  t.equal(ok.echo, 'ping');
  // TLS 1.3: the refusal arrives on the first read, after secureConnect.
  await t.rejects(roundTrip(port, clientTlsOptions({ ca: ca.certPem, servername: 'localhost' })));
  const stranger = otherCa.issue({ commonName: 'stranger', client: true });
  await t.rejects(
    roundTrip(port, clientTlsOptions({ ca: ca.certPem, cert: stranger.certPem, key: stranger.keyPem, servername: 'localhost' })),
  );
});
