import type * as http from 'node:http';

/** SPEC §15: no inline script or style, nothing from elsewhere, never framed. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The headers of every dashboard response (static files and /auth/*); HSTS is set for every response already. */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': DASHBOARD_CSP,
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
});

/** Sets the dashboard's security headers on a response. */
export function setDashboardHeaders(res: Pick<http.ServerResponse, 'setHeader'>): void {
  for (const [name, value] of Object.entries(DASHBOARD_HEADERS)) res.setHeader(name, value);
}
