// A throwaway CA and leaf certificates for the TLS tests of this package (not itself a test).
import * as crypto from 'node:crypto';
import * as forge from 'node-forge';

export interface FixtureCert {
  certPem: string;
  keyPem: string;
}

export interface FixtureLeafOptions {
  commonName: string;
  client?: boolean;
  dns?: string[];
  ips?: string[];
  days?: number;
}

function rsaKey(): { pub: forge.pki.rsa.PublicKey; priv: forge.pki.rsa.PrivateKey; keyPem: string } {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    pub: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
    priv: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
    keyPem: privateKey,
  };
}

function serial(): string {
  const bytes = crypto.randomBytes(16);
  bytes[0] = bytes[0] & 0x7f || 1;
  return bytes.toString('hex');
}

export class FixtureCa implements FixtureCert {
  readonly certPem: string;
  readonly keyPem: string;
  private readonly cert: forge.pki.Certificate;
  private readonly key: forge.pki.rsa.PrivateKey;

  constructor(commonName = 'test ca') {
    const { pub, priv, keyPem } = rsaKey();
    const cert = forge.pki.createCertificate();
    cert.publicKey = pub;
    cert.serialNumber = serial();
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 365 * 86_400_000);
    const name = [{ name: 'commonName', value: commonName }];
    cert.setSubject(name);
    cert.setIssuer(name);
    cert.setExtensions([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ]);
    cert.sign(priv, forge.md.sha256.create());
    this.cert = cert;
    this.key = priv;
    this.certPem = forge.pki.certificateToPem(cert);
    this.keyPem = keyPem;
  }

  issue(options: FixtureLeafOptions): FixtureCert {
    const { pub, keyPem } = rsaKey();
    const cert = forge.pki.createCertificate();
    cert.publicKey = pub;
    cert.serialNumber = serial();
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + (options.days ?? 30) * 86_400_000);
    cert.setSubject([{ name: 'commonName', value: options.commonName }]);
    cert.setIssuer(this.cert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'extKeyUsage', serverAuth: !options.client, clientAuth: !!options.client },
      {
        name: 'subjectAltName',
        altNames: [
          ...(options.dns ?? ['localhost']).map((value) => ({ type: 2, value })),
          ...(options.ips ?? ['127.0.0.1', '::1']).map((ip) => ({ type: 7, ip })),
        ],
      },
    ]);
    cert.sign(this.key, forge.md.sha256.create());
    return { certPem: forge.pki.certificateToPem(cert), keyPem };
  }
}
