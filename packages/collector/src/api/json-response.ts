import type * as http from 'node:http';

/** HSTS for a year, subdomains included (SPEC §10); set on every response, errors too. */
export const HSTS_VALUE = 'max-age=31536000; includeSubDomains';

/** Headers every response carries, set before anything else can answer. */
export function setSecurityHeaders(res: http.ServerResponse): void {
  res.setHeader('Strict-Transport-Security', HSTS_VALUE);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
}

/** Sends `body` as JSON with `status`; extra headers (Cache-Control, WWW-Authenticate, ...) on top. */
export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (status === 204) {
    // No Content: no body and no Content-Type (RFC 9110 §15.3.5).
    res.statusCode = status;
    res.end();
    return;
  }
  const text = JSON.stringify(body) + '\n';
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.statusCode = status;
  res.end(text);
}

/** Sends plain text (the Prometheus exposition format). */
export function sendText(res: http.ServerResponse, status: number, text: string, contentType: string): void {
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.statusCode = status;
  res.end(text);
}

/** Sends bytes as they are (static files, redirects); a HEAD or 304 answer drops the body itself. */
export function sendBytes(res: http.ServerResponse, status: number, bytes: Buffer, headers: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Length', bytes.length);
  res.statusCode = status;
  res.end(bytes);
}
