/**
 * Done-when (issue 9): sign-in through OIDC against a real provider started by the test
 * (oidc-provider, test/helpers/oidc-provider.ts) maps the `groups` claim to monitoring-editor; the
 * editor then creates a dashboard and an alert rule from the pages.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { skipWithoutChromium } from './helpers/browser';
import { startDashboard } from './helpers/dashboard';
import { startOidcProvider } from './helpers/oidc-provider';
import { freePort, prepareCollector, waitFor } from './helpers/system';

t.test('OIDC sign-in maps groups to monitoring-editor; the editor creates a dashboard and an alert rule', { skip: skipWithoutChromium(t) }, async (t) => {
  const started = Date.now();
  const apiPort = await freePort();
  const origin = `https://127.0.0.1:${apiPort}`;
  const provider = await startOidcProvider(t, {
    redirectUris: [`${origin}/auth/oidc/callback`],
    accounts: { erin: { preferred_username: 'erin', email: 'erin@example.net', groups: ['staff', 'ximp-editors'] } },
  });
  const paths = prepareCollector(
    t,
    [
      'dashboard:',
      '  oidc:',
      `    issuer: ${provider.issuer}`,
      `    client_id: ${provider.clientId}`,
      '    client_secret_file: oidc-secret',
      '    ca_file: idp-ca.pem',
      '    display_name: Example SSO',
      '    role_map:',
      '      ximp-editors: monitoring-editor',
    ].join('\n'),
    { agents: 0, api: apiPort },
  );
  fs.writeFileSync(path.join(paths.dir, 'oidc-secret'), `${provider.clientSecret}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(paths.dir, 'idp-ca.pem'), provider.caPem);
  const d = await startDashboard(t, { paths, trust: [{ url: provider.issuer, ca: provider.caPem }] });
  t.equal(d.origin, origin);
  await waitFor('OIDC discovered', async () => (await d.admin('GET', '/auth/methods')).body.includes('Sign in with Example SSO'));

  const page = await d.browser.newPage();
  await page.goto(`${origin}/signin`);
  await page.getByRole('link', { name: 'Sign in with Example SSO' }).click();
  // The provider's own login and consent forms (oidc-provider's development interactions).
  await page.waitForURL((url) => url.origin === provider.issuer);
  await page.locator('input[name="login"]').fill('erin');
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  await page.waitForURL((url) => url.origin === origin || /consent|interaction/.test(url.pathname));
  if (new URL(page.url()).origin !== origin) await page.locator('button[type="submit"]').click();
  await page.waitForURL(`${origin}/fleet`);
  await page.getByRole('heading', { name: 'Fleet', level: 1 }).waitFor();
  t.ok(provider.tokenRequests.some((r) => r.codeVerifierSent), 'the code was exchanged with its PKCE verifier');

  const session = await page.evaluate(async () => (await fetch('/auth/session')).json());
  t.match(session, { user: { name: 'erin', role: 'monitoring-editor', method: 'oidc', must_change_password: false } }, 'groups ximp-editors → monitoring-editor');
  const links = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts();
  t.same(links.map((l) => l.trim()), ['Fleet', 'Dashboards', 'Alerts'], 'an editor gets no admin pages');

  // A dashboard, from the Dashboards page.
  await page.getByRole('link', { name: 'Dashboards', exact: true }).click();
  await page.getByRole('button', { name: 'New dashboard' }).click();
  const form = page.getByRole('form', { name: 'New dashboard' });
  await form.getByLabel('Dashboard name').fill('Web load');
  await form.getByLabel('Title').fill('Load, 1 min');
  await form.getByLabel('Metric').fill('node_load1');
  await form.getByRole('button', { name: 'Create dashboard' }).click();
  await page.waitForURL(`${origin}/dashboards/web-load`);
  await page.getByRole('heading', { name: 'Web load', level: 1 }).waitFor();
  const saved = await d.admin('GET', '/api/v1/dashboards/web-load');
  t.equal(saved.status, 200, 'the dashboard is saved');
  t.match(JSON.parse(saved.body), { name: 'Web load', builtin: false, created_by: 'oidc:erin', panels: [{ title: 'Load, 1 min', metric: 'node_load1' }] });

  // An alert rule, from the Alerts page.
  await page.getByRole('link', { name: 'Alerts', exact: true }).click();
  await page.getByRole('button', { name: 'New rule' }).click();
  await page.getByLabel('Name', { exact: true }).fill('high-load');
  await page.getByLabel('Kind').selectOption('threshold');
  await page.getByLabel('Metric', { exact: true }).fill('node_load1');
  await page.getByLabel('Comparison').selectOption('>');
  await page.getByLabel('Threshold').fill('4');
  await page.getByLabel('For', { exact: true }).fill('5m');
  await page.getByRole('button', { name: 'Create rule' }).click();
  await page.getByRole('button', { name: 'Edit rule high-load' }).waitFor();
  const rule = await d.admin('GET', '/api/v1/alert-rules/high-load');
  t.equal(rule.status, 200, 'the rule is saved');
  t.match(JSON.parse(rule.body), { name: 'high-load', kind: 'threshold', metric: 'node_load1', value: 4 });

  const audit = JSON.parse((await d.admin('GET', '/api/v1/audit?limit=50')).body) as { actor: string; action: string; target: string }[];
  const mine = audit.filter((e) => e.actor === 'oidc:erin').map((e) => `${e.action} ${e.target}`);
  t.ok(mine.includes('dashboard.create web-load'), 'audited: dashboard.create by oidc:erin');
  t.ok(mine.includes('alert_rule.create high-load'), 'audited: alert_rule.create by oidc:erin');
  t.ok(mine.some((e) => e.startsWith('session.login')), 'audited: session.login of oidc:erin');
  t.same(d.browser.cspViolations.filter((v) => v.page.startsWith(origin)), [], 'no CSP violation on the dashboard');
  t.same(d.browser.pageErrors.filter((e) => e.startsWith(origin)), [], 'no script failed');
  t.comment(`OIDC editor journey in ${Date.now() - started} ms`);
});
