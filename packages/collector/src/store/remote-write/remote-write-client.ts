import * as fs from 'node:fs';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { clientTlsOptions, ErrorCodes, trustFailureKind, XimpError, type ClientTlsOptions } from '@ximp/shared';
import { COLLECTOR_VERSION } from '../../version';
import { REMOTE_WRITE_HEADERS } from './write-request';

export interface RemoteWriteClientOptions {
  url: string;
  caFile: string;
  /**
   * Also trusted, while it exists: the CA roll's `ca-bundle.pem` when `caFile` is the XIMP CA, so a
   * store whose certificate the next CA signed is trusted from the roll's first step on.
   */
  trustBundleFile?: string;
  certFile: string;
  keyFile: string;
  /** One request, connection included. */
  timeoutMs: number;
  /** Sockets kept per store (one per shard is enough). */
  maxSockets?: number;
}

/** A store's answer to one request. */
export interface RemoteWriteResponse {
  status: number;
  /** From `Retry-After` (seconds or an HTTP date), when present and readable. */
  retryAfterMs?: number;
  /** The first 256 bytes of the body, control characters stripped: the store's own words. */
  message: string;
}

/** Why a request got no answer. */
export type NetworkErrorKind = 'tls' | 'connect' | 'timeout' | 'reset';

export class RemoteWriteNetworkError extends XimpError {
  constructor(
    readonly kind: NetworkErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCodes.REMOTE_WRITE_NETWORK, message, options);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = 'RemoteWriteNetworkError';
  }
}

export type TlsReloadResult = { ok: true } | { ok: false; error: XimpError };

const MESSAGE_BYTES = 256;
/** A larger error body is not read to its end: the socket is dropped instead of reused. */
const MAX_BODY_BYTES = 64 * 1024;

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

interface AgentSlot {
  agent: https.Agent;
  inFlight: number;
  retired: boolean;
}

/**
 * POSTs remote-write bodies to one store over HTTPS: TLS 1.3 only, the store verified against
 * `caFile`, the client certificate presented, connections kept alive. `reloadTls()` (SIGHUP, a
 * renewed managed certificate) makes new connections use the files as they are now; requests
 * under way finish on their old connection.
 */
export class RemoteWriteClient {
  private readonly url: URL;
  private readonly headers: Record<string, string>;
  private slot: AgentSlot;
  private closed = false;

  /** Throws XIMP_ERR_PKI_INVALID when the TLS files cannot be read or do not fit together. */
  constructor(private readonly options: RemoteWriteClientOptions) {
    this.url = new URL(options.url);
    this.headers = { ...REMOTE_WRITE_HEADERS, 'User-Agent': `ximp-collector/${COLLECTOR_VERSION}` };
    this.slot = this.newSlot(this.loadTls());
  }

  /** Re-reads ca_file, cert_file and key_file; on failure the old material stays in use. Never throws. */
  reloadTls(): TlsReloadResult {
    let tlsOptions: ClientTlsOptions;
    try {
      tlsOptions = this.loadTls();
    } catch (err) {
      return { ok: false, error: err as XimpError };
    }
    if (this.closed) return { ok: true };
    const old = this.slot;
    this.slot = this.newSlot(tlsOptions);
    this.retire(old);
    return { ok: true };
  }

  /**
   * Sends one body. Resolves with the store's answer, whatever its status; rejects with
   * RemoteWriteNetworkError when there is none, or XIMP_ERR_STORE_STOPPED once `signal` aborts.
   */
  send(body: Uint8Array, signal?: AbortSignal): Promise<RemoteWriteResponse> {
    if (this.closed) return Promise.reject(new XimpError(ErrorCodes.STORE_STOPPED, 'remote-write client is closed'));
    if (signal?.aborted) return Promise.reject(new XimpError(ErrorCodes.STORE_STOPPED, 'remote-write request aborted'));
    const slot = this.slot;
    slot.inFlight++;
    return new Promise<RemoteWriteResponse>((resolve, reject) => {
      let timedOut = false;
      let aborted = false;
      let settled = false;
      let handshakeDone = false;
      let reusedSocket = false;
      let answered = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        slot.inFlight--;
        if (slot.retired && slot.inFlight === 0) slot.agent.destroy();
        fn();
      };
      const req = https.request(this.url, {
        method: 'POST',
        agent: slot.agent,
        headers: { ...this.headers, 'Content-Length': String(body.byteLength) },
      });
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy();
      }, this.options.timeoutMs);
      const onAbort = (): void => {
        aborted = true;
        req.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('socket', (socket) => {
        reusedSocket = req.reusedSocket;
        if (!(socket instanceof tls.TLSSocket) || !socket.connecting) {
          handshakeDone = reusedSocket || (socket as tls.TLSSocket).encrypted === true;
        } else {
          // Only a socket still connecting gets a listener: a kept-alive one would collect one per request.
          socket.once('secureConnect', () => (handshakeDone = true));
        }
      });
      req.on('response', (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        let kept = 0;
        let total = 0;
        const done = (): void => {
          const text = Buffer.concat(chunks).subarray(0, MESSAGE_BYTES).toString('utf8');
          const response: RemoteWriteResponse = { status: res.statusCode ?? 0, message: cleanMessage(text) };
          const retryAfterMs = parseRetryAfter(res.headers['retry-after'], Date.now());
          if (retryAfterMs !== undefined) response.retryAfterMs = retryAfterMs;
          finish(() => resolve(response));
        };
        res.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (kept < MESSAGE_BYTES) {
            chunks.push(chunk);
            kept += chunk.length;
          }
          if (total > MAX_BODY_BYTES) {
            res.destroy();
            done();
          }
        });
        res.on('end', done);
        // The status is known: a body cut short still tells what the store decided.
        res.on('error', done);
        res.on('aborted', done);
      });
      req.on('error', (err) => {
        if (answered) return;
        const e = aborted
          ? new XimpError(ErrorCodes.STORE_STOPPED, 'remote-write request aborted')
          : classifyNetworkError(err, { timedOut, timeoutMs: this.options.timeoutMs, handshakeDone, reusedSocket, host: this.url.host });
        finish(() => reject(e));
      });
      req.end(body);
    });
  }

  /** Closes idle connections and refuses further requests; requests under way finish. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.retire(this.slot);
  }

  private loadTls(): ClientTlsOptions {
    const { caFile, certFile, keyFile, trustBundleFile } = this.options;
    let material: { ca: Buffer; cert: Buffer; key: Buffer };
    try {
      material = { ca: fs.readFileSync(caFile), cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
      const bundle = trustBundleFile === undefined ? null : readIfPresent(trustBundleFile);
      if (bundle !== null) material.ca = Buffer.concat([material.ca, Buffer.from('\n'), bundle]);
    } catch (err) {
      throw new XimpError(ErrorCodes.PKI_INVALID, `cannot read remote-write TLS files: ${(err as Error).message}`, { cause: err });
    }
    const options = clientTlsOptions({ ...material, servername: this.url.hostname });
    try {
      // Proves the PEMs parse and the key fits the certificate before anything uses them.
      tls.createSecureContext(options);
    } catch (err) {
      throw new XimpError(ErrorCodes.PKI_INVALID, `unusable remote-write TLS files ${certFile}, ${keyFile}: ${(err as Error).message}`, { cause: err });
    }
    return options;
  }

  private newSlot(tlsOptions: ClientTlsOptions): AgentSlot {
    const agent = new https.Agent({ ...tlsOptions, keepAlive: true, maxSockets: this.options.maxSockets ?? 8, scheduling: 'lifo' });
    return { agent, inFlight: 0, retired: false };
  }

  private retire(slot: AgentSlot): void {
    slot.retired = true;
    if (slot.inFlight === 0) slot.agent.destroy();
  }
}

/** A file's bytes, or null when it does not exist (a bundle exists only once a CA roll began). */
function readIfPresent(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The body as one readable line: control characters become spaces, runs of blanks one. */
export function cleanMessage(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]+/g, ' ').replace(/\s+/g, ' ').trim();
}

/** `Retry-After` in milliseconds from now: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

interface ErrorContext {
  timedOut: boolean;
  timeoutMs: number;
  handshakeDone: boolean;
  reusedSocket: boolean;
  host: string;
}

/** Names why a request got no answer, in one line without secrets. */
export function classifyNetworkError(err: unknown, ctx: ErrorContext): RemoteWriteNetworkError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const detail = code !== '' ? code : err instanceof Error ? err.message : String(err);
  if (ctx.timedOut) return new RemoteWriteNetworkError('timeout', `no answer from ${ctx.host} within ${ctx.timeoutMs} ms`, { cause: err });
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.includes('CERT') || code.includes('SELF_SIGNED') || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE') {
    return new RemoteWriteNetworkError('tls', `TLS with ${ctx.host} failed: ${detail} (check ca_file, the client certificate and the store's client CA)`, { cause: err });
  }
  // OpenSSL reports the server's protocol-version alert on a write as a plain EPROTO.
  if (trustFailureKind(err) === 'tls_version') {
    return new RemoteWriteNetworkError('tls', `TLS with ${ctx.host} failed: the store offers only TLS below 1.3 (alert protocol version; check its TLS settings)`, { cause: err });
  }
  if (CONNECT_CODES.has(code)) return new RemoteWriteNetworkError('connect', `cannot connect to ${ctx.host}: ${detail}`, { cause: err });
  if (RESET_CODES.has(code) || (err instanceof Error && /socket hang up/.test(err.message))) {
    if (!ctx.handshakeDone || !ctx.reusedSocket) {
      // A store that refuses the client certificate may just close the new connection (Go's TLS
      // 1.3 server does): on a fresh connection with no answer, say so.
      return new RemoteWriteNetworkError(
        'tls',
        `${ctx.host} closed a new connection without answering: ${detail} (the store may refuse the client certificate; check it and the store's client CA)`,
        { cause: err },
      );
    }
    return new RemoteWriteNetworkError('reset', `connection to ${ctx.host} broke: ${detail}`, { cause: err });
  }
  return new RemoteWriteNetworkError('reset', `request to ${ctx.host} failed: ${detail}`, { cause: err });
}
