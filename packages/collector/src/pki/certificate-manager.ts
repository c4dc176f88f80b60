import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { ErrorCodes, ThrottledLog, XimpError, certificateInfo, serverTlsOptions, type CertificateInfo, type Logger } from '@ximp/shared';
import type { CertificateFiles } from '../config';
import { CaRoll, caNoticeMs, type CaRollResult, type CaRollRowStatus, type CaRollStep } from './ca-roll';
import { checkCertificateFiles } from './certificate-file-check';
import { CertificateFileWatcher, type FileCertificateState, type WatchedCertificate } from './certificate-file-watcher';
import { LEAF_COMPONENTS, PKI_COMPONENTS, isLeafComponent, isPkiComponent, type LeafComponent, type PkiComponent, type StatusComponent } from './components';
import { DEFAULT_PKI_FILE_WRITER, replacePairs, type NewPair, type PkiFileWriter } from './pair-replacement';
import type { CertificateStatus, PkiStore } from './pki-store';
import { RenewalTimer, type RenewalSchedule } from './renewal-timer';
import { subjectAltNamesFrom } from './subject-alt-names';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A status row's component: a PKI component, a CA roll's extra CA, or `store-client:<store>` for a remote store's own pair. */
export type CertificateComponent = StatusComponent | `store-client:${string}`;

/** One row of `ximp tls status`. */
export interface CertificateView {
  /** A component, `ca-next` / `ca-old` while the CA is rolled, or `store-client:<store>` for a store's own pair. */
  component: CertificateComponent;
  subject: string;
  issuer: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** Whole days left, rounded down; negative once expired. */
  daysLeft: number;
  status: 'ok' | 'renew-due' | 'expired' | 'error';
  source: 'managed' | 'file';
  /** The last renewal failure (or why the files are unusable) while status is `error`; never key material. */
  error: string | null;
  /** For SOURCE `file`: the operator's certificate file. */
  certFile?: string;
}

export interface RenewedCertificate {
  component: LeafComponent;
  serial: string;
  notAfter: Date;
}

/** Where each managed leaf is in service. */
export interface CertificateTargets {
  /** The agent listener (AgentServer.setSecureContext); throws when the pair is unusable. */
  collector(pair: TlsPair): void;
  /** The API listener (ApiServer.reload); throws when the pair is unusable. */
  api(pair: TlsPair): void;
  /** The store client re-reads its files for its next connections (RemoteStores.reloadTls). */
  storeClient(): void;
}

export interface TlsPair {
  cert: string;
  key: string;
}

type ServerComponent = 'collector' | 'api';
const SERVER_COMPONENTS: readonly ServerComponent[] = ['collector', 'api'];

export interface CertificateManagerOptions {
  pki: PkiStore;
  /** `tls.renew_before`. */
  renewBeforeMs: number;
  /** `tls.leaf_validity`. */
  leafValidityMs: number;
  /** `tls.hostnames`: names added to the names a leaf already has at its next renewal. */
  hostnames: readonly string[];
  targets: CertificateTargets;
  log: Logger;
  now: () => number;
  random?: () => number;
  /** The pairs the listeners were started with; read from the files when absent. */
  serving?: Partial<Record<ServerComponent, TlsPair>>;
  /** The renewal timer's periods (tests shorten them). */
  schedule?: Partial<RenewalSchedule>;
  /** Writes the files; tests inject one that fails. */
  files?: PkiFileWriter;
  /**
   * Operator-supplied pairs (SOURCE `file`): never renewed, watched and put in service when their
   * files change. `servers`: a listener's pair instead of the managed one; `stores`: a remote
   * store's client pair, `reload` re-reads it for its next connections (throws when that fails).
   */
  fromFiles?: {
    servers: Partial<Record<ServerComponent, CertificateFiles>>;
    stores: readonly { name: string; files: CertificateFiles; reload(): void }[];
    intervalMs: number;
  };
}

/**
 * Owns the managed certificates from the files to the listeners: status, renewal (on demand and
 * by timer) and reload. Every path ends in one swap that puts a new certificate into both
 * listeners or into neither, so the agent and API listeners never serve from different
 * generations after a failure, and a failed step leaves every old certificate serving.
 */
export class CertificateManager {
  private readonly o: CertificateManagerOptions;
  private readonly files: PkiFileWriter;
  private readonly serving = new Map<ServerComponent, TlsPair>();
  /** The last renewal failure per component, until a renewal of it succeeds. */
  private readonly errors = new Map<PkiComponent, string>();
  private readonly failures = new Map<PkiComponent, number>();
  /** The last readable row per component, so status still has dates when a file goes missing. */
  private readonly known = new Map<PkiComponent, CertificateStatus>();
  private readonly failureLog: ThrottledLog;
  private readonly timer: RenewalTimer;
  private readonly caRoll: CaRoll<RenewedCertificate>;
  private readonly fileWatcher: CertificateFileWatcher | null;
  /** The listeners whose pair comes from the operator's files. */
  private readonly fileServers: ReadonlyMap<ServerComponent, CertificateFiles>;
  /** Renewals run one at a time: each waits for the one before. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: CertificateManagerOptions) {
    this.o = options;
    this.files = options.files ?? DEFAULT_PKI_FILE_WRITER;
    const fromFiles = options.fromFiles;
    this.fileServers = new Map(SERVER_COMPONENTS.flatMap((c) => (fromFiles?.servers[c] ? [[c, fromFiles.servers[c]!] as const] : [])));
    for (const component of SERVER_COMPONENTS) {
      const given = options.serving?.[component];
      const files = this.fileServers.get(component);
      if (given) {
        this.serving.set(component, { ...given });
      } else if (files) {
        const checked = checkCertificateFiles(files, 'server', options.now());
        this.serving.set(component, { cert: checked.cert, key: checked.key });
      } else {
        const loaded = options.pki.load(component);
        this.serving.set(component, { cert: loaded.certPem, key: loaded.keyPem });
      }
    }
    for (const component of PKI_COMPONENTS) this.failures.set(component, 0);
    this.failureLog = new ThrottledLog({ log: options.log, now: options.now });
    this.caRoll = new CaRoll({
      pki: options.pki,
      files: this.files,
      log: options.log,
      now: options.now,
      // A new CA re-issues what XIMP manages; certificates from the operator's files stay theirs.
      renewLeaves: () => this.renewNow('all'),
      reloadTrust: () => this.reloadStoreClient(),
    });
    this.fileWatcher = fromFiles ? this.watchFiles(fromFiles) : null;
    this.timer = new RenewalTimer({
      check: () => this.renewDue(),
      schedule: options.schedule,
      random: options.random,
      onError: (err) => options.log.error({ err: (err as Error).message }, 'certificate renewal check failed'),
    });
  }

  /** One row per component (the CA first, then a CA roll's `ca-next` or `ca-old`), or only `component`'s. */
  status(component?: CertificateComponent): CertificateView[] {
    const now = this.o.now();
    const files = new Map((this.fileWatcher?.states() ?? []).map((state) => [state.component, state]));
    const rows: CertificateView[] = this.o.pki.status(now, this.o.renewBeforeMs).map((row) => {
      const state = files.get(row.component);
      return state ? this.fileView(row.component, state, now) : this.view(row, now);
    });
    const roll = this.caRoll.rows(now, this.o.renewBeforeMs).map((row) => rollView(row, now));
    const all = [...rows.slice(0, 1), ...roll, ...rows.slice(1)];
    for (const state of files.values()) {
      if (state.component.startsWith('store-client:')) all.push(this.fileView(state.component as CertificateComponent, state, now));
    }
    return all.filter((row) => component === undefined || row.component === component);
  }

  /**
   * One step of the CA roll (ca-roll.ts), in turn with renewals. Rejects with
   * XIMP_ERR_PKI_ROLL_OUT_OF_ORDER (nothing changed) or XIMP_ERR_PKI_RENEW_FAILED (every old file
   * and certificate kept; the `ca` row shows `error` until a step succeeds).
   */
  rollCa(step: CaRollStep): Promise<CaRollResult<RenewedCertificate>> {
    const run = this.queue.then(() => {
      try {
        const result = this.caRoll.run(step);
        this.errors.delete('ca');
        return result;
      } catch (err) {
        if (isRollFailure(err)) {
          this.errors.set('ca', err.message);
          this.failures.set('ca', (this.failures.get('ca') ?? 0) + 1);
          this.failureLog.report('error', 'tls_ca_roll_failed', { component: 'ca', step, err: err.message, code: ErrorCodes.PKI_RENEW_FAILED }, 'CA roll step failed, the old CA and certificates are kept', step);
        }
        throw err;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Issues new pairs for `components` (every managed leaf for 'all'), writes them (previous pairs
   * kept as *.prev until the new ones serve), then swaps every one in: both listeners or neither.
   * Rejects with XIMP_ERR_PKI_RENEW_FAILED naming the component and the reason; every old
   * certificate then keeps serving and the files are the old ones. A listener whose pair comes
   * from the operator's files is never renewed: 'all' skips it, asking for it by name rejects with
   * XIMP_ERR_REQUEST_INVALID saying how to replace it.
   */
  renew(components: readonly LeafComponent[] | 'all'): Promise<RenewedCertificate[]> {
    const run = this.queue.then(() => this.renewNow(components));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** SIGHUP: re-reads the files and swaps them in (both listeners or neither); logs, never throws. */
  reload(): void {
    let next: Map<ServerComponent, TlsPair>;
    try {
      next = new Map(
        this.managedServers().map((component) => {
          const loaded = this.o.pki.load(component);
          return [component, { cert: loaded.certPem, key: loaded.keyPem }];
        }),
      );
      this.swapServers(next);
    } catch (err) {
      this.o.log.error({ err: (err as Error).message, code: (err as { code?: string }).code }, 'certificate reload failed, keeping the old ones');
      this.reloadStoreClient();
      this.fileWatcher?.check();
      return;
    }
    // The store client's pair and CA reload on their own: it logs and keeps its old ones on failure.
    this.reloadStoreClient();
    this.fileWatcher?.check();
    this.o.log.info({}, 'certificates reloaded');
  }

  /** Starts the renewal timer: a check now, then hourly with a random spread. */
  start(): void {
    this.timer.start();
    this.fileWatcher?.start();
  }

  stop(): void {
    this.timer.stop();
    this.fileWatcher?.stop();
  }

  /** For /metrics: expiry (unix seconds) per component, renewal failures per component. */
  metrics(): { expiry: Map<CertificateComponent, number>; renewalFailures: Map<PkiComponent, number> } {
    const expiry = new Map<CertificateComponent, number>();
    for (const row of this.status()) {
      // A CA roll's ca-next / ca-old rows are not certificates in service.
      const inService = isPkiComponent(row.component) || row.component.startsWith('store-client:');
      if (inService && row.notAfter.getTime() > 0) expiry.set(row.component, Math.floor(row.notAfter.getTime() / 1000));
    }
    return { expiry, renewalFailures: new Map(this.failures) };
  }

  /** The timer's check: renews every leaf within renew_before of expiry; false when that failed. */
  private async renewDue(): Promise<boolean> {
    const now = this.o.now();
    // The CA is never rolled by the timer (agents must get the bundle first): it only reminds.
    this.caRoll.warnIfDue(now, this.o.renewBeforeMs);
    this.warnFilesDue();
    const due = this.o.pki
      .status(now, this.o.renewBeforeMs)
      .filter((row): row is CertificateStatus & { component: LeafComponent } => isLeafComponent(row.component))
      .filter((row) => !this.isFromFiles(row.component))
      .filter((row) => row.notAfter !== null && row.notAfter.getTime() - now <= this.o.renewBeforeMs)
      .map((row) => row.component);
    if (due.length === 0) return true;
    try {
      await this.renew(due);
      return true;
    } catch {
      // counted, logged and shown in status by renewNow
      return false;
    }
  }

  private renewNow(requested: readonly LeafComponent[] | 'all'): RenewedCertificate[] {
    if (requested === 'all') {
      const skipped = LEAF_COMPONENTS.filter((c) => this.isFromFiles(c));
      if (skipped.length > 0) this.o.log.info({ skipped }, 'certificates from files are not renewed');
      return this.renewNow(LEAF_COMPONENTS.filter((c) => !this.isFromFiles(c)));
    }
    const components = [...new Set(requested)];
    const unknown = components.find((c) => !isLeafComponent(c));
    if (unknown !== undefined) {
      throw new XimpError(ErrorCodes.PKI_RENEW_FAILED, `cannot renew ${JSON.stringify(unknown)}: not a managed leaf certificate (${LEAF_COMPONENTS.join(', ')})`);
    }
    const fromFiles = components.find((c) => this.isFromFiles(c));
    if (fromFiles !== undefined) {
      // Refused before anything is issued: nothing changes, no failure is counted.
      const files = this.fileServers.get(fromFiles as ServerComponent)!;
      const seconds = Math.ceil((this.o.fromFiles?.intervalMs ?? 0) / 1000);
      throw new XimpError(
        ErrorCodes.REQUEST_INVALID,
        `${fromFiles}: the certificate comes from files (${files.certFile}, ${files.keyFile}) and XIMP does not renew it: ` +
          `write a new certificate and key to those files; the collector checks them every ${seconds}s and on SIGHUP`,
      );
    }
    if (components.length === 0) return [];
    const now = this.o.now();
    let step = components[0] ?? 'collector';
    let pairs: NewPair[] = [];
    try {
      pairs = components.map((component) => {
        step = component;
        const names = [...this.o.pki.currentSans(component).map((san) => san.value), ...this.o.hostnames];
        const issued = this.o.pki.prepare(component, subjectAltNamesFrom(names), now, this.o.leafValidityMs);
        return {
          component,
          paths: this.o.pki.paths(component),
          previous: this.o.pki.previousPaths(component),
          certPem: issued.certPem,
          keyPem: issued.keyPem,
        };
      });
      const written = this.writeAll(pairs, (c) => (step = c));
      this.putInService(pairs, written, (c) => (step = c));
      const left = written.commit();
      if (left.length > 0) this.o.log.warn({ err: left.join('; ') }, 'could not remove the previous certificate files');
    } catch (err) {
      throw this.failed(components, step, err);
    }
    const renewed = pairs.map((pair) => {
      const info = certificateInfo(pair.certPem);
      this.errors.delete(pair.component);
      return { component: pair.component, serial: info.serialNumber, notAfter: info.notAfter };
    });
    for (const r of renewed) {
      this.o.log.info({ component: r.component, serial: r.serial, not_after: r.notAfter.toISOString() }, 'certificate renewed');
    }
    return renewed;
  }

  /** Writes every pair; a failing write is put down to the component whose file it was. */
  private writeAll(pairs: NewPair[], at: (c: LeafComponent) => void): ReturnType<typeof replacePairs> {
    // The first failing write names the component; the writes that later put files back do not.
    let tracking = true;
    const write = (file: string, fn: () => void): void => {
      const pair = pairs.find((p) => [p.paths.key, p.paths.cert, p.previous.key, p.previous.cert].includes(file));
      if (pair && tracking) at(pair.component);
      try {
        fn();
      } catch (err) {
        tracking = false;
        throw err;
      }
    };
    const replacement = replacePairs(pairs, {
      writeSecret: (file, data) => write(file, () => this.files.writeSecret(file, data)),
      writePublic: (file, data) => write(file, () => this.files.writePublic(file, data)),
      remove: (file) => this.files.remove(file),
    });
    tracking = false;
    return replacement;
  }

  /** Swaps the new server pairs in (both or neither), then tells the store client; undoes all on failure. */
  private putInService(pairs: NewPair[], written: ReturnType<typeof replacePairs>, at: (c: LeafComponent) => void): void {
    const next = new Map<ServerComponent, TlsPair>();
    for (const pair of pairs) {
      if (pair.component !== 'store-client') next.set(pair.component, { cert: pair.certPem, key: pair.keyPem });
    }
    const before = new Map(this.serving);
    try {
      this.swapServers(next, at);
      if (pairs.some((p) => p.component === 'store-client')) {
        at('store-client');
        this.o.targets.storeClient();
      }
    } catch (err) {
      try {
        this.swapServers(before);
      } catch {
        // swapServers already put back what it changed; the listeners serve the old pairs
      }
      try {
        written.rollback();
      } catch (restoreErr) {
        if (err instanceof Error) err.message += `; ${(restoreErr as Error).message}`;
      }
      if (pairs.some((p) => p.component === 'store-client')) this.reloadStoreClient();
      throw err;
    }
  }

  /**
   * Puts `next` into the listeners: each pair is proven usable first, then swapped in; when a
   * swap still fails, the listeners already swapped get their old pair back.
   */
  private swapServers(next: ReadonlyMap<ServerComponent, TlsPair>, at: (c: LeafComponent) => void = () => undefined): void {
    for (const [component, pair] of next) {
      at(component);
      try {
        tls.createSecureContext(serverTlsOptions(pair));
      } catch (err) {
        throw new Error(`unusable certificate or key: ${(err as Error).message}`, { cause: err });
      }
    }
    const swapped: ServerComponent[] = [];
    try {
      for (const [component, pair] of next) {
        at(component);
        this.o.targets[component](pair);
        swapped.push(component);
      }
    } catch (err) {
      for (const component of swapped) {
        try {
          this.o.targets[component](this.serving.get(component)!);
        } catch (restoreErr) {
          this.o.log.error({ component, err: (restoreErr as Error).message }, 'could not put the previous certificate back');
        }
      }
      throw err;
    }
    for (const [component, pair] of next) this.serving.set(component, pair);
  }

  private isFromFiles(component: PkiComponent): boolean {
    return this.fileServers.has(component as ServerComponent);
  }

  private managedServers(): ServerComponent[] {
    return SERVER_COMPONENTS.filter((c) => !this.fileServers.has(c));
  }

  /** The watcher of the operator's pairs; what serves now is what it starts from. */
  private watchFiles(fromFiles: NonNullable<CertificateManagerOptions['fromFiles']>): CertificateFileWatcher | null {
    const watched: WatchedCertificate[] = [];
    for (const [component, files] of this.fileServers) {
      // The same swap as every other path: proven usable, then put in; the old pair stays on failure.
      watched.push({ component, files, usage: 'server', apply: (pair) => this.swapServers(new Map([[component, { cert: pair.cert, key: pair.key }]])) });
    }
    for (const store of fromFiles.stores) {
      watched.push({ component: `store-client:${store.name}`, files: store.files, usage: 'client', apply: () => store.reload() });
    }
    if (watched.length === 0) return null;
    const watcher = new CertificateFileWatcher({
      certificates: watched,
      intervalMs: fromFiles.intervalMs,
      log: this.o.log,
      refusals: this.failureLog,
      now: this.o.now,
    });
    for (const [component] of this.fileServers) watcher.prime(component, certificateInfo(this.serving.get(component)!.cert));
    for (const store of fromFiles.stores) {
      // The store client read its files when it was built; a pair it could not use never got this far.
      let info: CertificateInfo | null = null;
      let refused: string | null = null;
      try {
        info = checkCertificateFiles(store.files, 'client', this.o.now()).info;
      } catch (err) {
        refused = (err as Error).message;
        // In use all the same (e.g. expired): status keeps its dates beside the reason.
        info = readableCertificate(store.files.certFile);
      }
      watcher.prime(`store-client:${store.name}`, info, refused);
    }
    return watcher;
  }

  /** The timer's reminder: a certificate from files that is due or expired is the operator's to replace. */
  private warnFilesDue(): void {
    const now = this.o.now();
    for (const state of this.fileWatcher?.states() ?? []) {
      const row = this.fileView(state.component as CertificateComponent, state, now);
      const notAfter = state.serving?.notAfter;
      if (notAfter === undefined || now < notAfter.getTime() - this.o.renewBeforeMs) continue;
      this.failureLog.report(
        'warn',
        'tls_file_due',
        { component: row.component, cert_file: state.files.certFile, not_after: notAfter.toISOString(), days_left: row.daysLeft },
        'certificate from files is due: XIMP does not renew certificates from files, replace them',
        row.component,
      );
    }
  }

  /** A row for an operator-supplied pair: the dates of what serves, `error` while a refused pair is on disk. */
  private fileView(component: CertificateComponent, state: FileCertificateState, now: number): CertificateView {
    const info = state.serving;
    const notAfter = info?.notAfter ?? new Date(0);
    const status: CertificateView['status'] =
      state.refused !== null || info === null
        ? 'error'
        : now >= notAfter.getTime()
          ? 'expired'
          : notAfter.getTime() - now <= this.o.renewBeforeMs
            ? 'renew-due'
            : 'ok';
    return {
      component,
      subject: info?.subject ?? '',
      issuer: info?.issuer ?? '',
      serial: info?.serialNumber ?? '',
      notBefore: info?.notBefore ?? new Date(0),
      notAfter,
      daysLeft: Math.floor((notAfter.getTime() - now) / DAY_MS),
      status,
      source: 'file',
      error: status === 'error' ? (state.refused ?? 'no usable certificate in the files') : null,
      certFile: state.files.certFile,
    };
  }

  private reloadStoreClient(): void {
    try {
      this.o.targets.storeClient();
    } catch (err) {
      this.o.log.error({ component: 'store-client', err: (err as Error).message }, 'certificate reload failed, keeping the old ones');
    }
  }

  /** Records a failed renewal (status error, counter, log line) and returns the error to reject with. */
  private failed(components: readonly LeafComponent[], step: LeafComponent, err: unknown): XimpError {
    const reason = err instanceof Error ? err.message : String(err);
    const message = `renewing ${step} failed: ${reason}; the old certificates keep serving`;
    for (const component of components) {
      this.errors.set(component, message);
      this.failures.set(component, (this.failures.get(component) ?? 0) + 1);
    }
    this.failureLog.report(
      'error',
      'tls_renewal_failed',
      { component: step, components, err: reason, code: ErrorCodes.PKI_RENEW_FAILED },
      'certificate renewal failed, the old certificates keep serving',
      step,
    );
    return new XimpError(ErrorCodes.PKI_RENEW_FAILED, message, { cause: err });
  }

  private view(row: CertificateStatus, now: number): CertificateView {
    if (row.notAfter !== null) this.known.set(row.component, row);
    // A file that cannot be read still shows the dates last seen; the epoch when never read.
    const seen = row.notAfter !== null ? row : this.known.get(row.component);
    const notAfter = seen?.notAfter ?? new Date(0);
    const renewalError = this.errors.get(row.component) ?? null;
    const error = renewalError ?? row.error ?? null;
    return {
      component: row.component,
      subject: row.subject || seen?.subject || '',
      issuer: row.issuer || seen?.issuer || '',
      serial: seen?.serial ?? '',
      notBefore: seen?.notBefore ?? new Date(0),
      notAfter,
      daysLeft: Math.floor((notAfter.getTime() - now) / DAY_MS),
      status: error !== null ? 'error' : row.component === 'ca' ? caState(row, now, this.o.renewBeforeMs) : row.status,
      source: 'managed',
      error,
    };
  }
}

/** The CA is `renew-due` earlier than a leaf (caNoticeMs): rolling it takes the fleet a while. */
function caState(row: CertificateStatus, now: number, renewBeforeMs: number): CertificateStatus['status'] {
  if (row.status !== 'ok' || row.notAfter === null) return row.status;
  return row.notAfter.getTime() - now <= caNoticeMs(renewBeforeMs) ? 'renew-due' : 'ok';
}

function rollView(row: CaRollRowStatus, now: number): CertificateView {
  return {
    component: row.component,
    subject: row.subject,
    issuer: row.issuer,
    serial: row.serial,
    notBefore: row.notBefore,
    notAfter: row.notAfter,
    daysLeft: Math.floor((row.notAfter.getTime() - now) / DAY_MS),
    status: row.status,
    source: 'managed',
    error: row.error,
  };
}

function isRollFailure(err: unknown): err is XimpError {
  return err instanceof XimpError && err.code === ErrorCodes.PKI_RENEW_FAILED;
}

/** The certificate in a file, when it can be read and parsed at all. */
function readableCertificate(file: string): CertificateInfo | null {
  try {
    return certificateInfo(fs.readFileSync(file));
  } catch {
    return null;
  }
}
