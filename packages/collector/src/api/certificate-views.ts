// The certificate manager's rows as the API answers them.
export type { CertificateView, RenewedCertificate } from '../pki/certificate-manager';
