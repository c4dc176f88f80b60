import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { ErrorCodes, XimpError } from '../errors';
import type { OnError } from '../lifecycle';
import { certificateInfo, type CertificateInfo } from './cert-info';
import { serverTlsOptions, type ServerTlsInput, type ServerTlsOptions } from './tls-options';

export interface ReloadableServerContextOptions {
  certFile: string;
  keyFile: string;
  /** CA for client certificates; only read when `requestCert` is set. */
  caFile?: string | null;
  requestCert?: boolean;
  /** Told about every failed reload (the old context stays in use). */
  onError?: OnError;
}

export type ReloadResult = { ok: true; info: CertificateInfo } | { ok: false; error: XimpError };

/**
 * The certificate of one or more TLS servers, replaceable while they run. New material is read and
 * turned into a secure context first; only when that succeeds is it swapped into the servers with
 * `setSecureContext`. Established connections keep the context they started with; new handshakes
 * get the new one. If loading fails, the servers keep serving the old certificate.
 */
export class ReloadableServerContext {
  private readonly servers = new Set<tls.Server>();
  private current: { options: ServerTlsOptions; info: CertificateInfo } | null = null;

  constructor(private readonly options: ReloadableServerContextOptions) {}

  /**
   * Reads the files for the first time and returns options for `https.createServer`.
   * Throws XIMP_ERR_PKI_INVALID when they cannot be used.
   */
  load(): ServerTlsOptions {
    const loaded = this.build(this.readFiles());
    this.current = loaded;
    return { ...loaded.options };
  }

  /** Servers attached here get every successful reload. */
  attach(server: tls.Server): void {
    this.servers.add(server);
  }

  detach(server: tls.Server): void {
    this.servers.delete(server);
  }

  /** The certificate in use, or null before the first load. */
  info(): CertificateInfo | null {
    return this.current?.info ?? null;
  }

  /** Re-reads the files and swaps them in; never throws. */
  reload(): ReloadResult {
    let input: ServerTlsInput;
    try {
      input = this.readFiles();
    } catch (err) {
      return this.fail(err);
    }
    return this.apply(input);
  }

  /** Swaps in material held in memory (e.g. just issued); never throws. */
  apply(input: ServerTlsInput): ReloadResult {
    let loaded: { options: ServerTlsOptions; info: CertificateInfo };
    try {
      loaded = this.build(input);
      // forEach, not for-of: stays correct even where a Set is compiled for an old target.
      this.servers.forEach((server) => server.setSecureContext(loaded.options));
    } catch (err) {
      return this.fail(err);
    }
    this.current = loaded;
    return { ok: true, info: loaded.info };
  }

  private readFiles(): ServerTlsInput {
    const { certFile, keyFile, caFile, requestCert } = this.options;
    try {
      return {
        cert: fs.readFileSync(certFile),
        key: fs.readFileSync(keyFile),
        ca: requestCert && caFile ? fs.readFileSync(caFile) : null,
        requestCert,
      };
    } catch (err) {
      throw new XimpError(ErrorCodes.PKI_INVALID, `cannot read TLS material: ${describe(err)}`, { cause: err });
    }
  }

  private build(input: ServerTlsInput): { options: ServerTlsOptions; info: CertificateInfo } {
    const options = serverTlsOptions({ ...input, requestCert: input.requestCert ?? this.options.requestCert });
    const info = certificateInfo(input.cert);
    try {
      // Builds the context once to prove the PEMs parse and the key matches the certificate.
      tls.createSecureContext(options);
    } catch (err) {
      throw new XimpError(
        ErrorCodes.PKI_INVALID,
        `unusable TLS material for ${this.options.certFile}: ${describe(err)}`,
        { cause: err },
      );
    }
    return { options, info };
  }

  private fail(err: unknown): ReloadResult {
    const error =
      err instanceof XimpError
        ? err
        : new XimpError(ErrorCodes.PKI_INVALID, `tls reload failed: ${describe(err)}`, { cause: err });
    try {
      this.options.onError?.(error, 'tls reload');
    } catch {
      // a failing reporter must not turn a kept-old-context into a crash
    }
    return { ok: false, error };
  }
}

/** OpenSSL and fs messages name paths and reasons, never key material. */
function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
