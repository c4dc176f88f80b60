import type * as http from 'node:http';
import { HttpError, invalidRequest } from './http-error';

/** Bodies are small JSON objects or token forms; anything bigger is refused (413). */
export const MAX_BODY_BYTES = 64 * 1024;

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'request_too_large', `request body exceeds ${limit} bytes`);
}

/** True when the request announces a body (so an early answer should not keep the connection). */
export function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Reads the whole body, refusing more than `limit` bytes (by Content-Length first, then by counting). */
export function readBody(req: http.IncomingMessage, limit: number = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        finish(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(null);
    const onError = (err: Error): void => finish(new HttpError(400, 'invalid_request', `request body unreadable (${err.message})`));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function mediaType(req: http.IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * The body as a JSON object. An empty body is `{}` when `emptyAllowed`; otherwise 400. Another
 * media type than application/json is 415.
 */
export async function readJsonObject(req: http.IncomingMessage, emptyAllowed = false): Promise<Record<string, unknown>> {
  const body = await readBody(req);
  if (body.length === 0 && emptyAllowed) return {};
  const type = mediaType(req);
  if (type !== '' && type !== 'application/json') {
    throw new HttpError(415, 'unsupported_media_type', 'expected Content-Type: application/json');
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalidRequest('body: not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidRequest('body: expected a JSON object');
  return value as Record<string, unknown>;
}

/** The body as JSON text, for readers that report problems by field path (rules, channels). */
export async function readJsonText(req: http.IncomingMessage): Promise<string> {
  const body = await readBody(req);
  const type = mediaType(req);
  if (type !== '' && type !== 'application/json') {
    throw new HttpError(415, 'unsupported_media_type', 'expected Content-Type: application/json');
  }
  const text = body.toString('utf8');
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidRequest('body: expected a JSON object');
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw invalidRequest('body: not valid JSON');
  }
  return text;
}

/**
 * The body as an application/x-www-form-urlencoded form (RFC 6749 §4.4.2). A parameter given
 * more than once is an error (§3.1), as is another media type.
 */
export async function readForm(req: http.IncomingMessage): Promise<Map<string, string>> {
  if (mediaType(req) !== 'application/x-www-form-urlencoded') {
    throw invalidRequest('expected Content-Type: application/x-www-form-urlencoded');
  }
  const body = await readBody(req);
  const form = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(body.toString('utf8'))) {
    if (form.has(name)) throw invalidRequest(`parameter ${name} given more than once`);
    form.set(name, value);
  }
  return form;
}
