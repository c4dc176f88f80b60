import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import t from 'tap';
import { ReloadableServerContext } from '../src/tls/reloadable-context';
import { clientTlsOptions } from '../src/tls/tls-options';
import { FixtureCa } from './tls-fixture-pki';

const ca = new FixtureCa('reload ca');
const first = ca.issue({ commonName: 'first' });
const second = ca.issue({ commonName: 'second' });

function fingerprint(pem: string): string {
  return new crypto.X509Certificate(pem).fingerprint256;
}

interface Client {
  socket: tls.TLSSocket;
  peer: string;
  /** Sends a line and resolves with its echo. */
  echo(line: string): Promise<string>;
}

function connect(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...clientTlsOptions({ ca: ca.certPem, servername: 'localhost' }) });
    socket.setEncoding('utf8');
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      resolve({
        socket,
        peer: socket.getPeerX509Certificate()?.fingerprint256 ?? '',
        echo: (line) =>
          new Promise((done, fail) => {
            socket.once('data', (chunk: string) => done(chunk.trim()));
            socket.once('error', fail);
            socket.write(`${line}\n`);
          }),
      });
    });
  });
}

t.test('a reload swaps the certificate for new connections and keeps live ones', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-reload-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certFile = path.join(dir, 'collector.pem');
  const keyFile = path.join(dir, 'collector-key.pem');
  fs.writeFileSync(certFile, first.certPem);
  fs.writeFileSync(keyFile, first.keyPem);

  const errors: unknown[] = [];
  const context = new ReloadableServerContext({ certFile, keyFile, onError: (err) => errors.push(err) });
  t.equal(context.info(), null, 'nothing loaded before load()');
  const server = tls.createServer(context.load(), (socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  context.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const clients: Client[] = [];
  t.teardown(async () => {
    for (const c of clients) c.socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  t.equal(context.info()?.subject, 'CN=first');

  const before = await connect(port);
  clients.push(before);
  t.equal(before.peer, fingerprint(first.certPem));

  fs.writeFileSync(certFile, second.certPem);
  fs.writeFileSync(keyFile, second.keyPem);
  const result = context.reload();
  t.equal(result.ok, true);
  t.equal(result.ok && result.info.subject, 'CN=second');

  const after = await connect(port);
  clients.push(after);
  t.equal(after.peer, fingerprint(second.certPem), 'a new connection sees the new certificate');
  t.equal(await before.echo('still here'), 'still here', 'the connection made before the reload still works');
  t.equal(before.socket.destroyed, false);

  // A key that does not match the certificate: the reload fails and the old context stays.
  fs.writeFileSync(keyFile, first.keyPem);
  const broken = context.reload();
  t.equal(broken.ok, false);
  t.match(!broken.ok && broken.error, { code: 'XIMP_ERR_PKI_INVALID' });
  t.notMatch(!broken.ok && broken.error.message, /BEGIN|PRIVATE/, 'no key material in the message');
  t.equal(errors.length, 1, 'the failure was reported');
  t.equal(context.info()?.subject, 'CN=second');
  const stillSecond = await connect(port);
  clients.push(stillSecond);
  t.equal(stillSecond.peer, fingerprint(second.certPem), 'the previous certificate is still served');

  // A missing file fails the same way.
  fs.rmSync(certFile);
  const missing = context.reload();
  t.match(!missing.ok && missing.error, { code: 'XIMP_ERR_PKI_INVALID' });
  t.equal(errors.length, 2);
  t.equal((await connect(port).then((c) => (clients.push(c), c))).peer, fingerprint(second.certPem));
});

t.test('apply swaps in-memory material; garbage is refused', async (t) => {
  const context = new ReloadableServerContext({ certFile: '/nonexistent/cert.pem', keyFile: '/nonexistent/key.pem' });
  t.throws(() => context.load(), { code: 'XIMP_ERR_PKI_INVALID' }, 'an unreadable first load throws');
  const server = tls.createServer({ minVersion: 'TLSv1.3' }, (socket) => socket.end());
  context.attach(server);
  t.equal(context.apply({ cert: first.certPem, key: first.keyPem }).ok, true);
  t.equal(context.info()?.subject, 'CN=first');
  t.equal(context.apply({ cert: 'garbage', key: first.keyPem }).ok, false);
  t.equal(context.info()?.subject, 'CN=first');
  // A reporter that throws must not escape reload().
  const loud = new ReloadableServerContext({
    certFile: '/nonexistent/cert.pem',
    keyFile: '/nonexistent/key.pem',
    onError: () => {
      throw new Error('reporter failed');
    },
  });
  t.equal(loud.reload().ok, false);
});
