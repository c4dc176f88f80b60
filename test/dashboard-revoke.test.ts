/**
 * Done-when (issue 9): an admin revokes an agent's token from the Tokens page (after a
 * confirmation); the agent's row on an open Fleet page turns DISCONNECTED within 2 s without a
 * reload, and the Audit page shows the revocation.
 */
import t from 'tap';
import { skipWithoutChromium } from './helpers/browser';
import { createUser, signInFirstTime, startDashboard } from './helpers/dashboard';
import { createToken, startAgent } from './helpers/system';

t.test('an admin revokes a token from the page: the fleet row turns DISCONNECTED live, the audit shows it', { skip: skipWithoutChromium(t) }, async (t) => {
  const started = Date.now();
  const d = await startDashboard(t);
  const token = await createToken(d.c.cliConfig, 'db-1');
  await startAgent(t, { url: d.c.agentUrl, token: token.token, caFile: d.c.caFile, node: 'db-1' });
  const password = await createUser(d.c, 'ada', 'monitoring-admin');
  const fleet = await d.browser.newPage();
  await signInFirstTime(fleet, d.origin, 'ada', password);
  const state = fleet.locator('td[data-node="db-1"]');
  await state.filter({ hasText: 'ACTIVE' }).waitFor();
  await fleet.getByText('Live: changes show as they happen.').waitFor();
  // Anything the page holds in memory is lost on a reload: this marker proves there was none.
  await fleet.evaluate(() => ((globalThis as unknown as { ximpMarker: string }).ximpMarker = 'same document'));

  // A second tab of the same session: the Tokens page.
  const admin = await d.browser.newPage();
  await admin.goto(`${d.origin}/admin/tokens`);
  await admin.getByRole('heading', { name: 'Agent tokens', level: 1 }).waitFor();
  await admin.getByRole('button', { name: `Revoke token ${token.id} of db-1` }).click();
  const dialog = admin.getByRole('dialog');
  await dialog.waitFor();
  t.match(await dialog.innerText(), new RegExp(`Revoke token ${token.id} of node db-1\\?`), 'a confirmation names the token and node');
  // Cancel first: nothing happens.
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  t.equal(await state.getAttribute('data-state'), 'ACTIVE', 'cancelled: still ACTIVE');

  await admin.getByRole('button', { name: `Revoke token ${token.id} of db-1` }).click();
  const confirmButton = admin.getByRole('dialog').getByRole('button', { name: 'Revoke token' });
  await confirmButton.waitFor();
  const clicked = Date.now();
  await confirmButton.click();
  await fleet.locator('td[data-node="db-1"][data-state="DISCONNECTED"]').waitFor({ timeout: 5_000 });
  const elapsed = Date.now() - clicked;
  t.ok(elapsed <= 2_000, `the row turned DISCONNECTED ${elapsed} ms after the confirmation (at most 2 s)`);
  t.equal(await fleet.evaluate(() => (globalThis as unknown as { ximpMarker?: string }).ximpMarker), 'same document', 'without a reload');
  t.equal(fleet.url(), `${d.origin}/fleet`);

  const outcome = admin.getByRole('status').filter({ hasText: `Token ${token.id} revoked.` });
  await outcome.waitFor();
  t.match(await outcome.innerText(), /Agent sessions closed: 1\s*db-1 \(127\.0\.0\.1(:\d+)?\)/, 'the page lists the session it closed');

  await admin.getByRole('link', { name: 'Audit', exact: true }).click();
  await admin.waitForURL(`${d.origin}/admin/audit`);
  const entry = admin.getByRole('row').filter({ hasText: 'agent_token.revoke' });
  await entry.first().waitFor();
  t.match(await entry.first().innerText(), new RegExp(`user:ada[\\s\\S]*${token.id}`), 'the audit page shows agent_token.revoke by user:ada on the token');
  t.same(d.browser.cspViolations, [], 'no CSP violation');
  t.same(d.browser.pageErrors, [], 'no script failed');
  t.comment(`revocation journey in ${Date.now() - started} ms`);
});
