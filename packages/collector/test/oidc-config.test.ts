import t from 'tap';
import { ConfigError } from '@ximp/shared';
import { parseCollectorConfig } from '../src/config';

function issues(text: string): string[] {
  try {
    parseCollectorConfig(text, '/etc/ximp/collector.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  throw new Error('expected the config to be refused');
}

const MINIMAL = `dashboard:
  oidc:
    issuer: https://idp.example.net/realms/ops
    client_id: ximp
    role_map: { ximp-viewers: monitoring-viewer }
`;

t.test('no dashboard.oidc: no OIDC', async (t) => {
  t.equal(parseCollectorConfig('', '/etc/ximp/collector.yaml').dashboard.oidc, null);
  t.equal(parseCollectorConfig('dashboard: {}\n', '/etc/ximp/collector.yaml').dashboard.oidc, null);
});

t.test('the minimal entry gets every default; the redirect URL names the API listener', async (t) => {
  const c = parseCollectorConfig(`listen:\n  api: 127.0.0.1:8443\n${MINIMAL}`, '/etc/ximp/collector.yaml');
  t.same(c.dashboard.oidc, {
    issuer: 'https://idp.example.net/realms/ops',
    clientId: 'ximp',
    clientSecretFile: null,
    redirectUrl: 'https://127.0.0.1:8443/auth/oidc/callback',
    scopes: ['openid', 'profile', 'email', 'groups'],
    roleClaim: 'groups',
    roleMap: { 'ximp-viewers': 'monitoring-viewer' },
    nodeScopes: {},
    caFile: null,
    displayName: 'identity provider',
    nameClaim: null,
  });
  t.ok(Object.isFrozen(c.dashboard.oidc));
});

t.test('on a wildcard listener the default redirect URL names the first tls.hostnames entry', async (t) => {
  const c = parseCollectorConfig(`tls:\n  hostnames: [mon.example.net]\n${MINIMAL}`, '/etc/ximp/collector.yaml');
  t.equal(c.dashboard.oidc?.redirectUrl, 'https://mon.example.net:4494/auth/oidc/callback');
  const v6 = parseCollectorConfig(`listen:\n  api: "[::1]:4494"\n${MINIMAL}`, '/etc/ximp/collector.yaml');
  t.equal(v6.dashboard.oidc?.redirectUrl, 'https://[::1]:4494/auth/oidc/callback');
  const lines = issues(MINIMAL);
  t.equal(lines.length, 1, lines.join('\n'));
  t.match(lines[0], /dashboard\.oidc\.redirect_url: required when listen\.api is a wildcard address/);
});

t.test('every key, set; relative files resolve against the config file folder', async (t) => {
  const c = parseCollectorConfig(
    `dashboard:
  oidc:
    issuer: https://idp.example.net
    client_id: ximp-dashboard
    client_secret_file: secrets/oidc-client-secret
    redirect_url: https://mon.example.net:4494/auth/oidc/callback
    scopes: [openid, roles]
    role_claim: roles
    role_map:
      ops: monitoring-admin
      app-team: monitoring-editor
    node_scopes:
      app-team: "web-*, db-0?"
    ca_file: /etc/ximp/idp-ca.pem
    display_name: Example SSO
    name_claim: email
`,
    '/etc/ximp/collector.yaml',
  );
  t.same(c.dashboard.oidc, {
    issuer: 'https://idp.example.net',
    clientId: 'ximp-dashboard',
    clientSecretFile: '/etc/ximp/secrets/oidc-client-secret',
    redirectUrl: 'https://mon.example.net:4494/auth/oidc/callback',
    scopes: ['openid', 'roles'],
    roleClaim: 'roles',
    roleMap: { ops: 'monitoring-admin', 'app-team': 'monitoring-editor' },
    nodeScopes: { 'app-team': 'web-*,db-0?' },
    caFile: '/etc/ximp/idp-ca.pem',
    displayName: 'Example SSO',
    nameClaim: 'email',
  });
});

t.test('every problem by its key path, in one error', async (t) => {
  const lines = issues(`dashboard:
  oidc:
    issuer: http://idp.example.net
    redirect_url: https://mon.example.net/elsewhere
    scopes: [profile]
    role_map: { ops: root }
    node_scopes: { ops: "WEB/*" }
    display_name: ""
    colour: blue
`);
  const text = lines.join('\n');
  t.match(text, /dashboard\.oidc\.issuer: expected an https:\/\/ URL \(the provider is reached over TLS 1\.3 only\)/);
  t.match(text, /dashboard\.oidc\.client_id: required key is missing/);
  t.match(text, /dashboard\.oidc\.redirect_url: expected an https:\/\/ URL ending in \/auth\/oidc\/callback/);
  t.match(text, /dashboard\.oidc\.scopes: expected a list that includes "openid"/);
  t.match(text, /dashboard\.oidc\.role_map\.ops: expected one of monitoring-viewer, monitoring-editor, monitoring-admin/);
  t.match(text, /dashboard\.oidc\.node_scopes\.ops: expected node names/);
  t.match(text, /dashboard\.oidc\.display_name: expected a name of 1 to 64/);
  t.match(text, /dashboard\.oidc\.colour: unknown key/);
  t.equal(lines.length, 8, text);
});

t.test('without role_map nobody could sign in: refused', async (t) => {
  const lines = issues('listen:\n  api: 127.0.0.1:4494\ndashboard:\n  oidc:\n    issuer: https://idp.example.net\n    client_id: ximp\n');
  t.equal(lines.length, 1, lines.join('\n'));
  t.match(lines[0], /dashboard\.oidc\.role_map: required key is missing/);
});

t.test('an empty role_map is refused', async (t) => {
  const lines = issues('listen:\n  api: 127.0.0.1:4494\ndashboard:\n  oidc:\n    issuer: https://idp.example.net\n    client_id: ximp\n    role_map: {}\n');
  t.equal(lines.length, 1, lines.join('\n'));
  t.match(lines[0], /dashboard\.oidc\.role_map: expected at least one claim value mapped to a role/);
});
