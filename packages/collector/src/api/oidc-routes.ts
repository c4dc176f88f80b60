import type * as http from 'node:http';
import { DASHBOARD_HEADERS } from '../web/dashboard-headers';
import type { OidcSignIn } from '../web/oidc-sign-in';
import { startSession } from '../web/start-session';
import { HttpError } from './http-error';
import type { Route, RouteContext, RouteResult } from './route-table';

/** What the OIDC routes use of the sign-in module (ApiDeps.oidc). */
export type OidcSignInDep = Pick<OidcSignIn, 'ready' | 'label' | 'flowTtlMs' | 'begin' | 'finish'> & {
  readonly displayName: string;
  /** The claim role_map reads, named on the "no role" page. */
  readonly roleClaim: string;
};

/** The browser's handle on a sign-in in progress; the state, nonce and verifier stay on the server. */
export const OIDC_FLOW_COOKIE = '__Host-ximp-oidc';

// SameSite=Lax, not Strict: the provider sends the browser back with a cross-site top-level GET,
// on which a Strict cookie would not be sent. Lax still keeps it off cross-site subrequests and POSTs.
const FLOW_COOKIE_ATTRIBUTES = 'Path=/; Secure; HttpOnly; SameSite=Lax';

/** The dashboard's headers, never cached (a redirect carries a one-time state). */
const OIDC_HEADERS: Readonly<Record<string, string>> = { ...DASHBOARD_HEADERS, 'Cache-Control': 'no-store' };

function flowCookieOf(req: http.IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === OIDC_FLOW_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A small page in the dashboard's stylesheet: no inline script or style (the CSP allows neither). */
function page(status: number, title: string, paragraphs: string[]): RouteResult {
  const body = paragraphs.map((p) => `    <p>${escapeHtml(p)}</p>\n`).join('');
  const text =
    '<!doctype html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">\n  <meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    `  <title>${escapeHtml(title)} · XIMP</title>\n  <link rel="stylesheet" href="/app.css">\n</head>\n<body>\n  <main class="signin-message">\n` +
    `    <h1>${escapeHtml(title)}</h1>\n${body}    <p><a href="/signin">Back to sign-in</a></p>\n  </main>\n</body>\n</html>\n`;
  return { status, text, contentType: 'text/html; charset=utf-8' };
}

/** As for any route that is not there: JSON, like the rest of the API's refusals. */
function notConfigured(): HttpError {
  return new HttpError(404, 'not_found', 'no identity provider is configured (collector.yaml dashboard.oidc)');
}

function unavailable(): RouteResult {
  return page(503, 'Sign-in through the identity provider is not available', [
    'The collector has not reached the identity provider yet. Try again in a minute, or sign in with a local user.',
  ]);
}

const REFUSAL_TEXT: Record<string, string> = {
  provider_error: 'The identity provider did not sign you in',
  state_unknown: 'This sign-in is not valid any more',
  state_expired: 'This sign-in took too long',
  state_mismatch: 'This sign-in does not belong to this browser',
  exchange_failed: 'The identity provider\'s answer could not be verified',
  no_name: 'The identity provider named no user',
};

async function start(ctx: RouteContext): Promise<RouteResult> {
  const oidc = ctx.deps.oidc;
  if (oidc === undefined) throw notConfigured();
  const begun = await oidc.begin();
  if (begun === null) return unavailable();
  ctx.res?.setHeader('Set-Cookie', `${OIDC_FLOW_COOKIE}=${begun.flowKey}; ${FLOW_COOKIE_ATTRIBUTES}; Max-Age=${Math.floor(oidc.flowTtlMs / 1000)}`);
  ctx.res?.setHeader('Location', begun.location);
  return { status: 302, text: '', contentType: 'text/plain; charset=utf-8' };
}

async function callback(ctx: RouteContext): Promise<RouteResult> {
  const { deps, source } = ctx;
  const oidc = deps.oidc;
  if (oidc === undefined) throw notConfigured();
  // The flow is used up whatever the outcome: the browser forgets its handle too.
  ctx.res?.setHeader('Set-Cookie', `${OIDC_FLOW_COOKIE}=; ${FLOW_COOKIE_ATTRIBUTES}; Max-Age=0`);
  const result = await oidc.finish(flowCookieOf(ctx.req), ctx.query);
  if (result.kind === 'refused') {
    if (result.reason === 'not_ready') return unavailable();
    deps.audit.record({ actor: 'anonymous', action: 'session.login_failed', target: '(oidc)', source, reason: `oidc_${result.reason}` }, deps.now());
    const detail = result.reason === 'provider_error' ? `It answered: ${result.detail}.` : `${result.detail}.`;
    return page(400, REFUSAL_TEXT[result.reason] ?? 'Sign-in failed', [detail.charAt(0).toUpperCase() + detail.slice(1), 'Start again from the sign-in page.']);
  }
  const { identity } = result;
  if (result.kind === 'no_role') {
    deps.audit.record({ actor: `oidc:${identity.name}`, action: 'session.login_failed', target: identity.name, source, reason: 'no_role' }, deps.now());
    deps.log.info({ user: identity.name, claim: oidc.roleClaim, remote: source }, 'dashboard sign-in refused: no mapped role');
    // Names the claim that was read, never the user's values of it (group names can be sensitive).
    return page(403, 'Your account has no XIMP role', [
      `You signed in as ${identity.name}, but no value of the "${oidc.roleClaim}" claim your identity provider sent is mapped to a XIMP role.`,
      'Ask an administrator to add you to a group that has access.',
    ]);
  }
  if (identity.role === null) throw new Error('unreachable: a signed-in identity has a role');
  const res = ctx.res;
  if (res === undefined) throw new Error('the OIDC callback needs the response to set its cookie');
  // startSession sets the session cookie with setHeader; keep the flow cookie's removal beside it.
  const flowCleared = res.getHeader('Set-Cookie');
  startSession(deps, res, { name: identity.name, displayName: identity.displayName, method: 'oidc', role: identity.role, nodes: identity.nodes }, source);
  const sessionCookie = res.getHeader('Set-Cookie');
  res.setHeader('Set-Cookie', [String(flowCleared), String(sessionCookie)]);
  res.setHeader('Location', '/');
  return { status: 302, text: '', contentType: 'text/plain; charset=utf-8' };
}

/** SPEC §15: sign-in through the organisation's OpenID provider; no bearer token. */
export const OIDC_ROUTES: readonly Route[] = [
  { method: 'GET', pattern: '/auth/oidc/start', permission: null, headers: OIDC_HEADERS, handler: start },
  { method: 'GET', pattern: '/auth/oidc/callback', permission: null, headers: OIDC_HEADERS, handler: callback },
];
