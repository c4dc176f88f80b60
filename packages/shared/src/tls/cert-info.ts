import * as crypto from 'node:crypto';
import { ErrorCodes, XimpError } from '../errors';
import type { Pem } from './tls-options';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What an operator (and `ximp tls status`) needs to know about one certificate. */
export interface CertificateInfo {
  /** One line, e.g. `CN=collector (mon1), O=XIMP`. */
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** DNS names and IP addresses (IPv6 compressed, e.g. `::1`), in certificate order. */
  sans: string[];
  /** SHA-256 of the DER, colon-separated hex. */
  fingerprint256: string;
  serialNumber: string;
  isCa: boolean;
  /** Whole days until notAfter (negative once expired). */
  daysLeft(now?: number): number;
}

/** Reads the first certificate of a PEM. Throws XIMP_ERR_PKI_INVALID when it is not one. */
export function certificateInfo(pem: Pem): CertificateInfo {
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(pem);
  } catch (err) {
    throw new XimpError(ErrorCodes.PKI_INVALID, 'not a PEM certificate', { cause: err });
  }
  // On Node 20 validFrom/validTo are strings such as "Nov 23 19:31:05 2026 GMT".
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    notBefore,
    notAfter,
    sans: subjectAltNames(cert),
    fingerprint256: cert.fingerprint256,
    serialNumber: cert.serialNumber,
    isCa: cert.ca,
    daysLeft(now: number = Date.now()): number {
      return Math.floor((notAfter.getTime() - now) / DAY_MS);
    },
  };
}

/**
 * The certificate's DNS names and IP addresses. Node 24 throws "Failed to format subject
 * alternative name" for an extension it cannot render (an empty one, as some issuers write);
 * Node 20 gave "". Either way the certificate names nothing usable.
 */
function subjectAltNames(cert: crypto.X509Certificate): string[] {
  let text: string | undefined;
  try {
    text = cert.subjectAltName;
  } catch {
    return [];
  }
  return parseSubjectAltName(text ?? '');
}

function oneLine(dn: string): string {
  return dn.split('\n').filter((part) => part !== '').join(', ');
}

/**
 * Node renders SANs as `DNS:a, IP Address:127.0.0.1, ...`, quoting (JSON style) any value that
 * holds a comma or quote. Only DNS names and IP addresses are kept.
 */
export function parseSubjectAltName(text: string): string[] {
  const sans: string[] = [];
  const entry = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/gy;
  let match: RegExpExecArray | null;
  while (entry.lastIndex < text.length && (match = entry.exec(text)) !== null) {
    const kind = match[1];
    let value = match[2];
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    if (kind === 'DNS') sans.push(value);
    else if (kind === 'IP Address') sans.push(normalizeIp(value));
  }
  return sans;
}

function normalizeIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
}
