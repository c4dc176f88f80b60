import type { LeafComponent, PkiComponent } from '../pki/components';

// The certificate manager's view types as the API uses them (pki/certificate-manager.ts is to
// export the same shapes; this file then re-exports those instead of declaring them).

/** One row of `ximp tls status`. */
export interface CertificateView {
  component: PkiComponent;
  subject: string;
  issuer: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** Whole days, rounded down; negative once expired. */
  daysLeft: number;
  status: 'ok' | 'renew-due' | 'expired' | 'error';
  source: 'managed' | 'file';
  /** The last renewal's failure (status 'error'); never key material. */
  error: string | null;
}

export interface RenewedCertificate {
  component: LeafComponent;
  serial: string;
  notAfter: Date;
}
