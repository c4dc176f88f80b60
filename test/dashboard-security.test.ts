/**
 * Done-when (issue 9): a cross-site POST without the CSRF token is refused (from a page on another
 * site, and from the dashboard's own origin without the header); the session cookie carries exactly
 * the contract's flags; no page reports a CSP violation; axe-core finds no serious or critical
 * violation on any page (sign-in, password, fleet, node, dashboards, a dashboard, alerts, every
 * admin page).
 */
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { CertificateAuthority } from '../packages/collector/src/pki/certificate-authority';
import { describeAxe, skipWithoutChromium, type TestBrowser } from './helpers/browser';
import { createUser, newPasswordFor, startDashboard } from './helpers/dashboard';
import { createToken, startAgent } from './helpers/system';

/** Every page after sign-in, with the heading it shows. */
const PAGES: [string, string][] = [
  ['/fleet', 'Fleet'],
  ['/nodes/web-1', 'Node web-1'],
  ['/dashboards', 'Dashboards'],
  ['/dashboards/node-overview', 'Node overview'],
  ['/alerts', 'Alerts'],
  ['/admin/tokens', 'Agent tokens'],
  ['/admin/clients', 'API clients'],
  ['/admin/users', 'Users'],
  ['/admin/certificates', 'Certificates'],
  ['/admin/retention', 'Retention'],
  ['/admin/audit', 'Audit log'],
];

/** The page has drawn: its heading shows and nothing is still loading. */
async function settled(page: Page, heading: string): Promise<void> {
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
  await page.waitForFunction(() => !(globalThis as unknown as { document: { body: { innerText: string } } }).document.body.innerText.includes('Loading'));
}

async function noAxeViolation(t: Test, browser: TestBrowser, page: Page, label: string): Promise<void> {
  const found = await browser.axe(page);
  t.same(found.map((v) => v.id), [], `${label}: no serious or critical axe violation${found.length ? `\n${describeAxe(found)}` : ''}`);
}

t.test('CSRF, cookie flags, CSP and accessibility on every page', { skip: skipWithoutChromium(t) }, async (t) => {
  const started = Date.now();
  // The other site must exist before the browser starts (its key is pinned at launch); it posts
  // to the dashboard's origin, known once the collector runs: a placeholder port is replaced below.
  const d0 = { origin: '' };
  const elsewhere = await otherSiteLater(t, () => d0.origin);
  const d = await startDashboard(t, { trust: [{ url: elsewhere.url, ca: elsewhere.ca }] });
  d0.origin = d.origin;
  const token = await createToken(d.c.cliConfig, 'web-1');
  await startAgent(t, { url: d.c.agentUrl, token: token.token, caFile: d.c.caFile, node: 'web-1' });
  const password = await createUser(d.c, 'ida', 'monitoring-admin');
  const page = await d.browser.newPage();

  // Sign-in page, then the forced password change, each checked before use.
  await page.goto(`${d.origin}/signin`);
  await settled(page, 'Sign in to XIMP');
  await noAxeViolation(t, d.browser, page, '/signin');
  await page.getByLabel('User name').fill('ida');
  await page.getByLabel('Password', { exact: true }).fill(password);
  const [login] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${d.origin}/auth/login`),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  const setCookie = await login.headerValue('set-cookie');
  t.match(setCookie, /^__Host-ximp-session=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict$/, 'Set-Cookie: exactly the contract\'s flags');
  const cookies = (await page.context().cookies()).filter((c) => c.name === '__Host-ximp-session');
  t.equal(cookies.length, 1);
  t.match(cookies[0], { domain: '127.0.0.1', path: '/', secure: true, httpOnly: true, sameSite: 'Strict', expires: -1 }, 'the browser holds a host-only session cookie');
  await page.waitForURL(`${d.origin}/password`);
  await settled(page, 'Change password');
  await noAxeViolation(t, d.browser, page, '/password');
  await page.getByLabel('Current password').fill(password);
  await page.getByLabel('New password', { exact: true }).fill(newPasswordFor('ida'));
  await page.getByLabel('New password again').fill(newPasswordFor('ida'));
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.waitForURL(`${d.origin}/fleet`);

  for (const [p, heading] of PAGES) {
    await page.goto(`${d.origin}${p}`);
    await settled(page, heading);
    await noAxeViolation(t, d.browser, page, p);
  }
  // The main pages at a phone's width, in the dark theme.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: 'dark' });
  for (const [p, heading] of PAGES.slice(0, 5)) {
    await page.goto(`${d.origin}${p}`);
    await settled(page, heading);
    await noAxeViolation(t, d.browser, page, `${p} at 390 px, dark`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: 'light' });

  // Same origin, no or a wrong CSRF header: refused; the right one: accepted.
  const answers = await page.evaluate(async () => {
    const post = async (headers: Record<string, string>, node: string) => {
      const res = await fetch('/api/v1/agent-tokens', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ node }) });
      return [res.status, await res.text()];
    };
    const session = (await (await fetch('/auth/session')).json()) as { csrf_token: string };
    return {
      none: await post({}, 'csrf-1'),
      wrong: await post({ 'X-CSRF-Token': 'A'.repeat(43) }, 'csrf-2'),
      right: await post({ 'X-CSRF-Token': session.csrf_token }, 'csrf-3'),
    };
  });
  t.equal(answers.none[0], 403, 'POST without X-CSRF-Token: 403');
  t.match(JSON.parse(String(answers.none[1])), { error: 'csrf_token_invalid' });
  t.equal(answers.wrong[0], 403, 'POST with a wrong X-CSRF-Token: 403');
  t.equal(answers.right[0], 201, 'POST with the session\'s token: 201');

  // Another site: its script's fetch and its form post to the dashboard, with the browser's cookies.
  const attacker = await d.browser.newPage();
  await attacker.goto(elsewhere.url);
  await attacker.waitForFunction(() => (globalThis as unknown as { document: { title: string } }).document.title !== 'Elsewhere');
  const [posted] = await Promise.all([attacker.waitForNavigation(), attacker.getByRole('button', { name: 'Go' }).click()]);
  t.equal(posted?.status(), 401, 'the cross-site form post arrives without the session (SameSite=Strict) and is refused');
  const tokens = JSON.parse((await d.admin('GET', '/api/v1/agent-tokens')).body) as { node: string }[];
  t.same(tokens.map((x) => x.node).sort(), ['csrf-3', 'web-1'], 'only the request with the token created anything');

  const ours = d.browser.cspViolations.filter((v) => v.page.startsWith(d.origin));
  t.same(ours, [], 'no CSP violation on any dashboard page');
  t.same(d.browser.refusedMessages.filter((m) => m.startsWith(d.origin)), [], 'and no CSP refusal in the console');
  t.same(d.browser.pageErrors, [], 'no script failed');
  t.comment(`${PAGES.length + 7} page checks in ${Date.now() - started} ms`);
});

/**
 * Another site (https://localhost:<port>, its own CA) whose page posts to the dashboard with a
 * script and a form; the target is read when the page is served (the browser pins the site's key at
 * launch, before the collector's port is known).
 */
async function otherSiteLater(t: Test, target: () => string): Promise<{ url: string; ca: string }> {
  const ca = CertificateAuthority.create({ commonName: 'Another site CA' });
  const leaf = ca.issue({ commonName: 'localhost', usage: 'server', sans: [{ type: 'dns', value: 'localhost' }] });
  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.3' }, (_req, res) => {
    const origin = target();
    const html = `<!doctype html><html lang="en"><head><title>Elsewhere</title></head><body>
<form method="post" action="${origin}/api/v1/agent-tokens" enctype="text/plain"><input type="hidden" name='{"node":"evil-1","x":"' value='"}'><button>Go</button></form>
<script>
fetch('${origin}/api/v1/agent-tokens', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ node: 'evil-2' }) })
  .then(() => { document.title = 'fetch sent'; }, () => { document.title = 'fetch failed'; });
</script></body></html>`;
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  return { url: `https://localhost:${(server.address() as AddressInfo).port}`, ca: ca.certPem };
}
