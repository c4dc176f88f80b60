import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { ErrorCodes, XimpError, certificateInfo, serverTlsOptions, type CertificateInfo } from '@ximp/shared';
import type { CertificateFiles } from '../config';

/** Extended key usage OIDs: TLS server and TLS client authentication. */
const USAGE_OID = { server: '1.3.6.1.5.5.7.3.1', client: '1.3.6.1.5.5.7.3.2' } as const;

/** An operator's pair that passed every check, ready to serve (or present). */
export interface CheckedCertificateFiles {
  cert: string;
  key: string;
  info: CertificateInfo;
}

/**
 * Reads an operator-supplied certificate and key and proves them usable before anything serves
 * them: both parse, the key is the certificate's, the certificate is within its validity at `now`
 * and is meant for `usage` (TLS server for a listener, client for the store client).
 * Throws XIMP_ERR_PKI_INVALID whose message names the files and the problem, never key material.
 */
export function checkCertificateFiles(files: CertificateFiles, usage: 'server' | 'client', now: number): CheckedCertificateFiles {
  const { certFile, keyFile } = files;
  const fail = (problem: string, cause?: unknown): XimpError =>
    new XimpError(ErrorCodes.PKI_INVALID, `${certFile} and ${keyFile}: ${problem}`, { cause });
  const cert = readPem(certFile, 'cert_file', fail);
  const key = readPem(keyFile, 'key_file', fail);
  let x509: crypto.X509Certificate;
  try {
    x509 = new crypto.X509Certificate(cert);
  } catch (err) {
    throw fail(`cert_file ${certFile} is not a PEM certificate`, err);
  }
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey(key);
  } catch (err) {
    // The parser's own text is left out: it may quote what it read.
    throw fail(`key_file ${keyFile} is not an unencrypted PEM private key`, err);
  }
  if (!x509.checkPrivateKey(privateKey)) throw fail(`key_file ${keyFile} is not the key of cert_file ${certFile} (a mismatched pair)`);
  const info = certificateInfo(cert);
  if (now < info.notBefore.getTime()) throw fail(`the certificate is not valid before ${info.notBefore.toISOString()}`);
  if (now >= info.notAfter.getTime()) throw fail(`the certificate expired on ${info.notAfter.toISOString()}`);
  if (x509.ca) throw fail(`the certificate is a CA certificate, not a ${usage} certificate`);
  // No extended key usage means any usage; when present it must name this one.
  const usages = x509.keyUsage;
  if (usages !== undefined && !usages.includes(USAGE_OID[usage])) {
    throw fail(`the certificate is not a TLS ${usage} certificate (its extended key usage lacks ${usage}Auth)`);
  }
  try {
    tls.createSecureContext(serverTlsOptions({ cert, key }));
  } catch (err) {
    throw fail(`unusable for TLS: ${(err as Error).message}`, err);
  }
  return { cert, key, info };
}

function readPem(file: string, key: string, fail: (problem: string, cause?: unknown) => XimpError): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fail(code === 'ENOENT' ? `${key} ${file} is missing` : `${key} ${file} cannot be read (${code ?? (err as Error).message})`, err);
  }
}
