import * as https from 'node:https';
import { clientTlsOptions, describeTrustFailure, trustFailureKind } from '@ximp/shared';
import { COLLECTOR_VERSION } from '../version';
import type { DeliveryResult } from './notifier';

export interface HttpsPostOptions {
  /** PEM of the CA the server must chain to; null = the system's CAs. */
  ca: Buffer | null;
  headers: Record<string, string>;
  timeoutMs: number;
}

/** What is read of an answer's body: enough to name the receiver's complaint. */
const BODY_BYTES = 256;

/**
 * POSTs `body` over HTTPS (TLS 1.3 only, the server verified) and says what came of it: 2xx is
 * delivered; 408, 429 and 5xx, a network error or a timeout may succeed later; any other answer
 * will not. The detail names the status or the failure, never a header value.
 */
export function httpsPost(url: string, body: Buffer, o: HttpsPostOptions): Promise<DeliveryResult> {
  return new Promise<DeliveryResult>((resolve) => {
    let done = false;
    const finish = (result: DeliveryResult): void => {
      if (done) return;
      done = true;
      resolve(result);
    };
    const target = new URL(url);
    let req: ReturnType<typeof https.request>;
    try {
      req = https.request(target, {
        method: 'POST',
        agent: false,
        timeout: o.timeoutMs,
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length), 'User-Agent': `ximp-collector/${COLLECTOR_VERSION}`, ...o.headers },
        ...clientTlsOptions({ ca: o.ca, servername: target.hostname }),
      });
    } catch (err) {
      finish({ ok: false, retry: false, detail: (err as Error).message });
      return;
    }
    req.on('timeout', () => {
      req.destroy();
      finish({ ok: false, retry: true, detail: `no answer within ${o.timeoutMs} ms` });
    });
    req.on('error', (err) => {
      const trust = trustFailureKind(err) === null ? null : describeTrustFailure(err, { peer: 'the receiver', urlSetting: 'the channel url', caSetting: 'the channel ca_file' });
      const code = (err as NodeJS.ErrnoException).code;
      finish({ ok: false, retry: true, detail: trust?.message ?? (code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message) });
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < BODY_BYTES) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('error', () => undefined);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const said = Buffer.concat(chunks).subarray(0, BODY_BYTES).toString('utf8').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
        const detail = said === '' ? `HTTP ${status}` : `HTTP ${status}: ${said}`;
        if (status >= 200 && status < 300) finish({ ok: true, detail: `HTTP ${status}` });
        else finish({ ok: false, retry: status === 408 || status === 429 || status >= 500, detail });
      });
    });
    req.end(body);
  });
}
