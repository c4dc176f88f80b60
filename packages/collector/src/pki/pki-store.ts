import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ErrorCodes,
  XimpError,
  certificateInfo,
  makePrivateDir,
  writePublicFile,
  writeSecretFile,
} from '@ximp/shared';
import { CertificateAuthority, type CertificateAndKey } from './certificate-authority';
import {
  COMPONENT_USAGE,
  LEAF_COMPONENTS,
  PKI_COMPONENTS,
  type LeafComponent,
  type PkiComponent,
  type StatusComponent,
} from './components';
import { parseSubjectAltName, subjectAltNamesFrom, type SubjectAltName } from './subject-alt-names';

const DAY_MS = 24 * 60 * 60 * 1000;
/** `tls.renew_before` default: renew 30 days before expiry. */
export const DEFAULT_RENEW_BEFORE_MS = 30 * DAY_MS;

export interface PkiPaths {
  cert: string;
  key: string;
}

export type CertificateState = 'ok' | 'renew-due' | 'expired' | 'error';

/** One row of `ximp tls status`. */
export interface CertificateStatus {
  component: PkiComponent;
  subject: string;
  issuer: string;
  serial: string | null;
  notBefore: Date | null;
  notAfter: Date | null;
  daysLeft: number | null;
  status: CertificateState;
  source: 'managed';
  /** Why the status is `error` (names files and reasons, never key material). */
  error?: string;
}

export interface IssuedCertificate extends CertificateAndKey {
  component: LeafComponent;
  notAfter: Date;
}

/**
 * The managed certificates under `<data_dir>/pki` (folder 0700): `ca.pem` + `ca-key.pem`, and
 * `<component>.pem` + `<component>-key.pem` for `collector`, `api` and `store-client`.
 * Keys are written 0600, certificates 0644, each file atomically.
 */
export class PkiStore {
  readonly dir: string;

  constructor(
    readonly dataDir: string,
    private readonly machineHostname: string = os.hostname(),
  ) {
    this.dir = path.resolve(dataDir, 'pki');
  }

  /** True once the CA has been created (`ca.pem` exists). */
  exists(): boolean {
    return fs.existsSync(this.paths('ca').cert);
  }

  /** Absolute paths of a component's certificate and key (`ca-next` and `ca-old` while the CA is rolled). */
  paths(component: StatusComponent): PkiPaths {
    return {
      cert: path.join(this.dir, `${component}.pem`),
      key: path.join(this.dir, `${component}-key.pem`),
    };
  }

  /** Where a component's previous pair is kept while a renewed one is put in service. */
  previousPaths(component: PkiComponent): PkiPaths {
    return {
      cert: path.join(this.dir, `${component}.prev.pem`),
      key: path.join(this.dir, `${component}-key.prev.pem`),
    };
  }

  /** Every file `create` would write that is already there, in a fixed order. */
  existingFiles(): string[] {
    const files: string[] = [];
    for (const component of PKI_COMPONENTS) {
      const { cert, key } = this.paths(component);
      for (const file of [cert, key]) {
        if (fs.existsSync(file)) files.push(file);
      }
    }
    return files;
  }

  /** The CA certificate (PEM). Throws XIMP_ERR_PKI_INVALID when it cannot be read. */
  caPem(): string {
    return this.read(this.paths('ca').cert);
  }

  /** A component's certificate and key. Throws XIMP_ERR_PKI_INVALID when they cannot be read. */
  load(component: PkiComponent): CertificateAndKey {
    const { cert, key } = this.paths(component);
    return { certPem: this.read(cert), keyPem: this.read(key) };
  }

  /**
   * Creates the CA and every leaf certificate. Never overwrites: when the CA or any key already
   * exists it throws XIMP_ERR_PKI_EXISTS naming the file, and writes nothing. If writing fails
   * halfway, the files written so far are removed, so a later run starts clean.
   */
  create(sans: readonly SubjectAltName[], now: number = Date.now(), leafValidityMs?: number): void {
    this.assertAbsent();
    makePrivateDir(this.dir);
    const written: string[] = [];
    const write = (file: string, data: string, secret: boolean): void => {
      (secret ? writeSecretFile : writePublicFile)(file, data, { exclusive: true });
      written.push(file);
    };
    try {
      const ca = CertificateAuthority.create({ commonName: `XIMP CA (${this.hostLabel(sans)})`, now });
      const caPaths = this.paths('ca');
      write(caPaths.key, ca.keyPem, true);
      write(caPaths.cert, ca.certPem, false);
      for (const component of LEAF_COMPONENTS) {
        const issued = this.sign(ca, component, sans, now, leafValidityMs);
        const { cert, key } = this.paths(component);
        write(key, issued.keyPem, true);
        write(cert, issued.certPem, false);
      }
    } catch (err) {
      for (const file of written.reverse()) fs.rmSync(file, { force: true });
      if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new XimpError(ErrorCodes.PKI_EXISTS, `refusing to overwrite existing PKI files in ${this.dir}`, { cause: err });
      }
      throw err;
    }
  }

  /** Throws XIMP_ERR_PKI_EXISTS naming the first managed file (CA, certificate or key) that exists. */
  assertAbsent(): void {
    const existing = this.existingFiles();
    if (existing.length > 0) {
      throw new XimpError(ErrorCodes.PKI_EXISTS, `${existing[0]} already exists; refusing to overwrite the managed certificates and keys`);
    }
  }

  /**
   * Issues a new key and certificate for a leaf component, signed by the stored CA, and replaces
   * the files (key first, then certificate; each atomically). `sans` defaults to those of the
   * current certificate, so renewal keeps the names. Callers reload the listeners afterwards.
   */
  issue(component: LeafComponent, sans?: readonly (string | SubjectAltName)[], now: number = Date.now()): IssuedCertificate {
    const issued = this.prepare(component, sans, now);
    const { cert, key } = this.paths(component);
    writeSecretFile(key, issued.keyPem);
    writePublicFile(cert, issued.certPem);
    return issued;
  }

  /**
   * A new key and certificate for a leaf component, signed by the stored CA, held in memory only
   * (the certificate manager writes and swaps them as one step). `sans` as for `issue`;
   * `validityMs` defaults to the CA's leaf validity.
   */
  prepare(component: LeafComponent, sans?: readonly (string | SubjectAltName)[], now: number = Date.now(), validityMs?: number): IssuedCertificate {
    const caPaths = this.paths('ca');
    const ca = CertificateAuthority.fromPem(this.read(caPaths.cert), this.read(caPaths.key));
    const names = sans === undefined ? this.currentSans(component) : toSans(sans);
    const issued = this.sign(ca, component, names, now, validityMs);
    return { ...issued, component, notAfter: certificateInfo(issued.certPem).notAfter };
  }

  /**
   * The state of every managed certificate, the CA first: `expired` at or past notAfter,
   * `renew-due` within `renewBeforeMs` of it, `error` when the files are missing, unreadable,
   * the key does not match, or a leaf is not signed by the current CA.
   */
  status(now: number = Date.now(), renewBeforeMs: number = DEFAULT_RENEW_BEFORE_MS): CertificateStatus[] {
    let caCert: crypto.X509Certificate | null = null;
    try {
      caCert = new crypto.X509Certificate(this.caPem());
    } catch {
      // reported on the CA's own row below
    }
    return PKI_COMPONENTS.map((component) => this.statusOf(component, caCert, now, renewBeforeMs));
  }

  private statusOf(
    component: PkiComponent,
    caCert: crypto.X509Certificate | null,
    now: number,
    renewBeforeMs: number,
  ): CertificateStatus {
    let subject = '';
    let issuer = '';
    let serial: string | null = null;
    let notBefore: Date | null = null;
    let notAfter: Date | null = null;
    let daysLeft: number | null = null;
    try {
      const { certPem, keyPem } = this.load(component);
      const info = certificateInfo(certPem);
      subject = info.subject;
      issuer = info.issuer;
      serial = info.serialNumber;
      notBefore = info.notBefore;
      notAfter = info.notAfter;
      daysLeft = info.daysLeft(now);
      const x509 = new crypto.X509Certificate(certPem);
      if (!x509.checkPrivateKey(crypto.createPrivateKey(keyPem))) {
        throw new Error(`${this.paths(component).key} does not match its certificate`);
      }
      if (caCert === null) throw new Error('the CA certificate cannot be read');
      if (component !== 'ca' && !(x509.checkIssued(caCert) && x509.verify(caCert.publicKey))) {
        throw new Error('not signed by the current CA');
      }
      const state: CertificateState =
        now >= notAfter.getTime() ? 'expired' : notAfter.getTime() - now <= renewBeforeMs ? 'renew-due' : 'ok';
      return { component, subject, issuer, serial, notBefore, notAfter, daysLeft, status: state, source: 'managed' };
    } catch (err) {
      return {
        component,
        subject,
        issuer,
        serial,
        notBefore,
        notAfter,
        daysLeft,
        status: 'error',
        source: 'managed',
        error: err instanceof Error ? err.message : String(err),
      };
    }
  }

  private sign(
    ca: CertificateAuthority,
    component: LeafComponent,
    sans: readonly SubjectAltName[],
    now: number,
    validityMs?: number,
  ): CertificateAndKey {
    return ca.issue({
      commonName: `${component} (${this.hostLabel(sans)})`,
      sans,
      usage: COMPONENT_USAGE[component],
      now,
      validityDays: validityMs === undefined ? undefined : validityMs / DAY_MS,
    });
  }

  /** The host a certificate is named after: the first real DNS name, else the machine's name. */
  private hostLabel(sans: readonly SubjectAltName[]): string {
    const named = sans.find((san) => san.type === 'dns' && san.value !== 'localhost');
    return named?.value ?? this.machineHostname;
  }

  /** The names of a leaf's current certificate (what init gave it), the defaults when it cannot be read. */
  currentSans(component: LeafComponent): SubjectAltName[] {
    try {
      return subjectAltNamesFrom(certificateInfo(this.read(this.paths(component).cert)).sans);
    } catch {
      // No readable certificate to copy from: fall back to the names every certificate carries.
      return toSans([this.machineHostname, 'localhost', '127.0.0.1', '::1']);
    }
  }

  private read(file: string): string {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing (run ximp-collector init)' : (err as Error).message;
      throw new XimpError(ErrorCodes.PKI_INVALID, `cannot read ${file}: ${reason}`, { cause: err });
    }
  }
}

function toSans(names: readonly (string | SubjectAltName)[]): SubjectAltName[] {
  const sans: SubjectAltName[] = [];
  for (const name of names) {
    if (typeof name !== 'string') {
      sans.push(name);
      continue;
    }
    const san = parseSubjectAltName(name);
    if (san === null) throw new XimpError(ErrorCodes.PKI_INVALID, `not a DNS name or IP address: ${JSON.stringify(name)}`);
    sans.push(san);
  }
  return subjectAltNamesFrom(sans.map((san) => san.value));
}
