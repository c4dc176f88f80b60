import * as net from 'node:net';
import * as tls from 'node:tls';
import { componentIdentityCheck } from './trust-failure';

/** PEM text or bytes, as read from a file. */
export type Pem = string | Buffer;

export interface ServerTlsInput {
  cert: Pem;
  key: Pem;
  /** CA that client certificates must chain to; only used with `requestCert`. */
  ca?: Pem | null;
  /** Ask for a client certificate and refuse clients without a valid one (mutual TLS). */
  requestCert?: boolean;
}

export interface ClientTlsInput {
  /** CA that the server's certificate must chain to; omitted or null = the system's trust store. */
  ca?: Pem | null;
  /** Client certificate and key for mutual TLS. */
  cert?: Pem | null;
  key?: Pem | null;
  /** Name to check the server's certificate against (and send as SNI when it is a DNS name). */
  servername?: string;
  /**
   * Accept only a server certificate marked for this component (see component-marker.ts); an
   * unmarked one (issued before markers existed) passes and is reported through `onUnmarked`.
   */
  component?: { expected: string; onUnmarked(cert: tls.PeerCertificate): void };
}

export type ServerTlsOptions = tls.TlsOptions & { minVersion: 'TLSv1.3' };
export type ClientTlsOptions = tls.ConnectionOptions & { minVersion: 'TLSv1.3'; rejectUnauthorized: true };

/** Options for `https.createServer` / `tls.createServer`: TLS 1.3 only, optional client certificates. */
export function serverTlsOptions(input: ServerTlsInput): ServerTlsOptions {
  const options: ServerTlsOptions = { cert: input.cert, key: input.key, minVersion: 'TLSv1.3' };
  if (input.requestCert) {
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  if (input.ca) options.ca = input.ca;
  return options;
}

/** Options for `tls.connect` / `https.request` / `ws`: TLS 1.3 only, the server always verified. */
export function clientTlsOptions(input: ClientTlsInput): ClientTlsOptions {
  const options: ClientTlsOptions = { minVersion: 'TLSv1.3', rejectUnauthorized: true };
  if (input.ca) options.ca = input.ca;
  if (input.cert) options.cert = input.cert;
  if (input.key) options.key = input.key;
  if (input.servername !== undefined) {
    const name = input.servername.replace(/^\[(.*)\]$/, '$1');
    if (net.isIP(name) === 0) {
      options.servername = name;
    } else {
      // SNI may not carry an IP address (RFC 6066); check the IP SAN against it instead.
      options.checkServerIdentity = (_host, cert) => tls.checkServerIdentity(name, cert);
    }
  }
  if (input.component) {
    const { expected, onUnmarked } = input.component;
    options.checkServerIdentity = componentIdentityCheck(expected, onUnmarked, options.checkServerIdentity);
  }
  return options;
}
