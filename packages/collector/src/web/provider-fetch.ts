import * as https from 'node:https';
import { ErrorCodes, XimpError } from '@ximp/shared';

/** The subset of fetch()'s options that openid-client passes to a custom fetch. */
export interface ProviderFetchInit {
  method: string;
  headers: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
}

export type ProviderFetch = (url: string, init: ProviderFetchInit) => Promise<Response>;

export interface ProviderFetchOptions {
  /** Trusted CAs (PEM); undefined = Node's default roots. */
  ca?: string[];
  timeoutMs?: number;
  /** Largest answer read (discovery, JWKS, tokens and userinfo are small). Default 1 MiB. */
  maxBytes?: number;
}

/** What openid-client sends: form parameters, JSON text, or nothing; null for anything else. */
function bodyOf(body: unknown): string | Buffer | undefined | null {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof Uint8Array) return Buffer.from(body);
  return null;
}

/**
 * A fetch for openid-client over node:https: TLS 1.3 at least, the configured CAs, a timeout and a
 * bounded body. Global fetch (undici) takes neither a TLS floor nor a CA per request.
 */
export function providerFetch(options: ProviderFetchOptions = {}): ProviderFetch {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const target = new URL(url);
      if (target.protocol !== 'https:') {
        reject(new XimpError(ErrorCodes.TLS_UNTRUSTED, `the identity provider must be reached over https (${target.origin})`));
        return;
      }
      const body = bodyOf(init.body);
      if (body === null) {
        reject(new TypeError('a request body must be a string, form parameters or bytes'));
        return;
      }
      const headers = { ...init.headers };
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      const req = https.request(target, {
        method: init.method,
        headers,
        minVersion: 'TLSv1.3',
        ca: options.ca,
        signal: init.signal,
        timeout: timeoutMs,
        agent: false,
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${target.origin} within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            res.destroy(new Error(`answer from ${target.origin} larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value === undefined) continue;
            for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
          }
          const status = res.statusCode ?? 502;
          const noBody = status === 204 || status === 304 || init.method === 'HEAD';
          resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, headers }));
        });
      });
      req.end(body);
    });
}
