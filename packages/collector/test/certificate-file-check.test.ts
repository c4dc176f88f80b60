/**
 * An operator's pair is proven usable before it serves: each refusal names the files and the
 * problem (missing, not PEM, mismatched, outside its validity, a CA, the wrong usage), never the key.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes, type XimpError } from '@ximp/shared';
import { CertificateAuthority } from '../src/pki/certificate-authority';
import { checkCertificateFiles } from '../src/pki/certificate-file-check';

const DAY_MS = 86_400_000;
const now = Date.now();
const ca = CertificateAuthority.create({ commonName: 'operator CA', now });
const sans = [{ type: 'dns' as const, value: 'localhost' }];
const server = ca.issue({ commonName: 'server', sans, usage: 'server', now, validityDays: 30 });
const client = ca.issue({ commonName: 'client', sans, usage: 'client', now });
const other = ca.issue({ commonName: 'other', sans, usage: 'server', now });

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-file-check-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

function files(cert: string | null, key: string | null): { certFile: string; keyFile: string } {
  const certFile = path.join(dir, `c${Math.random()}.pem`);
  const keyFile = path.join(dir, `k${Math.random()}.pem`);
  if (cert !== null) fs.writeFileSync(certFile, cert);
  if (key !== null) fs.writeFileSync(keyFile, key, { mode: 0o600 });
  return { certFile, keyFile };
}

function refusal(f: { certFile: string; keyFile: string }, usage: 'server' | 'client', at = now): XimpError {
  try {
    checkCertificateFiles(f, usage, at);
  } catch (err) {
    return err as XimpError;
  }
  throw new Error('expected a refusal');
}

t.test('a good pair passes with its certificate details', async (t) => {
  const checked = checkCertificateFiles(files(server.certPem, server.keyPem), 'server', now);
  t.equal(checked.cert, server.certPem);
  t.match(checked.info.subject, /CN=server/);
  t.ok(checkCertificateFiles(files(client.certPem, client.keyPem), 'client', now));
});

t.test('every problem is refused with XIMP_ERR_PKI_INVALID naming the files', async (t) => {
  const cases: [string, { certFile: string; keyFile: string }, 'server' | 'client', number, RegExp][] = [
    ['missing key', files(server.certPem, null), 'server', now, /key_file .* is missing/],
    ['missing certificate', files(null, server.keyPem), 'server', now, /cert_file .* is missing/],
    ['corrupt certificate', files('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', server.keyPem), 'server', now, /not a PEM certificate/],
    ['corrupt key', files(server.certPem, 'not a key'), 'server', now, /not an unencrypted PEM private key/],
    ['mismatched key', files(server.certPem, other.keyPem), 'server', now, /is not the key of cert_file .*mismatched/],
    ['expired', files(server.certPem, server.keyPem), 'server', now + 31 * DAY_MS, /expired on \d{4}-/],
    ['not yet valid', files(server.certPem, server.keyPem), 'server', now - DAY_MS, /not valid before \d{4}-/],
    ['a CA', files(ca.certPem, ca.keyPem), 'server', now, /a CA certificate, not a server certificate/],
    ['a client certificate on a listener', files(client.certPem, client.keyPem), 'server', now, /not a TLS server certificate .*serverAuth/],
    ['a server certificate for the store client', files(server.certPem, server.keyPem), 'client', now, /not a TLS client certificate .*clientAuth/],
  ];
  for (const [name, f, usage, at, reason] of cases) {
    const err = refusal(f, usage, at);
    t.equal(err.code, ErrorCodes.PKI_INVALID, name);
    t.match(err.message, reason, name);
    t.ok(err.message.startsWith(`${f.certFile} and ${f.keyFile}: `), `${name}: names the files`);
    t.notMatch(err.message, /PRIVATE KEY|not a key/, `${name}: no key material`);
  }
});
