import * as net from 'node:net';
import * as tls from 'node:tls';
import { ErrorCodes, XimpError } from '../errors';
import { certificateComponent } from './component-marker';

/** Why a TLS peer was not trusted; one log line (agent) or message (CLI) per kind. */
export type TrustFailureKind = 'unknown_ca' | 'wrong_host' | 'expired' | 'not_yet_valid' | 'wrong_component' | 'tls_version';

/** The peer's certificate is for another component (e.g. the API's certificate on the agent port). */
export class WrongComponentError extends XimpError {
  readonly kind = 'wrong_component';
  constructor(
    readonly component: string,
    readonly expected: string,
  ) {
    super(ErrorCodes.TLS_UNTRUSTED, `certificate for component ${component}, not ${expected}`);
  }
}

const UNKNOWN_CA = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);
/** OpenSSL's answers when the peer offers no TLS version we accept (we accept 1.3 only). */
const TLS_VERSION = new Set([
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
]);

const VERSION_TEXT = /alert protocol version|unsupported protocol|wrong version number|no protocols available/i;

/** The kind of trust failure `err` (from a TLS client socket) is, or null when it is none. */
export function trustFailureKind(err: unknown): TrustFailureKind | null {
  if (err instanceof WrongComponentError) return 'wrong_component';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  if (UNKNOWN_CA.has(code)) return 'unknown_ca';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'wrong_host';
  if (code === 'CERT_HAS_EXPIRED') return 'expired';
  if (code === 'CERT_NOT_YET_VALID') return 'not_yet_valid';
  if (TLS_VERSION.has(code)) return 'tls_version';
  // The same alert arriving on a write is reported as a plain EPROTO with OpenSSL's text.
  if (code === 'EPROTO' && VERSION_TEXT.test((err as Error).message ?? '')) return 'tls_version';
  return null;
}

/** The short reason of a `tls_version` failure: OpenSSL's words, else the error's code. */
export function tlsVersionReason(err: unknown): string {
  return VERSION_TEXT.exec((err as Error | null)?.message ?? '')?.[0] ?? (err as { code?: string } | null)?.code ?? 'unknown';
}

export interface TrustFailureContext {
  /** Who the peer is, e.g. `the collector`. */
  peer: string;
  /** Where its address is configured, e.g. `server.url in agent.yaml`. */
  urlSetting: string;
  /** Where the trusted CA is configured, e.g. `server.ca_file in agent.yaml`. */
  caSetting: string;
  /** The peer certificate's NOT-AFTER / NOT-BEFORE when known (see `peerCertificateDates`). */
  notAfter?: string | null;
  notBefore?: string | null;
}

export interface TrustFailure {
  kind: TrustFailureKind;
  message: string;
}

/** One line naming the problem and what to check; null when `err` is no trust failure. */
export function describeTrustFailure(err: unknown, ctx: TrustFailureContext): TrustFailure | null {
  const kind = trustFailureKind(err);
  if (kind === null) return null;
  const code = (err as { code?: string }).code ?? '';
  const { peer } = ctx;
  switch (kind) {
    case 'unknown_ca':
      return { kind, message: `${peer}'s certificate is not signed by a CA this side trusts (${code}): check ${ctx.caSetting} holds the collector's CA (<data_dir>/pki/ca.pem, or ca-bundle.pem while the CA is rolled)` };
    case 'wrong_host': {
      const e = err as { host?: string; cert?: tls.PeerCertificate };
      const sans = e.cert?.subjectaltname ?? 'none';
      return { kind, message: `${peer}'s certificate does not name host ${e.host ?? '?'} (its SANs: ${sans}): check the host in ${ctx.urlSetting} against the SANs (add names with tls.hostnames on the collector, then ximp tls renew)` };
    }
    case 'expired':
      return { kind, message: `${peer}'s certificate has expired (NOT-AFTER ${ctx.notAfter ?? 'unknown'}): check ximp tls status on the collector and renew it (ximp tls renew)` };
    case 'not_yet_valid':
      return { kind, message: `${peer}'s certificate is not valid yet (NOT-BEFORE ${ctx.notBefore ?? 'unknown'}): check this machine's clock and the collector's` };
    case 'wrong_component': {
      const e = err as WrongComponentError;
      const port = e.expected === 'api' ? 'the API port, not the agent port' : 'the agent port, not the API port';
      return { kind, message: `${peer} presented a certificate for component ${e.component}, not ${e.expected}: check that ${ctx.urlSetting} points at ${port}` };
    }
    case 'tls_version': {
      const reason = tlsVersionReason(err);
      return { kind, message: `${peer} offers only a TLS version below 1.3 (${reason}): check that ${ctx.urlSetting} points at a XIMP ${peer.replace(/^the /, '')} and that no proxy in between terminates TLS` };
    }
  }
}

/**
 * The dates of the certificate a server presents, read without trusting it (nothing is sent).
 * Node gives no peer certificate after a failed verification, so an expiry is named this way.
 */
export function peerCertificateDates(
  options: { host: string; port: number; servername?: string },
  timeoutMs = 5000,
): Promise<{ notBefore: string; notAfter: string } | null> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (value: { notBefore: string; notAfter: string } | null): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(value);
    };
    const name = options.servername?.replace(/^\[(.*)\]$/, '$1');
    const socket = tls.connect({
      host: options.host,
      port: options.port,
      // SNI may not carry an IP address (RFC 6066).
      servername: name !== undefined && net.isIP(name) === 0 ? name : undefined,
      minVersion: 'TLSv1.3',
      // Only to read the dates for a message; the socket is closed before anything is sent.
      rejectUnauthorized: false,
    });
    socket.setTimeout(timeoutMs, () => finish(null));
    socket.on('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      finish(cert && cert.valid_to ? { notBefore: new Date(cert.valid_from).toISOString(), notAfter: new Date(cert.valid_to).toISOString() } : null);
    });
    socket.on('error', () => finish(null));
  });
}

/**
 * A `checkServerIdentity` that also requires the certificate to be marked for `expected`.
 * Unmarked certificates (issued before markers existed) pass, reported through `onUnmarked`.
 */
export function componentIdentityCheck(
  expected: string,
  onUnmarked: (cert: tls.PeerCertificate) => void,
  base: (host: string, cert: tls.PeerCertificate) => Error | undefined = tls.checkServerIdentity,
): (host: string, cert: tls.PeerCertificate) => Error | undefined {
  return (host, cert) => {
    const err = base(host, cert);
    if (err) return err;
    const component = certificateComponent(cert);
    if (component === null) {
      onUnmarked(cert);
      return undefined;
    }
    return component === expected ? undefined : new WrongComponentError(component, expected);
  };
}
