/**
 * The Content-Security-Policy of every dashboard response (static files and /auth/*): nothing but
 * this origin, no inline script or style, no framing. The other headers of the dashboard contract
 * (Referrer-Policy, X-Content-Type-Options, X-Frame-Options, HSTS) are on every API response already.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The dashboard's security headers, for a route's `headers` (set on its errors too). */
export function dashboardHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': DASHBOARD_CSP,
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
  };
}
