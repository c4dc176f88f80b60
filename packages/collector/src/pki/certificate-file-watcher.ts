import * as fs from 'node:fs';
import type { CertificateInfo, ThrottledLog, Logger } from '@ximp/shared';
import type { CertificateFiles } from '../config';
import { checkCertificateFiles, type CheckedCertificateFiles } from './certificate-file-check';

/** One operator-supplied pair in service: a listener's or a remote store client's. */
export interface WatchedCertificate {
  /** The status row's component: `collector`, `api` or `store-client:<store name>`. */
  component: string;
  files: CertificateFiles;
  usage: 'server' | 'client';
  /** Puts a checked pair in service; throws when that fails (the old pair then keeps serving). */
  apply(pair: CheckedCertificateFiles): void;
}

/** The state of one operator-supplied pair, for `ximp tls status`. */
export interface FileCertificateState {
  component: string;
  files: CertificateFiles;
  /** The certificate in service; null when none ever passed the checks. */
  serving: CertificateInfo | null;
  /** Why the pair now on disk is refused; null when what is on disk serves. */
  refused: string | null;
}

export interface CertificateFileWatcherOptions {
  certificates: readonly WatchedCertificate[];
  intervalMs: number;
  log: Logger;
  /** Refusals: one line per component and file state (a changed state logs again at once). */
  refusals: ThrottledLog;
  now: () => number;
}

interface Watched extends FileCertificateState {
  source: WatchedCertificate;
  /** Device, inode, size and mtime of both files when last checked. */
  stamp: string;
}

/**
 * Polls operator-supplied certificate files and puts a changed pair in service once it passes
 * every check. Stat polling (device, inode, size, mtime of both files) sees editors' in-place
 * writes and atomic renames alike, where fs.watch loses a renamed file. A pair that is broken,
 * mismatched or half replaced is refused with one log line per file state, and the old pair
 * keeps serving; the next state of the files is checked again.
 */
export class CertificateFileWatcher {
  private readonly watched: Watched[];
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly o: CertificateFileWatcherOptions) {
    this.watched = o.certificates.map((source) => ({
      source,
      component: source.component,
      files: source.files,
      serving: null,
      refused: null,
      stamp: '',
    }));
  }

  /** Records what serves now (`initial`, read at start) so that only later changes are applied. */
  prime(component: string, initial: CertificateInfo | null, refused: string | null = null): void {
    const w = this.watched.find((x) => x.component === component);
    if (!w) return;
    w.stamp = stampOf(w.files);
    w.serving = initial;
    w.refused = refused;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Checks every pair whose files changed since the last check; never throws. */
  check(): void {
    for (const w of this.watched) {
      try {
        this.checkOne(w);
      } catch (err) {
        this.o.log.error({ component: w.component, err: (err as Error).message }, 'certificate file check failed');
      }
    }
  }

  states(): FileCertificateState[] {
    return this.watched.map(({ component, files, serving, refused }) => ({ component, files, serving, refused }));
  }

  has(component: string): boolean {
    return this.watched.some((w) => w.component === component);
  }

  private checkOne(w: Watched): void {
    const stamp = stampOf(w.files);
    if (stamp === w.stamp) return;
    w.stamp = stamp;
    let pair: CheckedCertificateFiles;
    try {
      pair = checkCertificateFiles(w.files, w.source.usage, this.o.now());
      w.source.apply(pair);
    } catch (err) {
      w.refused = (err as Error).message;
      this.o.refusals.report(
        'error',
        'tls_files_refused',
        { component: w.component, cert_file: w.files.certFile, key_file: w.files.keyFile, err: w.refused, code: (err as { code?: string }).code },
        'certificate files refused, the previous certificate keeps serving',
        `${w.component}\u0000${stamp}`,
      );
      return;
    }
    w.serving = pair.info;
    w.refused = null;
    this.o.log.info(
      { component: w.component, cert_file: w.files.certFile, serial: pair.info.serialNumber, not_after: pair.info.notAfter.toISOString() },
      'certificate files reloaded',
    );
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.check();
      if (this.running) this.arm();
    }, this.o.intervalMs);
    this.timer.unref();
  }
}

/** Identifies the state of both files: a write in place changes size or mtime, a rename the inode. */
function stampOf(files: CertificateFiles): string {
  return [files.certFile, files.keyFile]
    .map((file) => {
      try {
        const s = fs.statSync(file, { bigint: true });
        return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
      } catch (err) {
        return `missing:${(err as NodeJS.ErrnoException).code ?? ''}`;
      }
    })
    .join('|');
}
