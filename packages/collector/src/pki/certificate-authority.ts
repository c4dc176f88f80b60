import * as crypto from 'node:crypto';
import * as forge from 'node-forge';
import { ErrorCodes, XimpError } from '@ximp/shared';
import { ipToBinaryString, type SubjectAltName } from './subject-alt-names';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates start a little in the past so a peer whose clock lags still accepts them. */
const BACKDATE_MS = 5 * 60 * 1000;

export const CA_VALIDITY_DAYS = 3650;
/** Under the 398 days browsers accept for a server certificate, and well over the 90 required. */
export const LEAF_VALIDITY_DAYS = 397;
export const RSA_BITS = 2048;
export const ORGANIZATION = 'XIMP';

/** A certificate and its private key, both PEM (the key PKCS#8, unencrypted). */
export interface CertificateAndKey {
  certPem: string;
  keyPem: string;
}

export interface CreateCaOptions {
  commonName: string;
  now?: number;
  validityDays?: number;
}

export interface IssueOptions {
  commonName: string;
  sans: readonly SubjectAltName[];
  /** `server` gets extKeyUsage serverAuth, `client` clientAuth. */
  usage: 'server' | 'client';
  now?: number;
  validityDays?: number;
}

/**
 * The collector's own certificate authority. node-forge lays out the certificates (Node's crypto
 * cannot build one); keys and signatures come from Node's native OpenSSL, which is both much
 * faster than forge's JavaScript RSA and hardened against timing side channels.
 */
export class CertificateAuthority {
  private readonly cert: forge.pki.Certificate;
  private readonly key: crypto.KeyObject;

  private constructor(
    readonly certPem: string,
    readonly keyPem: string,
  ) {
    this.cert = forge.pki.certificateFromPem(certPem);
    this.key = crypto.createPrivateKey(keyPem);
  }

  /** A new self-signed CA (basicConstraints CA:true, pathlen 0) with a fresh key. */
  static create(options: CreateCaOptions): CertificateAuthority {
    const now = options.now ?? Date.now();
    const { publicKeyPem, privateKeyPem } = generateRsaKey();
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
    cert.serialNumber = randomSerial();
    setValidity(cert, now, options.validityDays ?? CA_VALIDITY_DAYS);
    const name = distinguishedName(options.commonName);
    cert.setSubject(name);
    cert.setIssuer(name);
    cert.setExtensions([
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    sign(cert, crypto.createPrivateKey(privateKeyPem));
    return new CertificateAuthority(toPem(forge.pki.certificateToPem(cert)), privateKeyPem);
  }

  /**
   * Loads an existing CA. Throws XIMP_ERR_PKI_INVALID when the PEMs do not parse, the key does not
   * belong to the certificate, or the certificate is not a CA.
   */
  static fromPem(certPem: string, keyPem: string): CertificateAuthority {
    let x509: crypto.X509Certificate;
    try {
      x509 = new crypto.X509Certificate(certPem);
      if (!x509.checkPrivateKey(crypto.createPrivateKey(keyPem))) {
        throw new Error('the CA key does not match the CA certificate');
      }
    } catch (err) {
      throw new XimpError(ErrorCodes.PKI_INVALID, `unusable CA: ${(err as Error).message}`, { cause: err });
    }
    if (!x509.ca) throw new XimpError(ErrorCodes.PKI_INVALID, 'unusable CA: the certificate is not a CA');
    try {
      return new CertificateAuthority(certPem, keyPem);
    } catch (err) {
      throw new XimpError(ErrorCodes.PKI_INVALID, `unusable CA: ${(err as Error).message}`, { cause: err });
    }
  }

  /** A new key and a certificate for it, signed by this CA. */
  issue(options: IssueOptions): CertificateAndKey {
    const now = options.now ?? Date.now();
    const { publicKeyPem, privateKeyPem } = generateRsaKey();
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
    cert.serialNumber = randomSerial();
    setValidity(cert, now, options.validityDays ?? LEAF_VALIDITY_DAYS);
    cert.setSubject(distinguishedName(options.commonName));
    cert.setIssuer(this.cert.subject.attributes);
    const server = options.usage === 'server';
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: server, critical: true },
      { name: 'extKeyUsage', serverAuth: server, clientAuth: !server },
      { name: 'subjectAltName', altNames: options.sans.map(toForgeAltName) },
      { name: 'subjectKeyIdentifier' },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.keyIdentifier() },
    ]);
    sign(cert, this.key);
    return { certPem: toPem(forge.pki.certificateToPem(cert)), keyPem: privateKeyPem };
  }

  private keyIdentifier(): string {
    const ext = this.cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
    if (ext?.subjectKeyIdentifier) return forge.util.hexToBytes(ext.subjectKeyIdentifier);
    return this.cert.generateSubjectKeyIdentifier().getBytes();
  }
}

/** What forge's `cert.sign` does, with the RSA signature made by OpenSSL (sha256WithRSAEncryption). */
function sign(cert: forge.pki.Certificate, key: crypto.KeyObject): void {
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption;
  // getTBSCertificate is public in forge but missing from its type definitions.
  const tbs = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  const der = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  (cert as { tbsCertificate?: forge.asn1.Asn1 }).tbsCertificate = tbs;
  cert.signature = crypto.sign('sha256', der, key).toString('binary');
}

function generateRsaKey(): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', {
    modulusLength: RSA_BITS,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

/** 128 random bits, positive and minimally encoded (first byte 0x01..0x7f). */
function randomSerial(): string {
  const bytes = crypto.randomBytes(16);
  bytes[0] = bytes[0] & 0x7f || 0x01;
  return bytes.toString('hex');
}

function setValidity(cert: forge.pki.Certificate, now: number, days: number): void {
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now + days * DAY_MS);
}

function distinguishedName(commonName: string): forge.pki.CertificateField[] {
  // X.520 caps a common name at 64 characters.
  return [
    { name: 'commonName', value: commonName.slice(0, 64) },
    { name: 'organizationName', value: ORGANIZATION },
  ];
}

function toForgeAltName(san: SubjectAltName): { type: number; value: string } {
  return san.type === 'dns' ? { type: 2, value: san.value } : { type: 7, value: ipToBinaryString(san.value) };
}

/** forge writes CRLF line ends; the rest of the system (and diff) prefers LF. */
function toPem(pem: string): string {
  return pem.replace(/\r\n/g, '\n');
}
