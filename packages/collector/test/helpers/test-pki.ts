// A CA and an API server certificate generated per test run (not itself a test).
import { CertificateAuthority } from '../../dist/pki/certificate-authority';

export interface TestPki {
  caPem: string;
  server: { cert: string; key: string };
}

let cached: TestPki | null = null;

/** A fresh CA and a server certificate for localhost / 127.0.0.1 (made once per test process). */
export function testPki(): TestPki {
  if (cached !== null) return cached;
  const ca = CertificateAuthority.create({ commonName: 'XIMP test CA' });
  const leaf = ca.issue({
    commonName: 'localhost',
    usage: 'server',
    sans: [
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
    ],
  });
  cached = { caPem: ca.certPem, server: { cert: leaf.certPem, key: leaf.keyPem } };
  return cached;
}
