import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Route, RouteContext, RouteResult } from '../api/route-table';
import { DASHBOARD_HEADERS } from './dashboard-headers';

/**
 * The built dashboard (packages/web/dist), found from the collector's own location: this file is
 * packages/collector/{src,dist}/web/static-site.*, so the same relative path works from both.
 */
export const DEFAULT_WEB_ROOT = path.resolve(__dirname, '..', '..', '..', 'web', 'dist');

/** The web app's client-side routes (History API): each answers index.html and the app routes itself. */
export const CLIENT_PATHS: readonly string[] = [
  '/signin',
  '/password',
  '/fleet',
  '/nodes/:node',
  '/dashboards',
  '/dashboards/:id',
  '/alerts',
  '/admin/tokens',
  '/admin/clients',
  '/admin/users',
  '/admin/certificates',
  '/admin/retention',
  '/admin/audit',
];

/** Built files at the top of dist (index.html links them); anything else lives under /assets/. */
const TOP_LEVEL_FILES: readonly string[] = ['app.js', 'app.css'];

/** A built file larger than this is refused rather than read into memory (the bundle is ~100 KiB). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** esbuild's `[name]-[hash]`: such a file never changes under its name, so browsers keep it a year. */
const HASHED_NAME = /-[A-Za-z0-9]{8,}\.[a-z0-9]+$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Unhashed files and index.html: kept, but revalidated (ETag) before every use. */
const REVALIDATE = 'no-cache';

const NOT_BUILT = 'The dashboard is not built: run `npm run build` in the repository, then reload.\n';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

function notFound(): RouteResult {
  return { status: 404, body: { error: 'not_found', message: 'no such route' } };
}

/**
 * A file name as the router decoded it, accepted only when it names one entry of its folder: no
 * separators (an encoded `%2f` arrives here decoded), no `.`/`..` or hidden names, no NUL.
 */
function safeName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && !name.startsWith('.') && !/[/\\\0]/.test(name);
}

/** The real path of `name` in `folder` of the web root, only if it is a regular file inside the root. */
async function fileInside(root: string, folder: string, name: string): Promise<string | null> {
  if (!safeName(name)) return null;
  try {
    const realRoot = await fs.realpath(root);
    // A symbolic link in dist could point anywhere: the resolved path must still be inside.
    const real = await fs.realpath(path.join(realRoot, folder, name));
    if (!real.startsWith(realRoot + path.sep)) return null;
    const stat = await fs.stat(real);
    return stat.isFile() ? real : null;
  } catch {
    return null;
  }
}

/** The file with its validators; 304 when the caller's copy (If-None-Match) is current. */
async function serveFile(ctx: RouteContext, file: string, cacheControl: string): Promise<RouteResult> {
  const stat = await fs.stat(file);
  if (stat.size > MAX_FILE_BYTES) return notFound();
  const etag = `"${createHash('sha256').update(`${file}\0${stat.size}\0${stat.mtimeMs}`).digest('base64url').slice(0, 22)}"`;
  const headers: Record<string, string> = { ETag: etag, 'Cache-Control': cacheControl };
  const match = ctx.req.headers['if-none-match'];
  if (match !== undefined && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
    return { status: 304, bytes: Buffer.alloc(0), headers };
  }
  const bytes = await fs.readFile(file);
  headers['Content-Type'] = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  return { status: 200, bytes, headers };
}

function webRoot(ctx: RouteContext): string {
  return ctx.deps.webRoot ?? DEFAULT_WEB_ROOT;
}

/** index.html for a client route, or 503 with what to do when the web app was never built. */
async function serveIndex(ctx: RouteContext): Promise<RouteResult> {
  const file = await fileInside(webRoot(ctx), '.', 'index.html');
  if (file === null) return { status: 503, text: NOT_BUILT, contentType: 'text/plain; charset=utf-8' };
  return serveFile(ctx, file, REVALIDATE);
}

async function serveAsset(ctx: RouteContext, folder: string, name: string): Promise<RouteResult> {
  const file = await fileInside(webRoot(ctx), folder, name);
  if (file === null) return notFound();
  return serveFile(ctx, file, HASHED_NAME.test(name) ? IMMUTABLE : REVALIDATE);
}

const HEADERS = DASHBOARD_HEADERS;

/**
 * The dashboard on the API listener: `/` sends the browser to /fleet, client routes answer
 * index.html, built files answer themselves. No permission: the files hold no data (the app asks
 * the API, which checks the session), and the sign-in page must load before anyone is signed in.
 */
export const STATIC_SITE_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: '/',
    permission: null,
    headers: HEADERS,
    async handler(ctx) {
      if ((await fileInside(webRoot(ctx), '.', 'index.html')) === null) {
        return { status: 503, text: NOT_BUILT, contentType: 'text/plain; charset=utf-8' };
      }
      return { status: 302, bytes: Buffer.alloc(0), headers: { Location: '/fleet', 'Cache-Control': REVALIDATE } };
    },
  },
  ...CLIENT_PATHS.map((pattern): Route => ({ method: 'GET', pattern, permission: null, headers: HEADERS, handler: serveIndex })),
  ...TOP_LEVEL_FILES.map((name): Route => ({
    method: 'GET',
    pattern: `/${name}`,
    permission: null,
    headers: HEADERS,
    handler: (ctx) => serveAsset(ctx, '.', name),
  })),
  {
    method: 'GET',
    pattern: '/assets/:file',
    permission: null,
    headers: HEADERS,
    handler: (ctx) => serveAsset(ctx, 'assets', ctx.params.file),
  },
];
