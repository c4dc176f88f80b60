/**
 * The browser harness itself (test/helpers/browser.ts), on a real API listener serving a small
 * web root: Chromium loads a page over TLS 1.3 with the certificate Node verified against the test
 * CA and refuses an origin it was not told about; a CSP violation is recorded; axe-core reports a
 * serious violation and none on a clean page.
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { startApi } from '../packages/collector/test/helpers/api-harness';
import { CertificateAuthority } from '../packages/collector/src/pki/certificate-authority';
import { describeAxe, skipWithoutChromium, startBrowser } from './helpers/browser';

const CLEAN = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Clean</title>
<link rel="stylesheet" href="/app.css"></head><body><main><h1>Clean</h1>
<label for="q">Search</label><input id="q" type="search"><div id="out"></div></main>
<script src="/app.js"></script></body></html>`;
/** An inline script (refused by script-src 'self') and an input without a label (axe: critical). */
const DIRTY = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dirty</title></head><body><main>
<h1>Dirty</h1><input type="text"><script>document.title = 'ran';</script></main></body></html>`;

t.test('Chromium over verified TLS, CSP violations recorded, axe-core run in the page', { skip: skipWithoutChromium(t) }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-browser-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'index.html'), CLEAN);
  fs.writeFileSync(path.join(dir, 'app.js'), "document.getElementById('out').textContent = 'script ran';\n");
  fs.writeFileSync(path.join(dir, 'app.css'), 'body{font-family:sans-serif;color:#000;background:#fff}\n');
  const api = await startApi(t, { webRoot: dir });
  const origin = api.url.replace('127.0.0.1', 'localhost');
  const started = Date.now();
  const b = await startBrowser(t, { trust: [{ url: origin, ca: api.caPem }] });
  t.comment(`browser up in ${Date.now() - started} ms`);

  const page = await b.newPage();
  const res = await page.goto(`${origin}/fleet`);
  t.equal(res?.status(), 200);
  await page.getByText('script ran').waitFor();
  t.same(b.cspViolations, [], 'the clean page: no violation');
  t.same(await b.axe(page), [], 'the clean page: no serious or critical axe violation');

  // Another server with a certificate for localhost from a CA the test did not name: refused.
  const otherOrigin = await otherServer(t);
  const stranger = await b.newPage();
  await t.rejects(stranger.goto(`${otherOrigin}/`), /ERR_CERT/, 'an origin not named is refused by the browser');

  fs.writeFileSync(path.join(dir, 'index.html'), DIRTY);
  await page.goto(`${origin}/signin`);
  t.not(await page.title(), 'ran', 'the inline script did not run');
  await waitUntil(() => b.cspViolations.length > 0);
  t.match(b.cspViolations[0], { directive: /^script-src/, page: `${origin}/signin` }, 'the violation is recorded');
  await waitUntil(() => b.refusedMessages.length > 0);
  t.match(b.refusedMessages[0], /inline script.*Content Security Policy|Content Security Policy.*inline/i, 'and its console message');
  const axe = await b.axe(page);
  t.ok(axe.some((v) => v.id === 'label' && v.impact === 'critical'), `axe finds the unlabelled input:\n${describeAxe(axe)}`);
});

async function otherServer(t: Test): Promise<string> {
  const ca = CertificateAuthority.create({ commonName: 'Another CA' });
  const leaf = ca.issue({ commonName: 'localhost', usage: 'server', sans: [{ type: 'dns', value: 'localhost' }] });
  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.3' }, (_req, res) => res.end('hello'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `https://localhost:${(server.address() as AddressInfo).port}`;
}

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
