/** Both listeners refuse TLS 1.2 at the handshake and accept TLS 1.3 (checked with openssl s_client). */
import t from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { startCollector } from './helpers/system';

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
