import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { main } from '../dist/cli/main';
import { startApi } from './helpers/api-harness';

/** Each failure the CLI prints ends in the registry code of docs/errors.md when its exit status has one cause. */
t.test('failures name their error code', async (t) => {
  const h = await startApi(t);
  const dir = t.testdir();
  fs.writeFileSync(path.join(dir, 'ca.pem'), h.caPem);
  const runner = (role: 'monitoring-viewer' | 'monitoring-admin') => {
    const client = h.createClient(role);
    const file = path.join(dir, `${role}.yaml`);
    fs.writeFileSync(file, `server: ${h.url}\nca_file: ca.pem\nclient_id: ${client.id}\nclient_secret: ${client.secret}\n`, { mode: 0o600 });
    return async (...argv: string[]) => {
      let stderr = '';
      const code = await main(argv, { stdout: () => undefined, stderr: (s) => void (stderr += s), env: { XIMP_CLI_CONFIG: file }, homeDir: dir });
      return { code, firstLine: stderr.split('\n')[0] };
    };
  };
  const viewer = runner('monitoring-viewer');
  const admin = runner('monitoring-admin');
  const forbidden = await viewer('agent', 'token', 'create', '--node', 'web-1');
  t.equal(forbidden.code, 3);
  t.match(forbidden.firstLine, /^ximp: not allowed: .* \[XIMP_ERR_AUTH_FORBIDDEN\]$/);
  const missing = await admin('agent', 'token', 'revoke', 'zzzzzzzzzzzz');
  t.equal(missing.code, 4);
  t.match(missing.firstLine, /\[XIMP_ERR_NOT_FOUND\]$/);
  const usage = await viewer('agent', 'frobnicate');
  t.equal(usage.code, 2);
  t.match(usage.firstLine, /\[XIMP_ERR_CLI_USAGE\]$/);
});
