import * as https from 'node:https';
import * as tls from 'node:tls';
import { clientTlsOptions, peerCertificateDates, tlsVersionReason, trustFailureKind } from '@ximp/shared';
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
      const code = (err as NodeJS.ErrnoException).code;
      const plain = code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
      if (trustFailureKind(err) === null) {
        finish({ ok: false, retry: true, detail: plain });
        return;
      }
      void describeReceiverTrustFailure(err, target, o.ca !== null).then(
        (text) => finish({ ok: false, retry: true, detail: text ?? plain }),
        () => finish({ ok: false, retry: true, detail: plain }),
      );
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

/**
 * Why a receiver (a webhook or an Alertmanager, run by someone else with certificates of their
 * own) was not trusted, and what to change: the channel's `url` or `ca_file`, or the receiver.
 * The collector's own wording (its CA, `ximp tls renew`) does not apply here. Null when `err` is
 * no trust failure.
 */
export async function describeReceiverTrustFailure(err: unknown, url: URL, caFileSet: boolean): Promise<string | null> {
  const kind = trustFailureKind(err);
  if (kind === null) return null;
  const code = (err as { code?: string }).code ?? '';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const dates = async (): Promise<{ notBefore: string; notAfter: string } | null> =>
    // Node keeps no peer certificate after a failed verification: read its dates once more.
    peerCertificateDates({ host, port: Number(url.port || 443), servername: url.hostname }).catch(() => null);
  switch (kind) {
    case 'unknown_ca':
      return caFileSet
        ? `the receiver's certificate is not signed by the CA in the channel's ca_file (${code}): set ca_file to the CA that issued the receiver's certificate`
        : `the receiver's certificate is not signed by a CA of this system (${code}): set the channel's ca_file to the CA that issued the receiver's certificate`;
    case 'wrong_host': {
      const sans = (err as { cert?: tls.PeerCertificate }).cert?.subjectaltname ?? 'none';
      return `the receiver's certificate does not name host ${host} (its SANs: ${sans}): use a name it holds in the channel's url, or give the receiver a certificate for ${host}`;
    }
    case 'expired':
      return `the receiver's certificate has expired (NOT-AFTER ${(await dates())?.notAfter ?? 'unknown'}): the receiver needs a new certificate`;
    case 'not_yet_valid':
      return `the receiver's certificate is not valid yet (NOT-BEFORE ${(await dates())?.notBefore ?? 'unknown'}): check this machine's clock and the receiver's`;
    case 'tls_version':
      return `the receiver offers only a TLS version below 1.3 (${tlsVersionReason(err)}): alerts are sent over TLS 1.3 only; enable it on the receiver or the proxy in front of it`;
    default:
      return `the receiver's certificate is not trusted (${code || kind})`;
  }
}
