/**
 * The dashboard's files on the API listener (web/static-site.ts), over real HTTPS: redirects and
 * client routes, content types and caching, HEAD, the security headers of the dashboard contract,
 * refusals of every path that would leave the web root, and a clear 503 when it was never built.
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { HSTS_VALUE } from '../dist/api/json-response';
import { API_ROUTES, LISTENER_ROUTES } from '../dist/api/routes';
import { DASHBOARD_CSP } from '../dist/web/dashboard-headers';
import { CLIENT_PATHS, DEFAULT_WEB_ROOT, STATIC_SITE_ROUTES } from '../dist/web/static-site';
import { request, startApi, type Harness, type TestResponse } from './helpers/api-harness';

const SECRET = 'SECRET-OUTSIDE-THE-WEB-ROOT';
const INDEX = '<!doctype html><html lang="en"><head><title>XIMP</title><link rel="stylesheet" href="/app.css"></head><body><script src="/app.js"></script></body></html>\n';

/** A folder of the test's own (the harness's t.testdir() would empty it again). */
function scratch(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-web-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A built web app in a temp dir, with a secret beside it and traps inside it. */
function webRoot(dir: string): string {
  const root = path.join(dir, 'web', 'dist');
  fs.mkdirSync(path.join(root, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(root, 'index.html'), INDEX);
  fs.writeFileSync(path.join(root, 'app.js'), 'console.log("app");\n');
  fs.writeFileSync(path.join(root, 'app.css'), 'body{margin:0}\n');
  fs.writeFileSync(path.join(root, 'assets', 'chunk-AB12CD34.js'), 'export const x = 1;\n');
  fs.writeFileSync(path.join(root, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  fs.writeFileSync(path.join(root, 'assets', '.hidden'), SECRET);
  fs.writeFileSync(path.join(dir, 'web', 'secret.txt'), SECRET);
  fs.writeFileSync(path.join(dir, 'secret.txt'), SECRET);
  fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'assets', 'link.txt'));
  return root;
}

/** A request with the path sent exactly as written (no client-side normalisation of `..`). */
function raw(h: Harness, method: string, rawPath: string, headers: Record<string, string> = {}): Promise<TestResponse> {
  const { port } = h.server.address();
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path: rawPath, headers, ca: h.caPem, servername: 'localhost', minVersion: 'TLSv1.3', agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.end();
  });
}

function dashboardHeadersOn(t: Test, res: TestResponse, label: string): void {
  t.equal(res.headers['content-security-policy'], DASHBOARD_CSP, `${label}: CSP`);
  t.equal(res.headers['referrer-policy'], 'no-referrer', `${label}: Referrer-Policy`);
  t.equal(res.headers['x-content-type-options'], 'nosniff', `${label}: nosniff`);
  t.equal(res.headers['x-frame-options'], 'DENY', `${label}: X-Frame-Options`);
  t.equal(res.headers['strict-transport-security'], HSTS_VALUE, `${label}: HSTS`);
}

t.test('the web root is packages/web/dist; the files are public routes beside the API, every one GET', async (t) => {
  t.equal(DEFAULT_WEB_ROOT, path.resolve(__dirname, '..', '..', 'web', 'dist'));
  t.same(LISTENER_ROUTES.slice(0, API_ROUTES.length), API_ROUTES, 'the API first');
  for (const route of STATIC_SITE_ROUTES) {
    t.equal(route.method, 'GET', `${route.pattern}: GET`);
    t.equal(route.permission, null, `${route.pattern}: no permission`);
    t.notOk(API_ROUTES.some((r) => r.pattern === route.pattern), `${route.pattern}: no API route shadowed`);
  }
});

t.test('/ redirects to /fleet; client routes answer index.html; files answer with their type and cache rule', async (t) => {
  const h = await startApi(t, { webRoot: webRoot(scratch(t)) });
  const home = await request(h, 'GET', '/');
  t.equal(home.status, 302);
  t.equal(home.headers.location, '/fleet');
  t.equal(home.text, '');
  dashboardHeadersOn(t, home, '/');

  for (const pattern of CLIENT_PATHS) {
    const p = pattern.replace(':node', 'db-1').replace(':id', 'node-overview');
    const res = await request(h, 'GET', p);
    t.equal(res.status, 200, p);
    t.equal(res.text, INDEX, `${p}: index.html`);
    t.equal(res.headers['content-type'], 'text/html; charset=utf-8', `${p}: html`);
    t.equal(res.headers['cache-control'], 'no-cache', `${p}: revalidated before use`);
    t.match(res.headers.etag, /^"[\w-]+"$/, `${p}: an ETag`);
    dashboardHeadersOn(t, res, p);
  }
  const encodedNode = await request(h, 'GET', '/nodes/db%2D1');
  t.equal(encodedNode.text, INDEX, 'a node name with escapes is still the app');

  const js = await request(h, 'GET', '/app.js');
  t.equal(js.status, 200);
  t.equal(js.text, 'console.log("app");\n');
  t.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  t.equal(js.headers['cache-control'], 'no-cache', 'an unhashed name is revalidated');
  dashboardHeadersOn(t, js, '/app.js');
  const css = await request(h, 'GET', '/app.css');
  t.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  t.equal(css.text, 'body{margin:0}\n');

  const hashed = await request(h, 'GET', '/assets/chunk-AB12CD34.js');
  t.equal(hashed.status, 200);
  t.equal(hashed.headers['cache-control'], 'public, max-age=31536000, immutable', 'a hashed name is kept for a year');
  const svg = await request(h, 'GET', '/assets/logo.svg');
  t.equal(svg.headers['content-type'], 'image/svg+xml');
  t.equal(svg.headers['cache-control'], 'no-cache');
});

t.test('ETag: a current copy gets 304 without a body; a changed file a new tag', async (t) => {
  const root = webRoot(scratch(t));
  const h = await startApi(t, { webRoot: root });
  const first = await request(h, 'GET', '/app.js');
  const etag = String(first.headers.etag);
  const again = await request(h, 'GET', '/app.js', { headers: { 'If-None-Match': etag } });
  t.equal(again.status, 304);
  t.equal(again.text, '');
  t.equal(again.headers.etag, etag);
  t.equal(again.headers['cache-control'], 'no-cache');
  dashboardHeadersOn(t, again, '304');
  const listed = await request(h, 'GET', '/app.js', { headers: { 'If-None-Match': `"other", W/${etag}` } });
  t.equal(listed.status, 304, 'a weak form in a list matches too');
  const index = await request(h, 'GET', '/fleet', { headers: { 'If-None-Match': etag } });
  t.equal(index.status, 200, "another file's tag does not match");

  fs.writeFileSync(path.join(root, 'app.js'), 'console.log("app, rebuilt with more");\n');
  const changed = await request(h, 'GET', '/app.js', { headers: { 'If-None-Match': etag } });
  t.equal(changed.status, 200);
  t.equal(changed.text, 'console.log("app, rebuilt with more");\n');
  t.not(changed.headers.etag, etag);
});

t.test('HEAD answers the headers of GET without the body, on the public routes only', async (t) => {
  const h = await startApi(t, { webRoot: webRoot(scratch(t)) });
  for (const p of ['/fleet', '/app.js', '/assets/logo.svg']) {
    const get = await request(h, 'GET', p);
    const head = await request(h, 'HEAD', p);
    t.equal(head.status, 200, `HEAD ${p}`);
    t.equal(head.text, '', `HEAD ${p}: no body`);
    t.equal(head.headers['content-length'], String(Buffer.byteLength(get.text)), `HEAD ${p}: GET's length`);
    t.equal(head.headers['content-type'], get.headers['content-type'], `HEAD ${p}: GET's type`);
    t.equal(head.headers.etag, get.headers.etag, `HEAD ${p}: GET's ETag`);
    dashboardHeadersOn(t, head, `HEAD ${p}`);
  }
  const home = await request(h, 'HEAD', '/');
  t.equal(home.status, 302);
  t.equal(home.headers.location, '/fleet');
  const api = await request(h, 'HEAD', '/api/v1/agents');
  t.equal(api.status, 405, 'HEAD of an API route: 405, as before');
  t.equal(api.headers.allow, 'GET');
});

t.test('nothing outside the web root is served: .., encoded dots and slashes, backslashes, NUL, hidden names, links out', async (t) => {
  const h = await startApi(t, { webRoot: webRoot(scratch(t)) });
  const refused = [
    '/assets/../../secret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/assets/..%2F..%2F..%2Fsecret.txt',
    '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/assets/%2E%2E%2Fsecret.txt',
    '/assets/..%5c..%5csecret.txt',
    '/assets/.',
    '/assets/%2e',
    '/assets/logo.svg%00.js',
    '/assets/%00',
    '/assets/.hidden',
    '/assets/link.txt',
    '/assets/%252e%252e%252fsecret.txt',
    '/assets/%',
    '/secret.txt',
    '/..%2fsecret.txt',
    '/%2e%2e/%2e%2e/secret.txt',
    '/assets/a/b',
    '/app.js/..%2f..%2fsecret.txt',
    '/index.html',
  ];
  for (const p of refused) {
    const res = await raw(h, 'GET', p);
    t.equal(res.status, 404, `${p}: 404`);
    t.notMatch(res.text, SECRET, `${p}: nothing of the secret`);
    t.match(res.json, { error: 'not_found' }, `${p}: the API's 404`);
  }
  // Dot segments, encoded or not, are resolved by the URL parser before routing: these are `/`.
  for (const p of ['/assets/..', '/assets/%2e%2e', '/assets/%2E%2e/']) {
    const res = await raw(h, 'GET', p);
    t.equal(res.status, 302, `${p} is /`);
    t.equal(res.headers.location, '/fleet');
  }
  // A client route with a hostile parameter is still only the app (its own code refuses the node).
  for (const p of ['/nodes/..%2f..%2fsecret.txt', '/dashboards/%2e%2e%2fsecret.txt', '/nodes/%00']) {
    const res = await raw(h, 'GET', p);
    t.equal(res.status, 200, p);
    t.equal(res.text, INDEX, `${p}: index.html, nothing else`);
  }
});

t.test('everything else is as before: unknown paths 404, other methods 405, the API unchanged', async (t) => {
  const h = await startApi(t, { webRoot: webRoot(scratch(t)) });
  const unknown = await request(h, 'GET', '/nope');
  t.equal(unknown.status, 404);
  t.match(unknown.json, { error: 'not_found' });
  const posted = await request(h, 'POST', '/fleet');
  t.equal(posted.status, 405);
  t.equal(posted.headers.allow, 'GET');
  t.equal((await request(h, 'DELETE', '/app.js')).status, 405);
  t.equal((await request(h, 'POST', '/elsewhere')).status, 404);
  const health = await request(h, 'GET', '/healthz');
  t.same(health.json, { status: 'ok' });
  t.equal((await request(h, 'GET', '/api/v1/agents')).status, 401, 'the API still wants a token');
});

t.test('a web app never built: / and the client routes answer 503 saying how to build it; files 404', async (t) => {
  const h = await startApi(t, { webRoot: path.join(scratch(t), 'never-built') });
  for (const p of ['/', '/fleet', '/signin', '/nodes/db-1']) {
    const res = await request(h, 'GET', p);
    t.equal(res.status, 503, p);
    t.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    t.match(res.text, /^[^\n]*npm run build[^\n]*\n$/, `${p}: one line naming npm run build`);
    dashboardHeadersOn(t, res, p);
  }
  t.equal((await request(h, 'GET', '/app.js')).status, 404);
});
