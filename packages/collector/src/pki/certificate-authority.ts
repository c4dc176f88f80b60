import * as crypto from 'node:crypto';
import * as forge from 'node-forge';
import { ErrorCodes, XimpError } from '@ximp/shared';
import { ipToBinaryString, type SubjectAltName } from './subject-alt-names';
import { COMPONENT_MARKER_PREFIX } from '@ximp/shared';
import { LEAF_COMPONENTS } from './components';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates start a little in the past so a peer whose clock lags still accepts them. */
const BACKDATE_MS = 5 * 60 * 1000;

export const CA_VALIDITY_DAYS = 3650;
/** Under the 398 days browsers accept for a server certificate, and well over the 90 required. */
export const LEAF_VALIDITY_DAYS = 397;
/** Leaf and CA keys: ECDSA on P-256 (TLS handshakes cheaper than RSA-2048, same strength as RSA-3072). */
export const EC_CURVE = 'prime256v1';
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
  /**
   * What the leaf is for, written into the subject as OU `ximp-component=NAME` so that a peer can
   * tell the agent listener's certificate from the API's. Without it, a common name of the form
   * `NAME (host)` (how PkiStore names leaves) gives it.
   */
  component?: string;
  now?: number;
  validityDays?: number;
}

/**
 * The collector's own certificate authority. node-forge lays out the certificate body (Node's crypto
 * cannot build one); keys and signatures come from Node's native OpenSSL. forge only knows RSA
 * keys, so the body is laid out around a placeholder key whose SubjectPublicKeyInfo is then swapped
 * for the real (ECDSA) one, and the signature algorithm is set to the CA key's. A CA written by an
 * earlier version (RSA-2048) still loads and issues (ECDSA leaves signed with its RSA key).
 */
export class CertificateAuthority {
  private readonly key: crypto.KeyObject;
  /** The CA's subject, DER-ready, used as each leaf's issuer. */
  private readonly subject: forge.asn1.Asn1;
  private readonly keyIdentifier: string;

  private constructor(
    readonly certPem: string,
    readonly keyPem: string,
  ) {
    this.key = crypto.createPrivateKey(keyPem);
    const parsed = parseCaCertificate(certPem);
    this.subject = parsed.subject;
    this.keyIdentifier = parsed.keyIdentifier ?? subjectKeyIdentifier(crypto.createPublicKey(this.key));
  }

  /** A new self-signed CA (basicConstraints CA:true, pathlen 0) with a fresh ECDSA P-256 key. */
  static create(options: CreateCaOptions): CertificateAuthority {
    const now = options.now ?? Date.now();
    const { publicKey, privateKeyPem } = generateEcKey();
    const keyId = subjectKeyIdentifier(publicKey);
    const cert = forge.pki.createCertificate();
    cert.publicKey = PLACEHOLDER_KEY;
    cert.serialNumber = randomSerial();
    setValidity(cert, now, options.validityDays ?? CA_VALIDITY_DAYS);
    const name = distinguishedName(options.commonName, null);
    cert.setSubject(name);
    cert.setIssuer(name);
    cert.setExtensions([
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      subjectKeyIdentifierExtension(keyId),
    ]);
    const key = crypto.createPrivateKey(privateKeyPem);
    const certPem = signCertificate(cert, publicKey, null, key);
    return new CertificateAuthority(certPem, privateKeyPem);
  }

  /**
   * Loads an existing CA (ECDSA, or RSA from earlier versions). Throws XIMP_ERR_PKI_INVALID when
   * the PEMs do not parse, the key does not belong to the certificate, or it is not a CA.
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

  /** A new ECDSA P-256 key and a certificate for it, signed by this CA and marked with its component. */
  issue(options: IssueOptions): CertificateAndKey {
    const now = options.now ?? Date.now();
    const { publicKey, privateKeyPem } = generateEcKey();
    const cert = forge.pki.createCertificate();
    cert.publicKey = PLACEHOLDER_KEY;
    cert.serialNumber = randomSerial();
    setValidity(cert, now, options.validityDays ?? LEAF_VALIDITY_DAYS);
    cert.setSubject(distinguishedName(options.commonName, options.component ?? componentOf(options.commonName)));
    cert.setIssuer(distinguishedName('placeholder', null)); // replaced by the CA's own subject
    const server = options.usage === 'server';
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      // ECDSA keys sign; keyEncipherment is for RSA key transport only.
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: server, clientAuth: !server },
      // An empty SAN extension is invalid (RFC 5280 §4.2.1.6): a leaf without names has none.
      ...(options.sans.length > 0 ? [{ name: 'subjectAltName', altNames: options.sans.map(toForgeAltName) }] : []),
      subjectKeyIdentifierExtension(subjectKeyIdentifier(publicKey)),
      authorityKeyIdentifierExtension(this.keyIdentifier),
    ]);
    return { certPem: signCertificate(cert, publicKey, this.subject, this.key), keyPem: privateKeyPem };
  }
}

const asn1 = forge.asn1;
const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const OID_ECDSA_SHA384 = '1.2.840.10045.4.3.3';
const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
const OID_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';

/** forge needs an RSA key to lay out a certificate body; its SubjectPublicKeyInfo is replaced. */
const PLACEHOLDER_KEY = forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger('3'), new forge.jsbn.BigInteger('65537'));

/**
 * Lays out the body, puts in the real public key, the issuer and the signature algorithm of `key`,
 * and signs with OpenSSL. Returns the certificate PEM (LF line ends).
 */
function signCertificate(
  cert: forge.pki.Certificate,
  publicKey: crypto.KeyObject,
  issuer: forge.asn1.Asn1 | null,
  key: crypto.KeyObject,
): string {
  const { algorithm, digest } = signatureAlgorithm(key);
  cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption; // forge needs one; replaced below
  // getTBSCertificate is public in forge but missing from its type definitions.
  const tbs = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  const fields = tbs.value as forge.asn1.Asn1[];
  // [0] version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo, [3] extensions
  fields[2] = algorithm();
  if (issuer) fields[3] = issuer;
  fields[6] = fromDer(publicKey.export({ type: 'spki', format: 'der' }));
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  const signature = crypto.sign(digest, tbsDer, key);
  const certificate = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    algorithm(),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x00' + signature.toString('binary')),
  ]);
  const der = Buffer.from(asn1.toDer(certificate).getBytes(), 'binary');
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
}

/** The AlgorithmIdentifier (a fresh node each call: forge nodes must not be shared) and digest. */
function signatureAlgorithm(key: crypto.KeyObject): { algorithm: () => forge.asn1.Asn1; digest: string } {
  const oid = (id: string): forge.asn1.Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(id).getBytes());
  const seq = (items: forge.asn1.Asn1[]): forge.asn1.Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
  if (key.asymmetricKeyType === 'ec') {
    // RFC 5758: ECDSA signature algorithms carry no parameters.
    const p384 = key.asymmetricKeyDetails?.namedCurve === 'secp384r1';
    return { algorithm: () => seq([oid(p384 ? OID_ECDSA_SHA384 : OID_ECDSA_SHA256)]), digest: p384 ? 'sha384' : 'sha256' };
  }
  if (key.asymmetricKeyType === 'rsa') {
    const nul = (): forge.asn1.Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '');
    return { algorithm: () => seq([oid(forge.pki.oids.sha256WithRSAEncryption), nul()]), digest: 'sha256' };
  }
  throw new Error(`CA key type ${key.asymmetricKeyType ?? 'unknown'} is not supported (ECDSA or RSA)`);
}

function fromDer(der: Buffer): forge.asn1.Asn1 {
  // decodeBitStrings off: a public key or signature must come back out byte for byte.
  return asn1.fromDer(forge.util.createBuffer(der.toString('binary')), { decodeBitStrings: false } as unknown as boolean);
}

/** The CA certificate's subject (as a node to copy into leaves) and its subjectKeyIdentifier, if any. */
function parseCaCertificate(certPem: string): { subject: forge.asn1.Asn1; keyIdentifier: string | null } {
  const der = new crypto.X509Certificate(certPem).raw;
  const tbs = (fromDer(der).value as forge.asn1.Asn1[])[0];
  const fields = tbs.value as forge.asn1.Asn1[];
  const v3 = fields[0].tagClass === asn1.Class.CONTEXT_SPECIFIC && (fields[0].type as number) === 0;
  const subject = fields[v3 ? 5 : 4];
  let keyIdentifier: string | null = null;
  const extensions = fields.find((f) => f.tagClass === asn1.Class.CONTEXT_SPECIFIC && (f.type as number) === 3);
  const list = extensions ? ((extensions.value as forge.asn1.Asn1[])[0].value as forge.asn1.Asn1[]) : [];
  for (const ext of list) {
    const parts = ext.value as forge.asn1.Asn1[];
    if (asn1.derToOid(parts[0].value as string) !== OID_SUBJECT_KEY_IDENTIFIER) continue;
    const inner = asn1.fromDer(parts[parts.length - 1].value as string);
    keyIdentifier = inner.value as string;
  }
  return { subject: fromDer(Buffer.from(asn1.toDer(subject).getBytes(), 'binary')), keyIdentifier };
}

function generateEcKey(): { publicKey: crypto.KeyObject; privateKeyPem: string } {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: EC_CURVE });
  return { publicKey, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (binary string). */
function subjectKeyIdentifier(publicKey: crypto.KeyObject): string {
  const spki = fromDer(publicKey.export({ type: 'spki', format: 'der' }));
  const bits = (spki.value as forge.asn1.Asn1[])[1].value as string; // first byte: unused bits (0)
  return crypto.createHash('sha1').update(Buffer.from(bits.slice(1), 'binary')).digest('binary');
}

function subjectKeyIdentifierExtension(keyId: string): { id: string; value: forge.asn1.Asn1 } {
  return { id: OID_SUBJECT_KEY_IDENTIFIER, value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, keyId) };
}

function authorityKeyIdentifierExtension(keyId: string): { id: string; value: forge.asn1.Asn1 } {
  return {
    id: OID_AUTHORITY_KEY_IDENTIFIER,
    value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, keyId)]),
  };
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

function distinguishedName(commonName: string, component: string | null): forge.pki.CertificateField[] {
  // X.520 caps a common name at 64 characters.
  const name: forge.pki.CertificateField[] = [{ name: 'commonName', value: commonName.slice(0, 64) }];
  if (component !== null) name.push({ name: 'organizationalUnitName', value: `${COMPONENT_MARKER_PREFIX}${component}` });
  name.push({ name: 'organizationName', value: ORGANIZATION });
  return name;
}

/** `collector (mon1)` -> `collector`: how PkiStore names its leaves. */
function componentOf(commonName: string): string | null {
  const head = /^([a-z-]+) \(/.exec(commonName)?.[1];
  return head !== undefined && (LEAF_COMPONENTS as readonly string[]).includes(head) ? head : null;
}

function toForgeAltName(san: SubjectAltName): { type: number; value: string } {
  return san.type === 'dns' ? { type: 2, value: san.value } : { type: 7, value: ipToBinaryString(san.value) };
}
