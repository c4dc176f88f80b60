import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { silentLogger } from '@ximp/shared';
import type { OidcConfig } from '../src/web/oidc-config';
import { OidcSignIn } from '../src/web/oidc-sign-in';

function config(over: Partial<OidcConfig>): OidcConfig {
  return {
    // Nothing listens on port 1: discovery keeps failing, quietly, until stop().
    issuer: 'https://127.0.0.1:1',
    clientId: 'ximp',
    clientSecretFile: null,
    redirectUrl: 'https://127.0.0.1:4494/auth/oidc/callback',
    scopes: ['openid'],
    roleClaim: 'groups',
    roleMap: { ops: 'monitoring-admin' },
    nodeScopes: {},
    caFile: null,
    displayName: 'Example SSO',
    nameClaim: null,
    ...over,
  };
}

function signIn(over: Partial<OidcConfig>): OidcSignIn {
  const s = new OidcSignIn({ config: config(over), log: silentLogger(), now: Date.now });
  t.teardown(() => s.stop());
  return s;
}

t.test('the client secret and CA files are read at start; a missing or empty one fails it by code, naming no secret', async (t) => {
  const dir = t.testdir({ empty: '\n', secret: 'a-secret-value\n' });
  await t.rejects(signIn({ clientSecretFile: path.join(dir, 'absent') }).start(), { code: 'XIMP_ERR_SECRET_UNREADABLE', message: /client_secret_file .*absent: ENOENT/ });
  await t.rejects(signIn({ clientSecretFile: path.join(dir, 'empty') }).start(), { code: 'XIMP_ERR_SECRET_UNREADABLE', message: /is empty/ });
  await t.rejects(signIn({ clientSecretFile: path.join(dir, 'secret'), caFile: path.join(dir, 'no-ca.pem') }).start(), { code: 'XIMP_ERR_CONFIG_UNREADABLE', message: /ca_file/ });
  t.ok(fs.existsSync(path.join(dir, 'secret')));
});

t.test('before discovery: not ready, and a sign-in cannot begin', async (t) => {
  const s = signIn({});
  await s.start();
  t.equal(s.ready, false);
  t.equal(s.label, 'Sign in with Example SSO');
  t.equal(await s.begin(), null);
  const finished = await s.finish('unknown-key', new URLSearchParams({ code: 'c', state: 's' }));
  t.same(finished, { kind: 'refused', reason: 'state_unknown', detail: 'no sign-in in progress for this browser (already used, or never started)' });
  s.stop();
  s.stop();
});
