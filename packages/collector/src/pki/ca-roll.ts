import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, ThrottledLog, XimpError, certificateInfo, type Logger } from '@ximp/shared';
import { CertificateAuthority } from './certificate-authority';
import { LEAF_COMPONENTS, type CaRollRow } from './components';
import type { PkiFileWriter } from './pair-replacement';
import type { PkiPaths, PkiStore } from './pki-store';
import { CA_BUNDLE_FILE } from './trust-bundle';

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

/**
 * A CA is shown `renew-due` this long before it expires (or `tls.renew_before`, if longer): a roll
 * needs every agent to get the bundle first, which takes a fleet longer than a leaf renewal.
 */
export const CA_ROLL_NOTICE_MS = 365 * DAY_MS;

/** The three steps of a CA roll, in order. */
export const CA_ROLL_STEPS = ['bundle', 'switch', 'drop-old'] as const;

export type CaRollStep = (typeof CA_ROLL_STEPS)[number];

export function isCaRollStep(name: string): name is CaRollStep {
  return (CA_ROLL_STEPS as readonly string[]).includes(name);
}

/** A CA as a status row shows it and a step reports it. */
export interface CaSummary {
  subject: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/** What one step did. */
export interface CaRollResult<Renewed> {
  step: CaRollStep;
  /** False when the roll already was at this step: nothing was done again. */
  changed: boolean;
  /** The CA the step is about: the next CA after `bundle`, the issuing CA after `switch` and `drop-old`. */
  ca: CaSummary;
  /** `pki/ca-bundle.pem`, the file to distribute as every client's CA. */
  bundleFile: string;
  /** The leaves `switch` re-issued with the new CA (empty for the other steps, and for a repeated switch). */
  renewed: Renewed[];
}

/** A status row of the roll's extra CA (`ca-next` or `ca-old`), in the columns of every other row. */
export interface CaRollRowStatus extends CaSummary {
  component: CaRollRow;
  issuer: string;
  status: 'ok' | 'renew-due' | 'expired' | 'error';
  error: string | null;
}

export interface CaRollOptions<Renewed> {
  pki: PkiStore;
  files: PkiFileWriter;
  log: Logger;
  now: () => number;
  /**
   * Re-issues every managed leaf from the CA files now on disk and swaps them in (both listeners or
   * neither); throws when that failed, the old leaves and their files then still in place.
   */
  renewLeaves(): Renewed[];
  /** The store client re-reads its trust (the bundle) for its next connections; never throws. */
  reloadTrust(): void;
}

/** Where a roll is, read from the files alone, so a restart (or a crash) between steps loses nothing. */
type RollState = 'idle' | 'bundled' | 'switched';

/**
 * Rolls the collector's CA in three explicit steps, never a flag day:
 *  1. `bundle`: a new CA is written as `ca-next.pem` + `ca-next-key.pem`, and `ca-bundle.pem`
 *     holds the current CA and the new one. Nothing in service changes; the operator distributes
 *     the bundle to every agent, CLI and store.
 *  2. `switch`: the new CA issues (`ca.pem`, `ca-key.pem`), the old certificate is kept as
 *     `ca-old.pem`, and every managed leaf is re-issued by the new CA and swapped in; the old key
 *     goes once the new leaves serve. A failure puts every old file back.
 *  3. `drop-old`: `ca-old.pem` goes, `ca-bundle.pem` holds the new CA alone.
 * Each step is idempotent: run again, it changes nothing and says the roll is already there. A
 * step out of order is refused (XIMP_ERR_PKI_ROLL_OUT_OF_ORDER) naming the step to run first.
 */
export class CaRoll<Renewed> {
  readonly next: PkiPaths;
  readonly oldCert: string;
  readonly bundleFile: string;
  /** The old CA key while `switch` puts the new leaves in service. */
  private readonly previousKey: string;
  private readonly dueLog: ThrottledLog;

  constructor(private readonly o: CaRollOptions<Renewed>) {
    this.next = o.pki.paths('ca-next');
    this.oldCert = o.pki.paths('ca-old').cert;
    this.bundleFile = path.join(o.pki.dir, CA_BUNDLE_FILE);
    this.previousKey = o.pki.previousPaths('ca').key;
    this.dueLog = new ThrottledLog({ log: o.log, now: o.now, windowMs: HOUR_MS });
  }

  /** Runs one step; see the class comment. Throws XIMP_ERR_PKI_ROLL_OUT_OF_ORDER or XIMP_ERR_PKI_RENEW_FAILED. */
  run(step: CaRollStep): CaRollResult<Renewed> {
    try {
      return this.runStep(step);
    } catch (err) {
      // A CA that cannot be read is a failed step like any other: named, with nothing changed.
      if (err instanceof XimpError && (err.code === ErrorCodes.PKI_ROLL_OUT_OF_ORDER || err.code === ErrorCodes.PKI_RENEW_FAILED)) throw err;
      throw failed(step, err, []);
    }
  }

  private runStep(step: CaRollStep): CaRollResult<Renewed> {
    const state = this.state();
    switch (step) {
      case 'bundle':
        if (state === 'switched') throw outOfOrder('the new CA already issues and the old one is still trusted: run --step drop-old first, then start a new roll');
        return state === 'bundled' ? this.bundleAgain() : this.bundle();
      case 'switch':
        if (state === 'idle') throw outOfOrder('no next CA to switch to: run --step bundle first (and distribute ca-bundle.pem)');
        return state === 'switched' ? this.switchAgain() : this.switchToNext();
      case 'drop-old':
        if (state === 'bundled') throw outOfOrder('the old CA still issues: run --step switch first');
        if (state === 'idle') {
          if (this.dropped()) return this.result('drop-old', false, this.o.pki.caPem(), []);
          throw outOfOrder('no CA roll under way: run --step bundle first');
        }
        return this.dropOld();
    }
  }

  /** The rows of the roll's extra CA: `ca-next` after bundle, `ca-old` after switch; none otherwise. */
  rows(now: number, renewBeforeMs: number): CaRollRowStatus[] {
    const rows: CaRollRowStatus[] = [];
    if (fs.existsSync(this.next.cert) || fs.existsSync(this.next.key)) rows.push(this.row('ca-next', this.next.cert, this.next.key, now, renewBeforeMs));
    if (fs.existsSync(this.oldCert)) rows.push(this.row('ca-old', this.oldCert, null, now, renewBeforeMs));
    return rows;
  }

  /** The renewal timer's hourly check: a CA close to expiry needs a roll, which only the operator can start. */
  warnIfDue(now: number, renewBeforeMs: number): void {
    let info: ReturnType<typeof certificateInfo>;
    try {
      info = certificateInfo(this.o.pki.caPem());
    } catch {
      return; // the CA's own status row says what is wrong with it
    }
    const left = info.notAfter.getTime() - now;
    if (left > caNoticeMs(renewBeforeMs)) return;
    const roll = this.state();
    this.dueLog.report(
      'warn',
      'ca_roll_due',
      { component: 'ca', not_after: info.notAfter.toISOString(), days_left: info.daysLeft(now), roll },
      roll === 'idle'
        ? 'the CA expires soon and is never renewed by itself: roll it (ximp tls renew --component ca --step bundle, then switch, then drop-old)'
        : 'the CA expires soon and its roll is under way: finish it (ximp tls renew --component ca --step switch, then drop-old)',
    );
  }

  private state(): RollState {
    if (fs.existsSync(this.oldCert)) return 'switched';
    if (fs.existsSync(this.next.cert) || fs.existsSync(this.next.key)) return 'bundled';
    return 'idle';
  }

  /** After drop-old: the bundle holds the issuing CA alone. */
  private dropped(): boolean {
    try {
      return samePems(fs.readFileSync(this.bundleFile, 'utf8'), this.o.pki.caPem());
    } catch {
      return false;
    }
  }

  private bundle(): CaRollResult<Renewed> {
    const current = this.o.pki.caPem();
    const next = CertificateAuthority.create({ commonName: nextCommonName(current, this.o.now()), now: this.o.now() });
    const written: string[] = [];
    try {
      this.o.files.writeSecret(this.next.key, next.keyPem);
      written.push(this.next.key);
      this.o.files.writePublic(this.next.cert, next.certPem);
      written.push(this.next.cert);
      this.writeBundle([current, next.certPem]);
    } catch (err) {
      // The bundle is written last: a failure leaves the old one (if any) as it was.
      const left = this.removeAll(written);
      throw failed('bundle', err, left);
    }
    this.o.reloadTrust();
    this.o.log.info({ serial: certificateInfo(next.certPem).serialNumber, bundle: this.bundleFile }, 'next CA created; distribute the CA bundle, then switch');
    return this.result('bundle', true, next.certPem, []);
  }

  private bundleAgain(): CaRollResult<Renewed> {
    const next = this.loadNext();
    const current = this.o.pki.caPem();
    // Doing the same thing again: a bundle that was lost or edited is put right.
    if (!this.bundleHolds([current, next.certPem])) {
      try {
        this.writeBundle([current, next.certPem]);
      } catch (err) {
        throw failed('bundle', err, []);
      }
      this.o.reloadTrust();
    }
    return this.result('bundle', false, next.certPem, []);
  }

  private switchToNext(): CaRollResult<Renewed> {
    const next = this.loadNext();
    const caPaths = this.o.pki.paths('ca');
    const current = this.o.pki.load('ca');
    const undo: Array<{ what: string; fn: () => void }> = [];
    let renewed: Renewed[];
    try {
      this.o.files.writePublic(this.oldCert, current.certPem);
      undo.push({ what: this.oldCert, fn: () => this.o.files.remove(this.oldCert) });
      this.o.files.writeSecret(this.previousKey, current.keyPem);
      undo.push({ what: this.previousKey, fn: () => this.o.files.remove(this.previousKey) });
      undo.push({ what: caPaths.key, fn: () => this.o.files.writeSecret(caPaths.key, current.keyPem) });
      this.o.files.writeSecret(caPaths.key, next.keyPem);
      undo.push({ what: caPaths.cert, fn: () => this.o.files.writePublic(caPaths.cert, current.certPem) });
      this.o.files.writePublic(caPaths.cert, next.certPem);
      renewed = this.o.renewLeaves();
    } catch (err) {
      const left = this.undo(undo);
      this.o.reloadTrust();
      throw failed('switch', err, left);
    }
    // The new leaves serve: the old key is no longer needed, and the next CA is now ca.pem.
    const left = this.removeAll([this.previousKey, this.next.key, this.next.cert]);
    if (left.length > 0) this.o.log.warn({ err: left.join('; ') }, 'could not remove the files the CA switch left behind');
    this.o.log.info({ serial: certificateInfo(next.certPem).serialNumber }, 'switched to the new CA; drop the old one once every agent has the bundle');
    return this.result('switch', true, next.certPem, renewed);
  }

  /**
   * A switch already done changes nothing, except to finish what a crash in the middle of one left:
   * leaves still signed by the old CA are re-issued, and leftover files removed.
   */
  private switchAgain(): CaRollResult<Renewed> {
    const current = this.o.pki.caPem();
    const caCert = new crypto.X509Certificate(current);
    const stale = LEAF_COMPONENTS.some((component) => {
      try {
        const leaf = new crypto.X509Certificate(fs.readFileSync(this.o.pki.paths(component).cert));
        return !(leaf.checkIssued(caCert) && leaf.verify(caCert.publicKey));
      } catch {
        return false; // an unreadable leaf is the status row's to report, not the roll's to replace
      }
    });
    let renewed: Renewed[] = [];
    if (stale) {
      try {
        renewed = this.o.renewLeaves();
      } catch (err) {
        throw failed('switch', err, []);
      }
    }
    const leftovers = [this.previousKey];
    if (fs.existsSync(this.next.cert) && samePems(fs.readFileSync(this.next.cert, 'utf8'), current)) leftovers.push(this.next.cert, this.next.key);
    this.removeAll(leftovers.filter((file) => fs.existsSync(file)));
    return this.result('switch', false, current, renewed);
  }

  private dropOld(): CaRollResult<Renewed> {
    const current = this.o.pki.caPem();
    try {
      // The bundle first: a failure in between leaves ca-old.pem, so drop-old can simply run again.
      this.writeBundle([current]);
      this.o.files.remove(this.oldCert);
    } catch (err) {
      throw failed('drop-old', err, []);
    }
    this.o.reloadTrust();
    this.o.log.info({ bundle: this.bundleFile }, 'old CA dropped; the CA bundle holds the issuing CA alone');
    return this.result('drop-old', true, current, []);
  }

  /** The next CA's pair, proven a CA whose key fits. */
  private loadNext(): CertificateAuthority {
    try {
      return CertificateAuthority.fromPem(fs.readFileSync(this.next.cert, 'utf8'), fs.readFileSync(this.next.key, 'utf8'));
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${(err as NodeJS.ErrnoException).path ?? 'a file'} is missing` : (err as Error).message;
      throw new XimpError(
        ErrorCodes.PKI_RENEW_FAILED,
        `the next CA (${this.next.cert}, ${this.next.key}) is unusable: ${reason}; delete both and run --step bundle again`,
        { cause: err },
      );
    }
  }

  private writeBundle(pems: readonly string[]): void {
    this.o.files.writePublic(this.bundleFile, pems.map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join(''));
  }

  private bundleHolds(pems: readonly string[]): boolean {
    try {
      return samePems(fs.readFileSync(this.bundleFile, 'utf8'), pems.join('\n'));
    } catch {
      return false;
    }
  }

  /** Runs the undo steps last first; a file that cannot be put back keeps the old key's copy. */
  private undo(steps: Array<{ what: string; fn: () => void }>): string[] {
    const problems: string[] = [];
    for (const step of [...steps].reverse()) {
      if (step.what === this.previousKey && problems.length > 0) continue; // the only copy of the old key then
      try {
        step.fn();
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    return problems;
  }

  private removeAll(files: readonly string[]): string[] {
    const left: string[] = [];
    for (const file of files) {
      try {
        this.o.files.remove(file);
      } catch (err) {
        left.push((err as Error).message);
      }
    }
    return left;
  }

  private result(step: CaRollStep, changed: boolean, caPem: string, renewed: Renewed[]): CaRollResult<Renewed> {
    return { step, changed, ca: summary(caPem), bundleFile: this.bundleFile, renewed };
  }

  private row(component: CaRollRow, certFile: string, keyFile: string | null, now: number, renewBeforeMs: number): CaRollRowStatus {
    let seen: CaSummary = { subject: '', serial: '', notBefore: new Date(0), notAfter: new Date(0) };
    let issuer = '';
    try {
      const pem = fs.readFileSync(certFile, 'utf8');
      const info = certificateInfo(pem);
      seen = summary(pem);
      issuer = info.issuer;
      if (keyFile !== null && !new crypto.X509Certificate(pem).checkPrivateKey(crypto.createPrivateKey(fs.readFileSync(keyFile, 'utf8')))) {
        throw new Error(`${keyFile} does not match ${certFile}`);
      }
      const left = info.notAfter.getTime() - now;
      return { component, ...seen, issuer, status: left <= 0 ? 'expired' : left <= caNoticeMs(renewBeforeMs) ? 'renew-due' : 'ok', error: null };
    } catch (err) {
      return { component, ...seen, issuer, status: 'error', error: `cannot use ${component}: ${(err as Error).message}` };
    }
  }
}

/** How long before its expiry a CA shows `renew-due`: the longer of renew_before and a year. */
export function caNoticeMs(renewBeforeMs: number): number {
  return Math.max(renewBeforeMs, CA_ROLL_NOTICE_MS);
}

/** The next CA is named after the current one plus its issue time, so the two are told apart. */
function nextCommonName(currentPem: string, now: number): string {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(new crypto.X509Certificate(currentPem).subject)?.[1] ?? 'XIMP CA';
  const base = cn.replace(/ \d{4}-\d\d-\d\dT\d\d:\d\dZ$/, '');
  const suffix = ` ${new Date(now).toISOString().slice(0, 16)}Z`;
  // X.520 caps a common name at 64 characters: keep the issue time, shorten the name.
  return base.slice(0, 64 - suffix.length) + suffix;
}

function summary(pem: string): CaSummary {
  const info = certificateInfo(pem);
  return { subject: info.subject, serial: info.serialNumber, notBefore: info.notBefore, notAfter: info.notAfter };
}

/** The certificates of two PEM texts, compared by their DER bytes in order. */
function samePems(a: string, b: string): boolean {
  const der = (text: string): string[] => [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) => m[1].replace(/\s+/g, ''));
  const x = der(a);
  const y = der(b);
  return x.length > 0 && x.length === y.length && x.every((value, i) => value === y[i]);
}

function outOfOrder(message: string): XimpError {
  return new XimpError(ErrorCodes.PKI_ROLL_OUT_OF_ORDER, message);
}

function failed(step: CaRollStep, err: unknown, left: readonly string[]): XimpError {
  const reason = err instanceof Error ? err.message : String(err);
  const extra = left.length > 0 ? `; putting files back failed too (${left.join('; ')})` : '';
  return new XimpError(
    ErrorCodes.PKI_RENEW_FAILED,
    `CA roll step ${step} failed: ${reason}${extra}; the old CA and every old certificate are kept`,
    { cause: err },
  );
}
